"""``shipway run``: run a deployment now, in the foreground."""

from __future__ import annotations

import sys

import anyio
import click

from shipway.cli._console import state_colour, status
from shipway.cli._options import (
    allow_dirty_option,
    debug_option,
    file_option,
    parse_parameters,
    run_input_options,
)
from shipway.cli._options import state as cli_state
from shipway.deployments import load_deployment_file, parse_override_args
from shipway.environment import DEBUG_VAR
from shipway.exit_status import ExitStatus, shell_exit_status
from shipway.runner import prepare_run, run_job
from shipway.states import State, StateType


@click.command("run")
@click.argument("name")
@file_option
@run_input_options
@click.option(
    "--grace",
    "grace_seconds",
    type=click.IntRange(min=0),
    default=30,
    show_default=True,
    help="Seconds a run gets to stop after Ctrl-C before it is killed.",
)
@allow_dirty_option
@debug_option
def run_command(
    name: str,
    file: str | None,
    params: tuple[str, ...],
    params_json: str | None,
    overrides: tuple[str, ...],
    grace_seconds: int,
    allow_dirty: bool,
) -> None:
    """Run deployment NAME now on its infrastructure and stream its output.

    Exits 0 when the flow succeeded, the flow's status when it failed, 3 when it
    could not start and 130 when stopped with Ctrl-C.
    """
    parameters = parse_parameters(params, params_json)
    source = load_deployment_file(file)
    override_values = parse_override_args(overrides)
    if cli_state.debug:  # the engine shows its tracebacks too
        override_values.setdefault("env", {})[DEBUG_VAR] = "1"
    prepared = prepare_run(
        source,
        name,
        parameters=parameters,
        overrides=override_values,
        push=True,
        allow_dirty=allow_dirty,
    )
    job = prepared.job

    def show(state: State) -> None:
        if state.type is StateType.RUNNING:
            status(
                f"Flow run {job.flow_run_id} of deployment {job.deployment_name!r} "
                f"({job.flow_name}) running on {prepared.infrastructure.type} "
                f"as {state.identifier}",
                dim=True,
            )
        elif state.type is StateType.CANCELLING:
            status(f"Stopping flow run {job.flow_run_id}: {state.message}", fg="yellow")

    outcome = anyio.run(
        lambda: run_job(prepared.infrastructure, job, grace_seconds=grace_seconds, on_state=show)
    )
    final = outcome.state
    detail = "" if final.type is StateType.COMPLETED else f": {final.message}"
    status(f"Flow run {job.flow_run_id} {final.name}{detail}", fg=state_colour(final.type))
    if final.type is StateType.CANCELLED:
        sys.exit(ExitStatus.CANCELLED)
    if outcome.result is not None and not outcome.result.succeeded:
        sys.exit(shell_exit_status(outcome.result.status_code))
