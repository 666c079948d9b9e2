"""``shipway deployment ls|inspect|apply|push|run``: deployments from a file, and in the
store."""

from __future__ import annotations

import functools
import json
import sys
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

import click
import yaml

from shipway.cli._console import status
from shipway.cli._follow import final_exit_status, follow_run, report_final
from shipway.cli._options import (
    allow_dirty_option,
    debug_option,
    file_option,
    parse_parameters,
    run_input_options,
)
from shipway.cli._store_access import (
    open_cli_store,
    open_database_store,
    require_database,
    retry_unavailable,
)
from shipway.cli._table import table
from shipway.cli._times import parse_when, when
from shipway.deployments import (
    DeploymentSpec,
    check_flow,
    deployment_spec,
    load_deployment_file,
    parse_override_args,
    resolve_deployment,
)
from shipway.errors import ConfigError
from shipway.exit_status import ExitStatus
from shipway.liveness import alive_since
from shipway.runs import create_run
from shipway.schedules import Schedule, describe_schedule
from shipway.secrets import dump_keeping_secrets, mask

if TYPE_CHECKING:  # the store loads SQLAlchemy: see _store_access
    from shipway.store import StoreInterface


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
    if file is None:
        _list_stored_deployments(as_json)
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
    rows = mask(rows)
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
    """Show deployment NAME with its resolved infrastructure and storage (secrets masked)."""
    source = load_deployment_file(file)
    deployment = source.get(name)
    resolution = resolve_deployment(source, deployment)
    resolved = dump_keeping_secrets(resolution.infrastructure)
    storage = resolution.storage
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
        "storage": None if storage is None else storage.block(),
        "file": source.display,
    }
    data = mask(data)
    if as_json:
        click.echo(json.dumps(data, indent=2))
    else:
        click.echo(yaml.safe_dump(data, sort_keys=False).rstrip())


@deployment_group.command("apply")
@click.argument("names", nargs=-1)
@file_option
@click.option(
    "--no-validate",
    is_flag=True,
    help="Do not import the flows to check them (for flow files that exist only on the "
    "agents' machines).",
)
@allow_dirty_option
@debug_option
def apply_command(
    names: tuple[str, ...], file: str | None, no_validate: bool, allow_dirty: bool
) -> None:
    """Register deployments in the store for agents.

    All the deployments of the file, or NAMES; prints created, updated or unchanged for
    each. Infrastructure and storage are resolved and validated first, and each flow is
    imported to check that it exists and that the deployment's parameters fit it
    (--no-validate skips that). A deployment with storage gets its code pushed, and its
    runs pull that ref."""
    require_database()
    source = load_deployment_file(file)
    chosen = [source.get(name) for name in names] or list(source.deployments.values())
    if not chosen:
        raise ConfigError(f"no deployments in {source.display}: nothing to apply")
    specs = [deployment_spec(source, deployment) for deployment in chosen]  # all valid first
    if not no_validate:
        for deployment in chosen:
            check_flow(source, deployment)
    specs = [_pushed(spec, allow_dirty) for spec in specs]
    with open_database_store() as store:
        for record, outcome in store.apply_deployments(specs):  # all or none
            colour = {"created": "green", "updated": "yellow"}.get(outcome)
            described = _describe_schedule(record.schedule)
            schedule = f", {described}" if described else ""
            click.secho(
                f"{outcome:9} {record.name} (work queue {record.work_queue!r}{schedule})",
                fg=colour,
            )
        status(f"Store: {store.url}", dim=True)


@deployment_group.command("push")
@click.argument("names", nargs=-1)
@click.option("--all", "push_all", is_flag=True, help="Every stored deployment with storage.")
@allow_dirty_option
@debug_option
def push_command(names: tuple[str, ...], push_all: bool, allow_dirty: bool) -> None:
    """Push the code of stored deployments NAMES to their storage.

    Each is pushed from the project directory it was applied from; its later runs pull
    the new ref (runs already created keep theirs)."""
    if bool(names) == push_all:
        raise click.UsageError("name the deployments to push, or give --all (not both)")
    require_database()
    with open_database_store() as store:
        if push_all:
            records = [record for record in store.list_deployments() if record.storage]
        else:
            records = [store.get_deployment(name) for name in names]
        for record in records:
            if record.storage is None:
                raise ConfigError(
                    f"deployment {record.name!r} has no storage: its runs read the code "
                    f"where they run ({record.working_dir})",
                    hint="Give it a 'storage' in the deployment file and apply it again.",
                )
        if not records:
            status("No stored deployment has storage: nothing to push.")
            return
        specs = [_pushed(record.spec(), allow_dirty) for record in records]
        for record, outcome in store.apply_deployments(specs):
            click.echo(f"{outcome:9} {record.name} (ref {record.storage_ref})")
        status(f"Store: {store.url}", dim=True)


def _pushed(spec: DeploymentSpec, allow_dirty: bool) -> DeploymentSpec:
    if spec.storage is None:
        return spec
    pushed = spec.with_code_pushed(allow_dirty=allow_dirty)
    status(f"Pushed the code of {spec.name!r}: ref {pushed.storage_ref}", dim=True)
    return pushed


def _list_stored_deployments(as_json: bool) -> None:
    """``shipway deployment ls`` without a file: the deployments registered in the store."""
    with open_cli_store(create=False) as store:
        records = store.list_deployments()
        url = store.url
    rows: list[dict[str, Any]] = [
        {
            "name": r.name,
            "flow": r.entrypoint,
            "infrastructure": r.infrastructure.get("type"),
            "work_queue": r.work_queue,
            "schedule": _describe_schedule(r.schedule),
            "tags": list(r.tags),
            "version": r.version,
            "description": r.description,
            "updated": r.updated.isoformat() if r.updated else None,
        }
        for r in records
    ]
    rows = mask(rows)
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        click.echo(
            f"No deployments in the store ({url}). Register some with "
            "`shipway deployment apply`, or list a file's with `shipway deployment ls -f FILE`."
        )
        return
    table(
        ["NAME", "FLOW", "INFRASTRUCTURE", "WORK QUEUE", "SCHEDULE", "TAGS", "UPDATED"],
        [
            [
                row["name"],
                row["flow"],
                str(row["infrastructure"]),
                row["work_queue"],
                row["schedule"] or "-",
                ", ".join(row["tags"]),
                when(record.updated),
            ]
            for row, record in zip(rows, records, strict=True)
        ],
    )


def _describe_schedule(schedule: Schedule | None) -> str | None:
    return describe_schedule(schedule) if schedule is not None else None


def _queue_has_an_agent(store: StoreInterface, queue: str, infrastructure_type: str) -> bool:
    """Is a live agent polling ``queue`` that runs ``infrastructure_type``?"""
    live = store.list_agents(alive_since=alive_since(datetime.now(timezone.utc)))
    return any(
        (not agent.queues or queue in agent.queues)
        and (
            agent.infrastructure_types is None or infrastructure_type in agent.infrastructure_types
        )
        for agent in live
    )


@deployment_group.command("run")
@click.argument("name")
@run_input_options
@click.option(
    "--at",
    "at",
    metavar="TIME",
    help="When to run: ISO-8601 (local time unless it has a zone), a time of day "
    "(09:30: the next one) or +DURATION (+10m, +1h30m). Default: now.",
)
@click.option(
    "--watch",
    is_flag=True,
    help="Follow the run's states and logs until it ends, and exit with its status.",
)
@debug_option
def run_command(
    name: str,
    params: tuple[str, ...],
    params_json: str | None,
    overrides: tuple[str, ...],
    at: str | None,
    watch: bool,
) -> None:
    """Create a flow run of a stored deployment.

    Prints the id of the new run of deployment NAME, for an agent to run. With --watch,
    follows it and exits as `shipway run` does: 0 Completed, the flow's status when it
    failed or crashed, 130 Cancelled.
    """
    parameters = parse_parameters(params, params_json)
    override_values = parse_override_args(overrides)
    scheduled_time = parse_when(at) if at else None
    with open_cli_store() as store:
        record = create_run(
            store,
            name,
            parameters=parameters,
            overrides=override_values,
            scheduled_time=scheduled_time,
        )
        click.echo(record.id)
        status(
            f"Flow run {record.id} of {name!r} scheduled for "
            f"{record.scheduled_time.isoformat(timespec='seconds')} on work queue "
            f"{record.work_queue!r}",
            dim=True,
        )
        infrastructure_type = str(record.infrastructure.get("type"))
        has_agent = functools.partial(
            _queue_has_an_agent, store, record.work_queue, infrastructure_type
        )
        if not retry_unavailable(has_agent, poll=1.0):  # the run exists: do not fail now
            status(
                f"No agent is polling work queue {record.work_queue!r} right now with the "
                f"{infrastructure_type!r} plugin: the run waits for one "
                f"(`shipway agent start -q {record.work_queue}` where it is installed).",
                fg="yellow",
            )
        if not watch:
            return
        try:
            final = follow_run(store, record.id)
        except KeyboardInterrupt:
            status(
                f"Stopped watching; flow run {record.id} goes on "
                f"(`shipway flow-run cancel {record.id[:8]}` stops it).",
                fg="yellow",
            )
            sys.exit(ExitStatus.CANCELLED)
    report_final(final)
    code = final_exit_status(final)
    if code:
        sys.exit(code)
