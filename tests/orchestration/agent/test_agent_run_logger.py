"""A run logger's records reach the store with their level and time; plain output keeps
its stream and has no level; `shipway flow-run logs --level` filters on the level."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from _agent_helpers import Agents, apply
from _cli import shipway_main
from shipway.states import StateType
from shipway.store import Store

FLOW = """
    from shipway import flow, get_run_logger, task

    @task
    def step() -> None:
        get_run_logger().error("the task says no")

    @flow
    def levels() -> None:
        logger = get_run_logger()
        logger.debug("not at the default level")
        logger.info("an info record")
        logger.warning("a warning record")
        print("a plain print")
        step()
"""


def test_levels_are_kept_and_filtered(
    store: Store,
    store_url: str,
    agents: Agents,
    project: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    (project / "flows" / "levels.py").write_text(textwrap.dedent(FLOW).lstrip())
    apply(store, "levels", project)
    run = store.create_flow_run("levels")

    agents.run_once()

    assert store.get_flow_run(run.id).state is StateType.COMPLETED
    lines = store.read_logs(run.id)
    kept = {line.text: (line.stream, line.level, line.source) for line in lines}
    assert kept["an info record"] == ("stderr", 20, "levels")
    assert kept["a warning record"] == ("stderr", 30, "levels")
    assert kept["the task says no"] == ("stderr", 40, "step")
    assert kept["a plain print"] == ("stdout", None, "")
    assert "not at the default level" not in kept
    assert [line.text for line in store.read_logs(run.id, min_level=30)] == [
        "a warning record",
        "the task says no",
    ]

    monkeypatch.setenv("SHIPWAY_DATABASE_URL", store_url)
    shown = CliRunner().invoke(shipway_main, ["flow-run", "logs", run.id, "--level", "warning"])
    assert shown.exit_code == 0, shown.output
    assert "| WARNING | levels | a warning record" in shown.stderr
    assert "| ERROR   | step | the task says no" in shown.stderr
    assert "an info record" not in shown.output and "a plain print" not in shown.output

    everything = CliRunner().invoke(shipway_main, ["flow-run", "logs", run.id])
    assert everything.stdout == "a plain print\n"  # output as the flow wrote it
    assert "| INFO    | levels | an info record" in everything.stderr

    wrong = CliRunner().invoke(shipway_main, ["flow-run", "logs", run.id, "--level", "loud"])
    assert wrong.exit_code != 0
    assert "'loud' is not a log level" in wrong.output
