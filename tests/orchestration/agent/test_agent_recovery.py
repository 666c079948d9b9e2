"""An agent that dies, and a database that goes away: nothing is lost or run twice."""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from typing import Any

import pytest
from _agent_helpers import (
    Agents,
    appending_command,
    apply,
    log_text,
    run_ids_in,
    states_of,
    wait_for,
    wait_for_state,
)

from shipway.states import StateType
from shipway.store import StateChange, Store

S = StateType
FAST_HEARTBEAT = ("--heartbeat-interval", "0.5")


def _pid_of(identifier: str | None) -> int:
    assert identifier is not None
    return int(identifier.rpartition(":")[2])


def test_a_run_outlives_its_agent_and_is_followed_again(
    store: Store, agents: Agents, project: Path, tmp_path: Path
) -> None:
    marker = tmp_path / "started"
    apply(store, "sleeper", project, parameters={"seconds": 3, "marker": str(marker)})
    run = store.create_flow_run("sleeper")
    first = agents.start(*FAST_HEARTBEAT)
    wait_for(marker.exists, what="the flow to start")
    wait_for_state(store, run.id, [S.RUNNING])

    first.signal(signal.SIGKILL)
    first.wait()
    second = agents.start(*FAST_HEARTBEAT)

    record = wait_for_state(store, run.id, [S.COMPLETED, S.CRASHED, S.FAILED])
    assert record.state is S.COMPLETED, record.state_message
    assert record.agent_id != store.state_history(run.id)[1].agent_id  # adopted
    assert states_of(store, run.id).count(S.RUNNING) == 1  # never submitted again
    assert "follows the run again" in log_text(store, run.id)
    assert "re-attached" in second.output


def test_a_run_that_died_with_its_agent_crashes_naming_the_agent(
    store: Store, agents: Agents, project: Path, tmp_path: Path
) -> None:
    import os

    marker = tmp_path / "started"
    apply(store, "sleeper", project, parameters={"marker": str(marker)})
    run = store.create_flow_run("sleeper")
    first = agents.start(*FAST_HEARTBEAT)
    wait_for(marker.exists, what="the flow to start")
    running = wait_for_state(store, run.id, [S.RUNNING])

    first.signal(signal.SIGKILL)
    first.wait()
    os.killpg(_pid_of(running.identifier), signal.SIGKILL)  # gone without an exit status
    agents.start(*FAST_HEARTBEAT)

    record = wait_for_state(store, run.id, [S.COMPLETED, S.CRASHED, S.FAILED])
    assert record.state is S.CRASHED
    assert running.agent_id is not None and running.agent_id in record.state_message
    assert "no exit status" in record.state_message


def test_cancelling_a_run_whose_agent_died(
    store: Store, agents: Agents, project: Path, tmp_path: Path
) -> None:
    marker = tmp_path / "started"
    apply(store, "sleeper", project, parameters={"marker": str(marker)})
    run = store.create_flow_run("sleeper")
    first = agents.start(*FAST_HEARTBEAT)
    wait_for(marker.exists, what="the flow to start")
    running = wait_for_state(store, run.id, [S.RUNNING])
    first.signal(signal.SIGKILL)
    first.wait()

    store.request_cancellation(run.id)
    agents.start(*FAST_HEARTBEAT, "--grace", "2")

    record = wait_for_state(store, run.id, [S.CANCELLED, S.CRASHED, S.COMPLETED])
    assert record.state is S.CANCELLED, record.state_message
    wait_for(lambda: not _group_alive(_pid_of(running.identifier)), what="the run to stop")


@pytest.mark.parametrize("cancel", [False, True], ids=["left-pending", "cancel-requested"])
def test_a_run_claimed_by_an_agent_that_died_before_starting_it(
    store: Store, agents: Agents, project: Path, cancel: bool
) -> None:
    """An agent killed between its claim and the start leaves a Pending run without an
    identifier: it may or may not have started, so it is never submitted again. (The
    dead agent is played by the store calls it would have made: that window is too short
    to hit with a real SIGKILL.)"""
    apply(store, "hello", project)
    run = store.create_flow_run("hello")
    dead = store.register_agent("died-after-claiming", [], 1)
    assert [claimed.id for claimed in store.claim_runs(dead.id, [], 1)] == [run.id]
    if cancel:
        assert store.request_cancellation(run.id).state is S.CANCELLING

    agents.start(*FAST_HEARTBEAT)  # the dead agent's heartbeat goes stale after 1.5 s

    final = [S.COMPLETED, S.FAILED, S.CRASHED, S.CANCELLED]
    record = wait_for_state(store, run.id, final)
    assert S.RUNNING not in states_of(store, run.id)
    assert "Hello" not in log_text(store, run.id)
    if cancel:
        assert record.state is S.CANCELLED, record.state_message
    else:
        assert record.state is S.CRASHED, record.state_message
        assert dead.id in record.state_message
        assert "not submitted again" in record.state_message


def test_a_run_out_of_reach_waits_for_an_agent_that_can_reach_it(
    store: Store, agents: Agents, project: Path
) -> None:
    """A process run on another host whose agent died: this agent cannot follow it, so it
    leaves it to an agent on that host; once none has come for --orphan-timeout, Crashed
    (not retried: it may still be running there)."""
    apply(store, "hello", project, retries=2)
    run = store.create_flow_run("hello")
    elsewhere = store.register_agent("on-another-host", [], 1)
    store.claim_runs(elsewhere.id, [], 1)
    store.set_state(run.id, StateChange(S.RUNNING, identifier="another-host:4242"))

    agent = agents.start(*FAST_HEARTBEAT, "--orphan-timeout", "8")

    wait_for(lambda: "out of this agent's reach" in agent.output, what="the hand-back")
    record = store.get_flow_run(run.id)
    assert (record.state, record.agent_id) == (S.RUNNING, elsewhere.id)
    record = wait_for_state(store, run.id, [S.COMPLETED, S.FAILED, S.CRASHED, S.CANCELLED])
    assert record.state is S.CRASHED
    assert "another-host" in record.state_message and "may still be running" in (
        record.state_message
    )
    assert record.attempt == 1 and record.agent_id != elsewhere.id
    assert agent.output.count("out of this agent's reach") == 1
    assert "follows the run again" not in log_text(store, run.id)


def _group_alive(pgid: int) -> bool:
    import os

    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def _outage(store_url: str, postgres_server: Any, seconds: float) -> None:
    """Make the database unreachable for ``seconds``: stop the PostgreSQL server, or hold
    an exclusive lock on the SQLite file (every reader and writer then waits for it)."""
    if store_url.startswith("postgres"):
        postgres_server.stop()
        threading.Event().wait(seconds)
        postgres_server.start()
        return
    import sqlite3

    path = store_url.partition(":///")[2]
    connection = sqlite3.connect(path, timeout=30, isolation_level=None)
    try:
        connection.execute("BEGIN EXCLUSIVE")
        threading.Event().wait(seconds)
        connection.execute("COMMIT")
    finally:
        connection.close()


def test_the_database_going_away_loses_nothing(
    store: Store, agents: Agents, store_url: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    postgres_server = (
        request.getfixturevalue("postgres_server") if store_url.startswith("postgres") else None
    )
    target = tmp_path / "out.jsonl"
    apply(store, "steady", tmp_path, infrastructure=appending_command(target, sleep=1.5))
    runs = [store.create_flow_run("steady") for _ in range(6)]
    agent = agents.start("--limit", "3")
    wait_for(lambda: len(store.list_flow_runs(states=[S.RUNNING])) >= 1, what="a run to start")

    _outage(store_url, postgres_server, 6.0)

    for run in runs:
        record = wait_for_state(store, run.id, [S.COMPLETED, S.CRASHED, S.FAILED], timeout=90)
        assert record.state is S.COMPLETED, record.state_message
        assert states_of(store, run.id).count(S.RUNNING) == 1
    assert sorted(run_ids_in(target)) == sorted(run.id for run in runs), agent.output
    assert agent.process.poll() is None, agent.output  # still running
    if postgres_server is not None:  # SQLite callers wait on the lock (busy timeout) instead
        assert "unreachable" in agent.output
        assert "reachable again" in agent.output
    agent.stop()


def test_a_live_agent_keeps_its_runs(
    store: Store, agents: Agents, project: Path, tmp_path: Path
) -> None:
    """Heartbeats: a run longer than the staleness window is not taken from its agent."""
    marker = tmp_path / "started"
    apply(store, "sleeper", project, parameters={"seconds": 3, "marker": str(marker)})
    run = store.create_flow_run("sleeper")
    owner = agents.start(*FAST_HEARTBEAT)
    wait_for(marker.exists, what="the flow to start")
    other = agents.start(*FAST_HEARTBEAT)  # looks for orphans every 0.5 s

    record = wait_for_state(store, run.id, [S.COMPLETED, S.CRASHED, S.FAILED])
    owner.stop()
    other.stop()

    assert record.state is S.COMPLETED, record.state_message
    owners = {state.agent_id for state in store.state_history(run.id)[1:]}
    assert owners == {record.agent_id}
    assert "re-attached" not in other.output


@pytest.mark.slow
def test_two_agents_through_an_outage_submit_each_run_once(
    store: Store, agents: Agents, store_url: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    postgres_server = (
        request.getfixturevalue("postgres_server") if store_url.startswith("postgres") else None
    )
    target = tmp_path / "out.jsonl"
    apply(store, "busy", tmp_path, infrastructure=appending_command(target, sleep=0.3))
    runs = {store.create_flow_run("busy").id for _ in range(40)}
    first = agents.start("--limit", "4")
    second = agents.start("--limit", "4")
    wait_for(lambda: len(run_ids_in(target)) >= 5, what="some runs to finish")

    _outage(store_url, postgres_server, 4.0)

    def all_final() -> bool:
        return not store.list_flow_runs(states=[S.SCHEDULED, S.PENDING, S.RUNNING], limit=1_000)

    wait_for(all_final, timeout=120, what="every run to finish")
    first.stop()
    second.stop()
    records = store.list_flow_runs(limit=1_000)
    assert {record.state for record in records} == {S.COMPLETED}
    assert sorted(run_ids_in(target)) == sorted(runs), first.output + second.output
