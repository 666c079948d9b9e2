"""An agent killed with SIGKILL: its runs are followed again by the next agent, or
marked Crashed naming it, and can still be cancelled. Nothing is run twice."""

from __future__ import annotations

import signal
from pathlib import Path

from _agent_helpers import Agents, apply, log_text, states_of, wait_for, wait_for_state
from shipway.states import StateType
from shipway.store import Store

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


def _group_alive(pgid: int) -> bool:
    import os

    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True
