"""``shipway infra preview|schema``."""

from __future__ import annotations

import json

import click

from shipway.cli._options import debug_option, file_option, parse_parameters, run_input_options
from shipway.cli._table import table
from shipway.deployments import load_deployment_file, parse_override_args
from shipway.infrastructure import resolve_secrets
from shipway.infrastructure._fields import field_rows
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
    """Print what running deployment NAME would start (secrets masked), and where its
    code would come from; starts and pushes nothing."""
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
    if prepared.storage is not None:  # the job carries the storage block, secrets included
        hidden |= secret_values(prepared.storage.block())
    click.echo(mask(shown.preview(prepared.job), hide=hidden))
    if prepared.storage is not None:  # where the code would come from; nothing is pushed
        click.echo(f"\nstorage {prepared.storage.describe()}:")
        click.echo(mask(prepared.storage.preview()))


@infra_group.command("schema")
@click.argument("type_name", metavar="TYPE")
@click.option("--json", "as_json", is_flag=True, help="Print the JSON schema only.")
@debug_option
def schema_command(type_name: str, as_json: bool) -> None:
    """Show the fields infrastructure TYPE accepts (a table, or its JSON schema)."""
    cls = get_registry().resolve(type_name)
    if as_json:
        click.echo(json.dumps(cls.model_json_schema(), indent=2))
        return
    rows = [
        [row.name, row.type, "(required)" if row.required else row.default, row.description]
        for row in field_rows(cls)
    ]
    table(
        ["FIELD", "TYPE", "DEFAULT", "DESCRIPTION"],
        rows,
        title=f"{type_name} ({cls.__module__}.{cls.__name__})",
    )
    click.echo("Unknown fields are rejected. `--json` prints the JSON schema.")
