"""The configuration reference, from the pydantic models: ``Deployment``, the base
``Infrastructure`` fields, and the class of every installed infrastructure plugin,
found through the plugin registry exactly as ``shipway`` finds them.

Run it alone to see the page: ``python docs/_hooks/reference_config.py``.
"""

from __future__ import annotations

import inspect
import json
import re
import sys
import types
import typing
from typing import Any

from markdown_text import cell, plain
from pydantic import BaseModel
from pydantic.fields import FieldInfo

INTRO = """\
# Configuration reference

Every field of a deployment and of each installed infrastructure type, generated from
the pydantic models when this site is built. The [configuration guide](../configuration.md)
explains how the pieces fit together: `shipway.yaml`, how infrastructure is selected by
name, and how overrides merge. `shipway infra schema TYPE` prints the same fields for one
type from the command line.

Unknown fields are an error everywhere: a typo in a configuration file is reported with
its file and line.
"""


def render() -> tuple[str, list[str]]:
    """The page's Markdown, and the problems found while writing it."""
    from shipway import Deployment
    from shipway.infrastructure import Infrastructure
    from shipway.plugins import PluginPolicy, PluginRegistry

    problems: list[str] = []
    # A registry of its own with the default policy: the SHIPWAY_PLUGINS_* variables of
    # whoever builds the site must not change what the site documents.
    registry = PluginRegistry(PluginPolicy())
    infos = [info for info in registry.list_plugins() if info.kind == "infrastructure"]
    classes = registry.infrastructure_types()

    parts = [INTRO]
    parts.append("## Deployment\n")
    parts.append(
        "A deployment, as an item of `deployments:` in `shipway.yaml` or as the keyword "
        "arguments of `shipway.Deployment` in Python.\n"
    )
    parts.append(_fields_table(Deployment, problems, level=3))

    parts.append("## Infrastructure\n")
    parts.append(
        "The fields every infrastructure type has (`shipway.infrastructure.Infrastructure`). "
        "Each plugin adds its own; the tables below list them all, per type.\n"
    )
    parts.append(_fields_table(Infrastructure, problems, level=3))

    parts.append("## Infrastructure types\n")
    parts.append(
        "The infrastructure types installed where this site was built. Select one by its "
        "name: `infrastructure: TYPE` in a deployment, or `type: TYPE` in a block.\n"
    )
    if not infos:
        problems.append("no infrastructure plugin is installed: nothing to document")
    for info in infos:
        cls = classes.get(info.name)
        if cls is None:
            problems.append(
                f"infrastructure plugin {info.name!r} ({info.distribution} {info.version}) "
                f"did not load: {info.status.value}: {info.error}"
            )
            continue
        parts.append(f"### {info.name}\n")
        parts.append(
            f"Class `{_public_name(cls)}`, from the distribution `{info.distribution}` "
            f"{info.version} (`pip install {info.distribution}`).\n"
        )
        summary = _docstring(cls)
        if summary:
            parts.append(summary + "\n")
        parts.append(_fields_table(cls, problems, fallback=Infrastructure))
    return "\n".join(parts), problems


def _public_name(cls: type) -> str:
    """``shipway_process.Process`` when the package re-exports the class, else its module."""
    package = sys.modules.get(cls.__module__.partition(".")[0])
    if package is not None and getattr(package, cls.__name__, None) is cls:
        return f"{package.__name__}.{cls.__name__}"
    return f"{cls.__module__}.{cls.__qualname__}"


def _docstring(cls: type) -> str:
    """The class docstring up to its first code example, with reST roles made Markdown."""
    doc = (inspect.getdoc(cls) or "").split("::")[0].strip()
    doc = re.sub(r":\w+:`~?([^`]+)`", r"`\1`", doc)  # :meth:`kill` -> `kill`
    return doc.replace("``", "`")


def _fields_table(
    model: type[BaseModel],
    problems: list[str],
    fallback: type[BaseModel] | None = None,
    level: int = 4,
) -> str:
    """A table of the model's fields, then one section (at heading ``level``) for each
    field whose type is itself a model, such as a block of credentials."""
    rows = ["| Field | Type | Default | Description |", "|---|---|---|---|"]
    nested: list[str] = []
    for name, field in model.model_fields.items():
        description = field.description
        if not description and fallback is not None and name in fallback.model_fields:
            # A plugin redeclares `type` with its own default; the meaning is the base's.
            description = fallback.model_fields[name].description
        if not description:
            problems.append(
                f"{model.__module__}.{model.__qualname__}.{name} has no description: "
                "give it Field(description=...)"
            )
            description = ""
        type_cell = _code(type_text(field.annotation))
        cells = [f"`{name}`", type_cell, _default(field), plain(description)]
        rows.append("| " + " | ".join(cell(c) for c in cells) + " |")
        for sub_model in _models_in(field.annotation):
            nested.append(f"{'#' * level} `{name}`: {sub_model.__name__}\n")
            if _docstring(sub_model):
                nested.append(_docstring(sub_model) + "\n")
            nested.append(_fields_table(sub_model, problems, level=min(level + 1, 6)))
    return "\n".join([*rows, "", *nested])


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    """The pydantic models a field's type is made of (``Credentials | None``)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [model for arg in typing.get_args(annotation) for model in _models_in(arg)]


def type_text(annotation: Any) -> str:
    """A type as a reader of a configuration file thinks of it: ``str | None``,
    ``dict[str, str]``, ``"process"`` for a Literal."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if annotation is type(None):
        return "None"
    if annotation is Any:
        return "Any"
    if origin is typing.Literal:
        return " | ".join(json.dumps(arg) for arg in args)
    if origin is typing.Annotated:
        return type_text(args[0])
    if origin in (typing.Union, types.UnionType):
        return " | ".join(type_text(arg) for arg in args)
    if origin is not None:
        name = getattr(origin, "__name__", str(origin))
        return f"{name}[{', '.join(type_text(arg) for arg in args)}]" if args else name
    return getattr(annotation, "__name__", str(annotation).replace("typing.", ""))


def _default(field: FieldInfo) -> str:
    if field.is_required():
        return "required"
    value = field.get_default(call_default_factory=True)
    try:
        return _code(json.dumps(value))
    except TypeError:  # not JSON: a model or an object
        return _code(repr(value))


def _code(text: str) -> str:
    return f"`{text}`"


if __name__ == "__main__":
    markdown, found = render()
    print(markdown)
    for problem in found:
        print("PROBLEM:", problem)
