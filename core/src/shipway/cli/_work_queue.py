"""``shipway work-queue ls|set-limit``."""

from __future__ import annotations

import dataclasses
import json

import click

from shipway.cli._console import status
from shipway.cli._options import debug_option
from shipway.cli._store_access import open_cli_store
from shipway.cli._table import table
from shipway.errors import ShipwayError


@click.group("work-queue")
@debug_option
def work_queue_group() -> None:
    """List work queues and set their limits."""


@work_queue_group.command("ls")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@debug_option
def ls_command(as_json: bool) -> None:
    """List work queues with their limits and runs.

    Active runs are Pending, Running or Cancelling; waiting ones are Scheduled."""
    with open_cli_store(create=False) as store:
        queues = store.list_work_queues()
    if as_json:
        click.echo(json.dumps([dataclasses.asdict(q) for q in queues], indent=2))
        return
    if not queues:
        click.echo("No work queues yet: `shipway deployment apply` creates them.")
        return
    table(
        ["NAME", "LIMIT", "ACTIVE", "SCHEDULED"],
        [
            [
                q.name,
                "none" if q.concurrency_limit is None else str(q.concurrency_limit),
                str(q.active_runs),
                str(q.scheduled_runs),
            ]
            for q in queues
        ],
    )


@work_queue_group.command("set-limit")
@click.argument("name")
@click.argument("limit", metavar="N|none")
@debug_option
def set_limit_command(name: str, limit: str) -> None:
    """Limit how many runs of a queue go on at once.

    At most N runs of work queue NAME across all agents; none removes the limit and 0
    pauses the queue."""
    value: int | None
    if limit.strip().lower() in ("none", "unlimited", "-"):
        value = None
    else:
        try:
            value = int(limit)
        except ValueError:
            value = -1
        if value < 0:
            raise ShipwayError(
                f"the limit must be a number of runs (0 or more) or 'none', not {limit!r}"
            )
    with open_cli_store() as store:
        queue = store.set_work_queue_limit(name, value)
    shown = "no limit" if queue.concurrency_limit is None else f"limit {queue.concurrency_limit}"
    status(f"Work queue {queue.name!r}: {shown} ({queue.active_runs} active).")
