"""``shipway plugins``: what is installed, and whether it loads."""

from __future__ import annotations

import json

import click

from shipway.cli._options import debug_option


@click.command("plugins")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@debug_option
def plugins_command(as_json: bool) -> None:
    """List every discovered plugin: type name, distribution, version, module, status."""
    from shipway.cli._console import table
    from shipway.plugins import get_registry

    infos = get_registry().list_plugins()
    if as_json:
        click.echo(json.dumps([info.to_dict() for info in infos], indent=2))
        return
    if not infos:
        click.echo("No plugins installed. Install one, e.g.: pip install shipway-process")
        return
    rows = []
    for info in infos:
        status = info.status.value + (f": {info.error}" if info.error else "")
        rows.append([info.name, info.kind, info.distribution, info.version, info.module, status])
    table(["NAME", "KIND", "DISTRIBUTION", "VERSION", "MODULE", "STATUS"], rows)
