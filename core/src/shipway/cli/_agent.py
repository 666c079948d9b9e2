"""``shipway agent start|ls``: run due flow runs from the store until stopped, and list
the agents."""

from __future__ import annotations

import json
import os
import socket
import time
from datetime import datetime, timedelta, timezone

import anyio
import click

from shipway.agent import Agent, AgentSettings, RunEvent
from shipway.cli._console import state_colour, status
from shipway.cli._options import debug_option
from shipway.cli._store_access import open_cli_store
from shipway.cli._table import table
from shipway.cli._times import when
from shipway.liveness import HEARTBEAT_INTERVAL, MISSED_HEARTBEATS, alive_since


@click.group("agent")
@debug_option
def agent_group() -> None:
    """Start agents, which run due flow runs on their infrastructure, and list them."""


@agent_group.command("start")
@click.option(
    "-q",
    "--queue",
    "queues",
    multiple=True,
    metavar="QUEUE",
    help="Work queue to take runs from. Repeatable; default: every queue.",
)
@click.option(
    "--limit",
    type=click.IntRange(min=1),
    default=4,
    show_default=True,
    help="Runs at most at once on this agent.",
)
@click.option(
    "--run-once",
    is_flag=True,
    help="Run every run due now (at most --limit at a time), then exit.",
)
@click.option(
    "--poll-interval",
    type=click.FloatRange(min=0.05),
    default=2.0,
    show_default=True,
    metavar="SECONDS",
    help="How often to look for due runs and cancellation requests.",
)
@click.option(
    "--heartbeat-interval",
    type=click.FloatRange(min=0.1),
    default=HEARTBEAT_INTERVAL,
    show_default=True,
    metavar="SECONDS",
    help="How often to tell the store this agent is alive; silent for "
    f"{MISSED_HEARTBEATS} intervals means gone, and other agents reconcile its runs.",
)
@click.option(
    "--grace",
    "grace_seconds",
    type=click.IntRange(min=0),
    default=10,
    show_default=True,
    help="Seconds a cancelled run gets to stop before it is killed.",
)
@click.option(
    "--orphan-timeout",
    type=click.FloatRange(min=0),
    default=600.0,
    show_default=True,
    metavar="SECONDS",
    help="How long a run left by a dead agent, on infrastructure this agent cannot "
    "reach (a process on another host), waits for an agent that can before it is "
    "marked Crashed; counted from the dead agent's last heartbeat.",
)
@click.option("--name", default=None, help="A name shown in the store (default: host-pid).")
@click.option(
    "--api",
    "api_url",
    metavar="URL",
    help="A shipway server to claim runs and record their states and logs through, "
    "instead of the database (token from SHIPWAY_API_TOKEN; default: SHIPWAY_API_URL).",
)
@debug_option
def start_command(
    queues: tuple[str, ...],
    limit: int,
    run_once: bool,
    poll_interval: float,
    heartbeat_interval: float,
    grace_seconds: int,
    orphan_timeout: float,
    name: str | None,
    api_url: str | None,
) -> None:
    """Start an agent: claim due runs, run them, record their states and logs.

    Stops on SIGINT/SIGTERM after its running runs have finished; a second signal
    cancels them. With --run-once it exits once every run due at start has ended.
    With --api (or SHIPWAY_API_URL) it needs no database credentials, only the
    server's token.
    """
    settings = AgentSettings(
        name=name or f"{socket.gethostname()}-{os.getpid()}",
        queues=tuple(queues),
        limit=limit,
        poll_interval=poll_interval,
        heartbeat_interval=heartbeat_interval,
        run_once=run_once,
        kill_grace_seconds=grace_seconds,
        orphan_timeout=timedelta(seconds=orphan_timeout),
    )
    store = open_cli_store(wait=not run_once, api_url=api_url)
    try:
        agent = Agent(store, settings, on_event=_show_event, on_notice=_show_notice)
        anyio.run(agent.run)
    finally:
        store.close()


@agent_group.command("ls")
@click.option(
    "-a",
    "--all",
    "show_all",
    is_flag=True,
    help="Also the agents that are gone: stopped, or silent for "
    f"{MISSED_HEARTBEATS} heartbeat intervals.",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@debug_option
def ls_command(show_all: bool, as_json: bool) -> None:
    """List the live agents registered in the store, newest first.

    With each: its queues, the infrastructure types it runs and its limit, when it last
    sent a heartbeat, and how many runs it holds (Pending, Running or Cancelling)."""
    now = datetime.now(timezone.utc)
    since = None if show_all else alive_since(now)
    with open_cli_store(create=False) as store:
        agents = store.list_agents(alive_since=since)
        held = store.count_runs_by_agent()
        url = store.url
    if as_json:
        rows = [
            {
                "id": agent.id,
                "name": agent.name,
                "queues": list(agent.queues),
                "limit": agent.limit,
                "infrastructure_types": (
                    None if agent.infrastructure_types is None else list(agent.infrastructure_types)
                ),
                "started": agent.started.isoformat(),
                "last_heartbeat": agent.last_heartbeat.isoformat(),
                "stopped": agent.stopped.isoformat() if agent.stopped else None,
                "active_runs": held.get(agent.id, 0),
            }
            for agent in agents
        ]
        click.echo(json.dumps(rows, indent=2))
        return
    if not agents:
        more = "" if show_all else " (--all lists the ones that are gone too)"
        click.echo(f"No agents in the store ({url}){more}. Start one with `shipway agent start`.")
        return
    table(
        ["NAME", "ID", "QUEUES", "TYPES", "LIMIT", "STARTED", "LAST HEARTBEAT", "STOPPED", "RUNS"],
        [
            [
                agent.name,
                agent.id[:8],
                ", ".join(agent.queues) or "(every queue)",
                "(any)"
                if agent.infrastructure_types is None
                else ", ".join(agent.infrastructure_types) or "(none)",
                "-" if agent.limit is None else str(agent.limit),
                when(agent.started),
                _ago(agent.last_heartbeat, now),
                when(agent.stopped),
                str(held.get(agent.id, 0)),
            ]
            for agent in agents
        ],
    )


def _ago(moment: datetime, now: datetime) -> str:
    seconds = max(0, int((now - moment).total_seconds()))
    if seconds < 120:
        return f"{seconds}s ago"
    if seconds < 7200:
        return f"{seconds // 60}m ago"
    return f"{seconds // 3600}h ago"


def _show_event(event: RunEvent) -> None:
    detail = event.message or event.identifier or ""
    status(
        f"{time.strftime('%H:%M:%S')} {event.run_id[:8]} {event.deployment} "
        f"{event.state.value}" + (f": {detail}" if detail else ""),
        fg=state_colour(event.state),
    )


def _show_notice(message: str) -> None:

    status(message, dim=True)
