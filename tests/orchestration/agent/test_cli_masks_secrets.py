"""No command prints a secret: every command of the CLI (listed from its click groups, so a
new one cannot be missed) is either run here, in every output format it has, against a
deployment and runs holding planted secrets, or declared to show no deployment or run."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import click

from _agent_helpers import Agents, wait_for
from _cli import shipway_main
from _planted_secrets import (
    PLANTED,
    RUN_TOKEN,
)
from shipway.store import Store

OVERRIDE = f"env.RUN_TOKEN={RUN_TOKEN}"

# Every command that shows a deployment or a run, with the arguments it is run with here
# ({run} is a flow run's id). Each runs in every output format it offers.
SHOWS_DEPLOYMENTS_OR_RUNS: dict[str, list[list[str]]] = {
    "deployment apply": [[]],
    "deployment push": [["--all"], ["leaky"]],
    "deployment run": [["leaky", "--override", OVERRIDE, "--watch"]],
    "run": [["leaky", "--override", OVERRIDE]],
    "deployment ls": [[], ["-f", "shipway.yaml"]],
    "deployment inspect": [["leaky"]],
    "infra preview": [["leaky", "--override", OVERRIDE]],
    "flow-run ls": [[]],
    "flow-run inspect": [["{run}"]],
    "flow-run logs": [["{run}"], ["{run}", "--follow"]],
    "flow-run cancel": [["{run}"]],
}
# `agent start` is run as a real agent process (it runs the runs above); its output is
# checked with the others.
AGENT_START = "agent start"
SHOWS_NO_DEPLOYMENT_OR_RUN = {
    "agent ls": "agents: names, queues, heartbeats",
    "work-queue ls": "queues and their limits",
    "work-queue set-limit": "a queue's limit",
    "infra schema": "the fields of an infrastructure type",
    "plugins": "installed plugins",
    "plugins install": "pip's output",
    "plugin new": "a new plugin's files",
    "image build": "an image build",
    "migrate": "a migration of Prefect code",
    "server start": "its address and store; the API's responses are checked in tests/server",
}
OUTPUT_FORMATS = {"--json": ["--json"]}
UNKNOWN_FORMAT_OPTIONS = {"--yaml", "--output", "--format", "--template"}


def leaf_commands() -> Iterator[tuple[str, click.Command]]:
    """Every command that does something when run: ``("flow-run ls", command)``."""
    from shipway.cli import cli

    def walk(command: click.Command, path: tuple[str, ...]) -> Iterator[tuple[str, click.Command]]:
        if isinstance(command, click.Group):
            if command.invoke_without_command and path:  # `shipway plugins` lists on its own
                yield " ".join(path), command
            context = click.Context(command)
            for name in command.list_commands(context):
                child = command.get_command(context, name)
                assert child is not None, name
                yield from walk(child, (*path, name))
        else:
            yield " ".join(path), command

    return walk(cli, ())


def formats_of(command: click.Command) -> list[list[str]]:
    options = {option for param in command.params for option in param.opts}
    assert not options & UNKNOWN_FORMAT_OPTIONS, "a new output format: add it to OUTPUT_FORMATS"
    return [[], *(extra for option, extra in OUTPUT_FORMATS.items() if option in options)]


def test_every_command_is_checked_or_shows_no_deployment_or_run() -> None:
    commands = {path for path, _ in leaf_commands()}

    checked = {*SHOWS_DEPLOYMENTS_OR_RUNS, AGENT_START, *SHOWS_NO_DEPLOYMENT_OR_RUN}
    assert commands == checked, (
        "classify each new command: run it in SHOWS_DEPLOYMENTS_OR_RUNS, or say in "
        "SHOWS_NO_DEPLOYMENT_OR_RUN why it shows none"
    )


@dataclasses.dataclass
class Shown:
    args: list[str]
    exit_code: int
    output: str


def test_no_command_in_any_format_prints_a_planted_secret(
    store: Store,
    agents: Agents,
    leaky_project: Path,
) -> None:
    from click.testing import CliRunner

    agent = agents.start()
    commands = dict(leaf_commands())
    shown: list[Shown] = []

    def shipway(*args: str) -> Shown:
        outcome = CliRunner().invoke(shipway_main, list(args))
        result = Shown(list(args), outcome.exit_code, outcome.stdout + outcome.stderr)
        shown.append(result)
        return result

    for path, argument_sets in SHOWS_DEPLOYMENTS_OR_RUNS.items():
        for arguments in argument_sets:
            for output_format in formats_of(commands[path]):
                run_ids = [run.id for run in store.list_flow_runs(limit=1)]
                args = [a.format(run=run_ids[0] if run_ids else "") for a in arguments]
                shipway(*path.split(), *args, *output_format)

    runs = store.list_flow_runs()
    wait_for(lambda: all(run.state.is_final for run in store.list_flow_runs()), what="the runs")
    assert runs and all(run.state.value == "Completed" for run in runs), [
        (s.args, s.exit_code, s.output) for s in shown
    ]
    logs = "\n".join(line.text for line in store.read_logs(runs[0].id))
    assert "DB_PASSWORD is ********" in logs  # the flow printed them; they were masked
    agent.stop()
    shown.append(Shown([AGENT_START], 0, agent.output))
    leaks = [
        f"shipway {' '.join(result.args)} prints {secret!r}:\n{result.output}"
        for result in shown
        for secret in PLANTED
        if secret in result.output
    ]
    assert not leaks, "\n\n".join(leaks)
    assert any("RUN_TOKEN is ********" in s.output for s in shown)  # shipway run's terminal
