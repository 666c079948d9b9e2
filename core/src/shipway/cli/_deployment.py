"""``shipway deployment ls|inspect``."""

from __future__ import annotations

from typing import Any

import click

from shipway.cli._options import debug_option, file_option


@click.group("deployment")
@debug_option
def deployment_group() -> None:
    """List and inspect deployments."""


@deployment_group.command("ls")
@file_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@debug_option
def ls_command(file: str | None, as_json: bool) -> None:
    """List the deployments defined in a file."""
    import json

    from shipway.cli._console import table
    from shipway.deployments import load_deployment_file

    source = load_deployment_file(file)
    rows: list[dict[str, Any]] = [
        {
            "name": d.name,
            "flow": d.entrypoint,
            "infrastructure": d.infrastructure_label(),
            "tags": d.tags,
            "version": d.version,
            "description": d.description,
        }
        for d in source.deployments.values()
    ]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        click.echo(f"No deployments in {source.display}.")
        return
    table(
        ["NAME", "FLOW", "INFRASTRUCTURE", "TAGS"],
        [[r["name"], r["flow"], r["infrastructure"], ", ".join(r["tags"])] for r in rows],
    )


@deployment_group.command("inspect")
@click.argument("name")
@file_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of YAML.")
@debug_option
def inspect_command(name: str, file: str | None, as_json: bool) -> None:
    """Show deployment NAME with its resolved infrastructure (secrets masked)."""
    import json

    import yaml

    from shipway.deployments import load_deployment_file, resolve_infrastructure
    from shipway.infrastructure import mask_secrets

    source = load_deployment_file(file)
    deployment = source.get(name)
    infrastructure = resolve_infrastructure(deployment, source)
    resolved = infrastructure.model_dump(mode="json")
    resolved["env"] = mask_secrets(resolved.get("env") or {})
    data: dict[str, Any] = {
        "name": deployment.name,
        "flow": deployment.entrypoint,
        "working_dir": str(source.working_dir_for(deployment)),
        "parameters": deployment.parameters,
        "tags": deployment.tags,
        "description": deployment.description,
        "version": deployment.version,
        "infrastructure": resolved,
        "infrastructure_source": deployment.infrastructure_label(),
        "overrides": deployment.overrides,
        "file": source.display,
    }
    if as_json:
        click.echo(json.dumps(data, indent=2))
    else:
        click.echo(yaml.safe_dump(data, sort_keys=False).rstrip())
