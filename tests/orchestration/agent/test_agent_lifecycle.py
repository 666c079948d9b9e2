"""Starting, stopping, cancelling and limiting: what an agent does around its runs."""

from __future__ import annotations

import os
import signal
import time
from datetime import datetime, timezone
from pathlib import Path

from _agent_helpers import (
    Agents,
    appending_command,
    apply,
    claims_held_up,
    in_seconds,
    log_text,
    make_due,
    max_overlap,
    run_ids_in,
    states_of,
    wait_for,
    wait_for_state,
)
from shipway.states import StateType
from shipway.store import Store

S = StateType


def test_run_once_takes_what_is_due_and_exits(
    store: Store, agents: Agents, tmp_path: Path
) -> None:
    target = tmp_path / "out.jsonl"
    apply(store, "quick", tmp_path, infrastructure=appending_command(target, sleep=0.3))
    due = [store.create_flow_run("quick") for _ in range(5)]
    later = store.create_flow_run(
        "quick", scheduled_time=datetime.now(timezone.utc) + in_seconds(3600)
    )

    agents.run_once("--limit", "2")

    records = [store.get_flow_run(run.id) for run in due]
    assert all(record.state is S.COMPLETED for record in records)
    assert max_overlap(records) <= 2
    assert sorted(run_ids_in(target)) == sorted(run.id for run in due)
    assert store.get_flow_run(later.id).state is S.SCHEDULED


def test_sigterm_lets_running_runs_finish(
    store: Store, agents: Agents, project: Path, tmp_path: Path
) -> None:
    marker = tmp_path / "started"
    apply(store, "sleeper", project, parameters={"seconds": 2, "marker": str(marker)})
    run = store.create_flow_run("sleeper")
    agent = agents.start()
    wait_for(marker.exists, what="the flow to start")

    agent.signal(signal.SIGTERM)
    wait_for(lambda: "no new runs" in agent.output, what="the agent to acknowledge")
    late = store.create_flow_run("sleeper")

    assert agent.wait() == 0, agent.output
    record = store.get_flow_run(run.id)
    assert record.state is S.COMPLETED, record.state_message
    assert "slept to the end" in log_text(store, run.id)
    assert store.get_flow_run(late.id).state is S.SCHEDULED  # not claimed after the signal


def test_a_stop_acknowledged_holds_for_a_claim_under_way(
    store: Store, store_url: str, agents: Agents, project: Path, tmp_path: Path
) -> None:
    """The agent says "no new runs" only once its polling loop has stopped claiming: a
    claim it had started (here held up by a lock on the store) is over by then, and no
    run that becomes due after the acknowledgement is taken."""
    apply(store, "hello", project)
    store.set_work_queue_limit("default", 100)  # a claim then locks the queue's row first
    late = store.create_flow_run(
        "hello", scheduled_time=datetime.now(timezone.utc) + in_seconds(3600)
    )
    agent = agents.start()
    wait_for(lambda: "polling" in agent.output, what="the agent to start")

    acknowledged = False
    with claims_held_up(store_url) as execute:
        time.sleep(1.0)  # the agent's next claim (every 0.2 s) now waits for the lock
        agent.signal(signal.SIGTERM)
        deadline = time.monotonic() + 3.0
        while time.monotonic() < deadline and not acknowledged:
            acknowledged = "no new runs" in agent.output
            time.sleep(0.05)
        if acknowledged:  # too early: the claim under way would take the run made due now
            execute(make_due(late.id))
    if not acknowledged:
        wait_for(lambda: "no new runs" in agent.output, what="the agent to acknowledge")
        with claims_held_up(store_url) as execute:
            execute(make_due(late.id))

    assert agent.wait() == 0, agent.output
    assert store.get_flow_run(late.id).state is S.SCHEDULED, agent.output


def test_a_second_signal_cancels_the_runs(
    store: Store, agents: Agents, project: Path, tmp_path: Path
) -> None:
    marker = tmp_path / "started"
    apply(store, "sleeper", project, parameters={"marker": str(marker)})
    run = store.create_flow_run("sleeper")
    agent = agents.start("--grace", "2")
    wait_for(marker.exists, what="the flow to start")

    agent.signal(signal.SIGTERM)
    wait_for(lambda: "no new runs" in agent.output, what="the agent to acknowledge")
    agent.signal(signal.SIGINT)

    assert agent.wait() == 0, agent.output
    assert store.get_flow_run(run.id).state is S.CANCELLED


def test_cancelling_a_running_run_kills_it(
    store: Store, agents: Agents, project: Path, tmp_path: Path
) -> None:
    marker = tmp_path / "started"
    apply(store, "sleeper", project, parameters={"marker": str(marker)})
    run = store.create_flow_run("sleeper")
    agent = agents.start("--grace", "5")
    wait_for(marker.exists, what="the flow to start")
    identifier = wait_for_state(store, run.id, [S.RUNNING]).identifier
    assert identifier is not None

    store.request_cancellation(run.id)

    record = wait_for_state(store, run.id, [S.CANCELLED, S.COMPLETED, S.CRASHED, S.FAILED])
    assert record.state is S.CANCELLED, record.state_message
    assert states_of(store, run.id)[-2:] == [S.CANCELLING, S.CANCELLED]
    pid = int(identifier.rpartition(":")[2])
    try:
        os.killpg(pid, 0)
    except ProcessLookupError:
        pass
    else:
        raise AssertionError(f"process group {pid} still exists")
    assert agent.process.poll() is None  # the agent keeps going


def test_cancelling_a_run_not_started_yet(
    store: Store, agents: Agents, project: Path, tmp_path: Path
) -> None:
    apply(store, "hello", project)
    waiting = store.create_flow_run(
        "hello", scheduled_time=datetime.now(timezone.utc) + in_seconds(2)
    )
    store.request_cancellation(waiting.id)
    agent = agents.start()

    # Due by now, but cancelled: never claimed.
    wait_for(lambda: "polling" in agent.output, what="the agent to start")
    sentinel = store.create_flow_run("hello")
    wait_for_state(store, sentinel.id, [S.COMPLETED])
    assert store.get_flow_run(waiting.id).state is S.CANCELLED
    assert S.RUNNING not in states_of(store, waiting.id)


def test_cancelling_a_pending_run_abandons_its_start(
    store: Store, agents: Agents, project: Path, tmp_path: Path
) -> None:
    """Claimed but not started yet: the start is abandoned and the flow never runs. The
    window is made wide with an interpreter that takes 15 s to answer the plugin's check
    that it can import shipway (the first thing the process plugin does)."""
    import sys

    slow_python = tmp_path / "slow-python"
    slow_python.write_text(f'#!/bin/sh\nsleep 15\nexec {sys.executable} "$@"\n')
    slow_python.chmod(0o755)
    marker = tmp_path / "started"
    apply(store, "sleeper", project, parameters={"seconds": 0, "marker": str(marker)},
          infrastructure={"type": "process", "python": str(slow_python)})
    run = store.create_flow_run("sleeper")
    agent = agents.start()
    wait_for_state(store, run.id, [S.PENDING])

    store.request_cancellation(run.id)

    record = wait_for_state(store, run.id, [S.CANCELLED, S.COMPLETED, S.CRASHED, S.FAILED])
    assert record.state is S.CANCELLED, record.state_message
    assert states_of(store, run.id) == [S.SCHEDULED, S.PENDING, S.CANCELLING, S.CANCELLED]
    assert record.identifier is None and not marker.exists()
    assert agent.process.poll() is None


def test_the_agent_limit_caps_concurrent_runs(
    store: Store, agents: Agents, tmp_path: Path
) -> None:
    target = tmp_path / "out.jsonl"
    apply(store, "slowish", tmp_path, infrastructure=appending_command(target, sleep=0.5))
    runs = [store.create_flow_run("slowish") for _ in range(6)]

    agents.run_once("--limit", "2")

    records = [store.get_flow_run(run.id) for run in runs]
    assert all(record.state is S.COMPLETED for record in records)
    assert max_overlap(records) == 2


def test_a_work_queue_limit_holds_across_agents(
    store: Store, agents: Agents, tmp_path: Path
) -> None:
    target = tmp_path / "out.jsonl"
    apply(store, "queued", tmp_path, infrastructure=appending_command(target, sleep=0.4),
          work_queue="narrow")
    store.set_work_queue_limit("narrow", 1)
    runs = [store.create_flow_run("queued") for _ in range(4)]

    first = agents.start("-q", "narrow", "--limit", "4")
    second = agents.start("-q", "narrow", "--limit", "4")
    for run in runs:
        wait_for_state(store, run.id, [S.COMPLETED])
    first.stop()
    second.stop()

    records = [store.get_flow_run(run.id) for run in runs]
    assert max_overlap(records) == 1
    assert len(run_ids_in(target)) == 4


def test_an_agent_only_takes_its_queues(store: Store, agents: Agents, tmp_path: Path) -> None:
    target = tmp_path / "out.jsonl"
    apply(store, "mine", tmp_path, infrastructure=appending_command(target), work_queue="a")
    apply(store, "theirs", tmp_path, infrastructure=appending_command(target), work_queue="b")
    mine = store.create_flow_run("mine")
    theirs = store.create_flow_run("theirs")

    agents.run_once("-q", "a")

    assert store.get_flow_run(mine.id).state is S.COMPLETED
    assert store.get_flow_run(theirs.id).state is S.SCHEDULED


def test_a_user_mistake_is_one_message(agents: Agents) -> None:
    agent = agents.start("--limit", "0")
    assert agent.wait() == 2
    assert "--limit" in agent.output
    assert "Traceback" not in agent.output


def test_an_agent_name_too_long_for_the_store_is_one_message(agents: Agents) -> None:
    """Issue 15, item 3: refused before the agent registers (PostgreSQL failed on it)."""
    agent = agents.start("--name", "a" * 201, "--run-once")
    assert agent.wait() == 2, agent.output
    assert "the agent name is 201 characters long" in agent.output
    assert "Traceback" not in agent.output and "unexpected" not in agent.output


def test_run_once_without_a_store_fails_with_one_message(agents: Agents) -> None:
    agents.store_url = "postgresql://shipway@127.0.0.1:1/nowhere"
    agent = agents.start("--run-once")
    assert agent.wait() == 3
    assert "cannot be reached" in agent.output
    assert "Traceback" not in agent.output


def test_agent_ls_shows_live_agents_and_with_all_stopped_ones(
    store: Store, agents: Agents, tmp_path: Path
) -> None:
    import json
    import subprocess
    import sys

    target = tmp_path / "out.jsonl"
    apply(store, "long", tmp_path, infrastructure=appending_command(target, sleep=30))
    run = store.create_flow_run("long")
    agent = agents.start("-q", "default", "--limit", "3", "--name", "listed")
    wait_for_state(store, run.id, [S.RUNNING])

    def agent_ls(*args: str) -> list[dict[str, object]]:
        result = subprocess.run(
            [sys.executable, "-c", "from shipway.cli import main; main()", "agent", "ls",
             "--json", *args],
            env=agents.env(), capture_output=True, text=True, timeout=60, check=True,
        )  # fmt: skip
        listed: list[dict[str, object]] = json.loads(result.stdout)
        return listed

    (live,) = agent_ls()
    assert (live["name"], live["queues"], live["limit"]) == ("listed", ["default"], 3)
    assert live["active_runs"] == 1 and live["stopped"] is None

    store.request_cancellation(run.id)
    wait_for_state(store, run.id, [S.CANCELLED])
    agent.stop()
    assert agent_ls() == []
    (stopped,) = agent_ls("--all")
    assert stopped["id"] == live["id"] and stopped["stopped"] is not None
