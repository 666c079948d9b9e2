"""``shipway flow-run ls|inspect|logs|cancel``: the run history in the store."""

from __future__ import annotations

import json
import sys

import click
import yaml

from shipway.cli._console import status
from shipway.cli._follow import follow_run, log_text, report_final
from shipway.cli._options import debug_option
from shipway.cli._store_access import open_cli_store
from shipway.cli._table import table
from shipway.cli._times import duration, short_id, when
from shipway.errors import ShipwayError
from shipway.exit_status import ExitStatus
from shipway.log_lines import level_number
from shipway.runs import agent_label, history_view, parse_states, run_view
from shipway.secrets import mask
from shipway.states import StateType

_json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON.")


@click.group("flow-run")
@debug_option
def flow_run_group() -> None:
    """List, inspect, follow and cancel flow runs."""


@flow_run_group.command("ls")
@click.option("-d", "--deployment", help="Only the runs of this deployment.")
@click.option(
    "-s",
    "--state",
    "states",
    multiple=True,
    metavar="STATE",
    help="Only runs in this state (e.g. running, failed). Repeatable or comma-separated.",
)
@click.option(
    "-n", "--limit", type=click.IntRange(min=1), default=20, show_default=True,
    help="How many runs, newest first.",
)  # fmt: skip
@_json_option
@debug_option
def ls_command(deployment: str | None, states: tuple[str, ...], limit: int, as_json: bool) -> None:
    """List flow runs, newest first."""
    wanted = parse_states(states)
    with open_cli_store(create=False) as store:
        if deployment is not None:
            store.get_deployment(deployment)  # an unknown name is a mistake, not "no runs"
        runs = store.list_flow_runs(deployment=deployment, states=wanted or None, limit=limit)
    if as_json:
        click.echo(json.dumps([run_view(run) for run in runs], indent=2))
        return
    if not runs:
        click.echo("No flow runs match.")
        return
    table(
        ["ID", "DEPLOYMENT", "STATE", "SCHEDULED", "STARTED", "DURATION", "ATTEMPT"],
        [
            [
                short_id(run.id),
                run.deployment_name,
                run.state.value,
                when(run.scheduled_time),
                when(run.start_time),
                duration(run.start_time, run.end_time),
                f"{run.attempt}/{run.retries + 1}",
            ]
            for run in runs
        ],
    )


@flow_run_group.command("inspect")
@click.argument("run_id", metavar="ID")
@_json_option
@debug_option
def inspect_command(run_id: str, as_json: bool) -> None:
    """Show a flow run with its state history.

    ID is the run's id or a unique prefix of it. Shows where it ran, its parameters and
    infrastructure (secrets masked)."""
    with open_cli_store(create=False) as store:
        run = store.get_flow_run(run_id)
        history = store.state_history(run.id)
        agent_records = store.list_agents()
    agents = {agent.id: agent.name for agent in agent_records}
    data = run_view(run)
    data["agent"] = agent_label(run.agent_id, agents)
    data["history"] = history_view(history, agent_records)
    if as_json:
        click.echo(json.dumps(data, indent=2))
        return
    summary = {k: v for k, v in data.items() if k != "history"}
    click.echo(yaml.safe_dump(summary, sort_keys=False).rstrip())
    click.echo()
    table(
        ["TIME", "STATE", "ATTEMPT", "AGENT", "IDENTIFIER", "MESSAGE"],
        [
            [
                when(h.timestamp),
                h.type.value,
                str(h.attempt),
                agent_label(h.agent_id, agents) or "-",
                h.identifier or "-",
                mask(h.message),
            ]
            for h in history
        ],
        title="History",
    )


@flow_run_group.command("logs")
@click.argument("run_id", metavar="ID")
@click.option("-f", "--follow", is_flag=True, help="Keep printing new lines until the run ends.")
@click.option(
    "-l",
    "--level",
    metavar="LEVEL",
    help="Only run logger records at LEVEL or above (debug, info, warning, error, "
    "critical); output without a level is left out.",
)
@debug_option
def logs_command(run_id: str, follow: bool, level: str | None) -> None:
    """Print a flow run's output.

    The stdout and stderr of flow run ID, as the flow wrote them; the records of its run
    logger (get_run_logger()) with their time and level."""
    min_level = _parse_level(level)
    with open_cli_store(create=False) as store:
        run = store.get_flow_run(run_id)
        if not follow:
            after = 0
            while lines := store.read_logs(run.id, after=after, min_level=min_level):
                for line in lines:
                    after = line.seq
                    click.echo(log_text(line), err=line.stream != "stdout")
            return
        try:
            final = follow_run(store, run.id, show_states=False, min_level=min_level)
        except KeyboardInterrupt:
            sys.exit(ExitStatus.CANCELLED)
    report_final(final)


@flow_run_group.command("cancel")
@click.argument("run_id", metavar="ID")
@debug_option
def cancel_command(run_id: str) -> None:
    """Cancel a flow run.

    At once if it has not started; otherwise its agent stops it on its infrastructure."""
    with open_cli_store() as store:
        run = store.request_cancellation(run_id)
    if run.state is StateType.CANCELLED:
        status(f"Flow run {run.id} Cancelled (it had not started).", fg="yellow")
    else:
        status(
            f"Flow run {run.id} Cancelling: its agent stops it on its infrastructure "
            f"(`shipway flow-run inspect {run.id[:8]}` shows when it is Cancelled).",
            fg="yellow",
        )


def _parse_level(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return level_number(value)
    except ValueError as exc:
        raise ShipwayError(f"--level {exc}") from None
