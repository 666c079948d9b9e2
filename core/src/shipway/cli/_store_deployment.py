"""``shipway deployment apply|run``, and ``deployment ls`` when it reads the store."""

from __future__ import annotations

import contextlib
import sys
from typing import TYPE_CHECKING, Any

import click

from shipway.cli._options import debug_option, file_option, parse_parameters, run_input_options

if TYPE_CHECKING:
    from shipway.schedules import Schedule
    from shipway.store import Store


@click.command("apply")
@click.argument("names", nargs=-1)
@file_option
@debug_option
def apply_command(names: tuple[str, ...], file: str | None) -> None:
    """Register deployments in the store for agents.

    All the deployments of the file, or NAMES; prints created, updated or unchanged for
    each. Infrastructure is resolved and validated first."""
    from shipway.cli._console import status
    from shipway.cli._store_common import open_cli_store
    from shipway.deployments import deployment_spec, load_deployment_file
    from shipway.errors import ConfigError

    source = load_deployment_file(file)
    chosen = [source.get(name) for name in names] or list(source.deployments.values())
    if not chosen:
        raise ConfigError(f"no deployments in {source.display}: nothing to apply")
    specs = [deployment_spec(source, deployment) for deployment in chosen]  # all valid first
    with open_cli_store() as store:
        for spec in specs:
            record, outcome = store.apply_deployment(spec)
            colour = {"created": "green", "updated": "yellow"}.get(outcome)
            described = _describe_schedule(record.schedule)
            schedule = f", {described}" if described else ""
            click.secho(
                f"{outcome:9} {record.name} (work queue {record.work_queue!r}{schedule})",
                fg=colour,
            )
        status(f"Store: {store.url}", dim=True)


def list_stored_deployments(as_json: bool) -> None:
    """``shipway deployment ls`` without a file: the deployments registered in the store."""
    import json

    from shipway.cli._console import table
    from shipway.cli._store_common import open_cli_store, when

    with open_cli_store() as store:
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
                r.name,
                r.entrypoint,
                str(r.infrastructure.get("type")),
                r.work_queue,
                _describe_schedule(r.schedule) or "-",
                ", ".join(r.tags),
                when(r.updated),
            ]
            for r in records
        ],
    )


def _describe_schedule(schedule: Schedule | None) -> str | None:
    from shipway.schedules import describe_schedule

    return describe_schedule(schedule) if schedule is not None else None


# An agent heartbeats every 10 s by default: silent for longer than this, it is not counted.
_LIVE_AGENT_SECONDS = 120


def _queue_has_an_agent(store: Store, queue: str) -> bool:
    from datetime import datetime, timedelta, timezone

    since = datetime.now(timezone.utc) - timedelta(seconds=_LIVE_AGENT_SECONDS)
    return any(
        not agent.queues or queue in agent.queues for agent in store.list_agents(alive_since=since)
    )


@click.command("run")
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
    from shipway.cli._console import status
    from shipway.cli._store_common import (
        final_exit_status,
        follow_run,
        open_cli_store,
        parse_when,
        report_final,
    )
    from shipway.deployments import parse_override_args, resolve_run
    from shipway.plugins import PluginError

    parameters = parse_parameters(params, params_json)
    override_values = parse_override_args(overrides)
    scheduled_time = parse_when(at) if at else None
    with open_cli_store() as store:
        deployment = store.get_deployment(name)
        if override_values:
            # Fail now, not on the agent, when an override does not fit; a plugin not
            # installed here is no reason to refuse (the agent checks again anyway).
            request = deployment.run_request(parameters=parameters, overrides=override_values)
            with contextlib.suppress(PluginError):
                resolve_run(request)
        record = store.create_flow_run(
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
        if not _queue_has_an_agent(store, record.work_queue):
            status(
                f"No agent is polling work queue {record.work_queue!r} right now: the run waits "
                f"for one (`shipway agent start -q {record.work_queue}`).",
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
            sys.exit(130)
    report_final(final)
    code = final_exit_status(final)
    if code:
        sys.exit(code)
