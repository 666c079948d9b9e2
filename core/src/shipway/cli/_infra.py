"""``shipway infra preview|schema``."""

from __future__ import annotations

import json
from typing import Any

import click

from shipway.cli._options import debug_option, file_option, parse_parameters, run_input_options
from shipway.cli._table import table
from shipway.deployments import load_deployment_file, parse_override_args
from shipway.infrastructure import Infrastructure, resolve_secrets
from shipway.plugins import get_registry
from shipway.runner import prepare_run
from shipway.secrets import mask, secret_values


@click.group("infra")
@debug_option
def infra_group() -> None:
    """Preview what a deployment would run, and show infrastructure fields."""


@infra_group.command("preview")
@click.argument("name")
@file_option
@run_input_options
@debug_option
def preview_command(
    name: str,
    file: str | None,
    params: tuple[str, ...],
    params_json: str | None,
    overrides: tuple[str, ...],
) -> None:
    """Print what running deployment NAME would start (secrets masked); starts nothing."""
    prepared = prepare_run(
        load_deployment_file(file),
        name,
        parameters=parse_parameters(params, params_json),
        overrides=parse_override_args(overrides),
        flow_run_id="<flow-run-id>",
    )
    infrastructure = prepared.infrastructure
    # A secret reference is shown as itself ({secret: NAME}): nothing is read for a preview.
    shown = resolve_secrets(infrastructure, read=str).infrastructure
    hidden = secret_values(infrastructure.model_dump())
    click.echo(mask(shown.preview(prepared.job), hide=hidden))


@infra_group.command("schema")
@click.argument("type_name", metavar="TYPE")
@click.option("--json", "as_json", is_flag=True, help="Print the JSON schema only.")
@debug_option
def schema_command(type_name: str, as_json: bool) -> None:
    """Show the fields infrastructure TYPE accepts (a table, or its JSON schema)."""
    cls = get_registry().resolve(type_name)
    schema = cls.model_json_schema()
    if as_json:
        click.echo(json.dumps(schema, indent=2))
        return
    rows = []
    for field_name, field in cls.model_fields.items():
        prop = schema.get("properties", {}).get(field_name, {})
        default = (
            "(required)"
            if field.is_required()
            else _default_text(field.get_default(call_default_factory=True))
        )
        # Plugins redeclare base fields such as `type` without a description: inherit it.
        base = Infrastructure.model_fields.get(field_name)
        description = field.description or (base.description if base else None) or ""
        rows.append([field_name, _type_text(prop), default, description])
    table(
        ["FIELD", "TYPE", "DEFAULT", "DESCRIPTION"],
        rows,
        title=f"{type_name} ({cls.__module__}.{cls.__name__})",
    )
    click.echo("Unknown fields are rejected. `--json` prints the JSON schema.")


def _default_text(value: Any) -> str:
    return json.dumps(value) if not isinstance(value, str) else value


def _type_text(prop: dict[str, Any]) -> str:
    if "const" in prop:
        return json.dumps(prop["const"])
    if "anyOf" in prop:
        return " | ".join(_type_text(option) for option in prop["anyOf"])
    if "$ref" in prop:  # a nested model: its name (the --json schema has its fields)
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
