"""``shipway deployment ls|inspect``."""

from __future__ import annotations

from typing import Any

import click

from shipway.cli._options import debug_option, file_option


@click.group("deployment")
@debug_option
def deployment_group() -> None:
    """Register, list, inspect and run deployments."""


@deployment_group.command("ls")
@file_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@debug_option
def ls_command(file: str | None, as_json: bool) -> None:
    """List deployments: the store's, or a file's (-f).

    Without -f, the deployments registered with `shipway deployment apply`."""
    import json

    from shipway.cli._console import table
    from shipway.deployments import load_deployment_file

    if file is None:
        from shipway.cli._store_deployment import list_stored_deployments

        list_stored_deployments(as_json)
        return

    source = load_deployment_file(file)
    rows: list[dict[str, Any]] = [
        {
            "name": d.name,
            "flow": d.entrypoint,
            "infrastructure": d.infrastructure_label(),
            "tags": d.tags,
            "version": d.version,
            "description": d.description,
            "work_queue": d.work_queue,
            "schedule": d.schedule.describe() if d.schedule else None,
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
        "work_queue": deployment.work_queue,
        "schedule": deployment.schedule.model_dump(mode="json", exclude_defaults=True)
        if deployment.schedule
        else None,
        "retries": deployment.retries,
        "retry_delay_seconds": deployment.retry_delay_seconds,
        "infrastructure": resolved,
        "infrastructure_source": deployment.infrastructure_label(),
        "overrides": deployment.overrides,
        "file": source.display,
    }
    if as_json:
        click.echo(json.dumps(data, indent=2))
    else:
        click.echo(yaml.safe_dump(data, sort_keys=False).rstrip())
