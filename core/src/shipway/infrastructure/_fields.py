"""An infrastructure type's fields as one table (name, type, default, description): what
``shipway infra schema TYPE`` prints and the web UI's plugins page shows, worded once."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from shipway.infrastructure._base import Infrastructure

__all__ = ["FieldRow", "field_rows"]


@dataclasses.dataclass(frozen=True)
class FieldRow:
    name: str
    type: str
    required: bool
    default: str
    """The default as text ("" when the field is required)."""
    description: str


def field_rows(cls: type[Infrastructure]) -> list[FieldRow]:
    """One row per field of ``cls``, in declaration order."""
    schema = cls.model_json_schema()
    rows = []
    for name, field in cls.model_fields.items():
        prop = schema.get("properties", {}).get(name, {})
        required = field.is_required()
        default = "" if required else _default_text(field.get_default(call_default_factory=True))
        # Plugins redeclare base fields such as `type` without a description: inherit it.
        base = Infrastructure.model_fields.get(name)
        description = field.description or (base.description if base else None) or ""
        rows.append(FieldRow(name, _type_text(prop), required, default, description))
    return rows


def _default_text(value: Any) -> str:
    return json.dumps(value) if not isinstance(value, str) else value


def _type_text(prop: dict[str, Any]) -> str:
    if "const" in prop:
        return json.dumps(prop["const"])
    if "anyOf" in prop:
        return " | ".join(_type_text(option) for option in prop["anyOf"])
    if "$ref" in prop:  # a nested model: its name (the JSON schema has its fields)
        return str(prop["$ref"]).rpartition("/")[2]
    kind = prop.get("type", "any")
    if kind == "array":
        return f"list[{_type_text(prop.get('items', {}))}]"
    if kind == "object":
        values = prop.get("additionalProperties")
        return f"map[string, {_type_text(values)}]" if isinstance(values, dict) else "object"
    if "enum" in prop:
        return " | ".join(json.dumps(v) for v in prop["enum"])
    return str(kind)
