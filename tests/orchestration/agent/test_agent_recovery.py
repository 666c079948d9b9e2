"""Runs whose agent is gone (played here by the store calls it made) or that live out of
this agent's reach, and an agent that is alive keeping its runs. (Agents killed for real
and databases that go away: tests/reliability.)"""

from __future__ import annotations

from pathlib import Path

import pytest

from _agent_helpers import (
    Agents,
    apply,
    log_text,
    states_of,
    wait_for,
    wait_for_state,
)
from shipway.states import StateType
from shipway.store import StateChange, Store

S = StateType
FAST_HEARTBEAT = ("--heartbeat-interval", "0.5")


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

    def given_back() -> bool:  # the agent adopts it again (and gives it back) each cycle
        record = store.get_flow_run(run.id)
        return (record.state, record.agent_id) == (S.RUNNING, elsewhere.id)

    wait_for(given_back, what="the run to be given back to the agent that left it")
    record = wait_for_state(store, run.id, [S.COMPLETED, S.FAILED, S.CRASHED, S.CANCELLED])
    assert record.state is S.CRASHED
    assert "another-host" in record.state_message and "may still be running" in (
        record.state_message
    )
    assert record.attempt == 1 and record.agent_id != elsewhere.id
    assert agent.output.count("out of this agent's reach") == 1
    assert "follows the run again" not in log_text(store, run.id)


def test_a_live_agent_keeps_its_runs(
    store: Store, agents: Agents, project: Path, tmp_path: Path
) -> None:
    """Heartbeats and leases: a run longer than the staleness window and the lease is
    not taken from its agent. (The owner's lease, 3 s, leaves room for a heartbeat late
    by 2 s on a loaded machine; 0.5 s heartbeats left 1 s, and a late one could lose it.)"""
    marker = tmp_path / "started"
    apply(store, "sleeper", project, parameters={"seconds": 5, "marker": str(marker)})
    run = store.create_flow_run("sleeper")
    owner = agents.start("--heartbeat-interval", "1")
    wait_for(marker.exists, what="the flow to start")
    other = agents.start(*FAST_HEARTBEAT)  # looks for orphans every 0.5 s

    record = wait_for_state(store, run.id, [S.COMPLETED, S.CRASHED, S.FAILED])
    owner.stop()
    other.stop()

    assert record.state is S.COMPLETED, record.state_message
    owners = {state.agent_id for state in store.state_history(run.id)[1:]}
    assert owners == {record.agent_id}
    assert "re-attached" not in other.output
