"""An agent polling rarely still starts a new run, and stops a cancelled one, at once:
the store wakes it (``deployment run`` and ``flow-run cancel`` from other processes)."""

from __future__ import annotations

from pathlib import Path

from _agent_helpers import Agents, apply, wait_for, wait_for_state
from shipway.states import StateType
from shipway.store import Store

# Far longer than the waits below: a run that starts, or stops, did not wait for a poll.
POLL_SECONDS = "600"
WOKEN_WITHIN_SECONDS = 30.0


def test_a_new_run_and_a_cancellation_wake_a_rarely_polling_agent(
    store: Store, agents: Agents, project: Path, tmp_path: Path
) -> None:
    apply(store, "sleeper", project)
    agent = agents.start("--poll-interval", POLL_SECONDS)
    wait_for(lambda: "polling" in agent.output, what="the agent to start listening")

    marker = tmp_path / "started"
    run = store.create_flow_run("sleeper", parameters={"marker": str(marker)})
    wait_for(marker.exists, timeout=WOKEN_WITHIN_SECONDS, what="the run to start")

    store.request_cancellation(run.id)
    record = wait_for_state(store, run.id, [StateType.CANCELLED], timeout=WOKEN_WITHIN_SECONDS)
    assert record.state is StateType.CANCELLED
