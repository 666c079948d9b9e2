"""Run leases: a run is adopted from an agent that went silent only once its lease has
expired, and an agent cut off from the store for longer than its lease stops writing the
state of a run another agent took over, and says so (issue 15, item 7)."""

from __future__ import annotations

import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
from _faults import CutOffStore

from _agent_helpers import Agents, apply, log_text, states_of, wait_for, wait_for_state
from shipway.agent import Agent, AgentSettings, RunEvent
from shipway.states import StateType
from shipway.store import Store

S = StateType
FAST_HEARTBEAT = ("--heartbeat-interval", "0.5")
FINAL = [S.COMPLETED, S.FAILED, S.CRASHED, S.CANCELLED]


def test_a_silent_agent_s_run_is_adopted_only_once_its_lease_expires(
    store: Store, agents: Agents, project: Path
) -> None:
    """The silent agent (played by the store calls it made) counts as gone after 1.5 s,
    but holds the run for 8 s: only then is it adopted (and Crashed: it may have started)."""
    apply(store, "hello", project)
    run = store.create_flow_run("hello")
    silent = store.register_agent("silent", [], 1)
    (claimed,) = store.claim_runs(silent.id, [], 1, lease=timedelta(seconds=8))
    assert claimed.lease_expires is not None

    agents.start(*FAST_HEARTBEAT)

    record = wait_for_state(store, run.id, FINAL)
    assert record.state is S.CRASHED, record.state_message
    assert "not submitted again" in record.state_message
    crashed = store.state_history(run.id)[-1]
    assert crashed.timestamp >= claimed.lease_expires, "adopted before the lease expired"


def _slow_python(directory: Path, seconds: float) -> Path:
    """An interpreter that takes ``seconds`` to start: a run that stays Pending a while."""
    path = directory / "slow-python"
    path.write_text(f'#!/bin/sh\nsleep {seconds}\nexec {sys.executable} "$@"\n')
    path.chmod(0o755)
    return path


def test_an_agent_cut_off_longer_than_its_lease_stops_writing_the_run(
    store: Store, store_url: str, agents: Agents, project: Path, tmp_path: Path
) -> None:
    """The run is starting (Pending) on agent A when A loses the store for longer than its
    lease; agent B adopts it and marks it Crashed (it may have started: not submitted
    again). When A reaches the store again its run has started: A does not record it
    Running (nor its end), and says it lost its lease, in its output and the run's logs."""
    marker = tmp_path / "started"
    apply(store, "sleeper", project, parameters={"seconds": 0, "marker": str(marker)},
          infrastructure={"type": "process", "python": str(_slow_python(tmp_path, 3))})  # fmt: skip
    run = store.create_flow_run("sleeper")
    events: list[RunEvent] = []
    notices: list[str] = []
    cut_off = CutOffStore(store_url)
    settings = AgentSettings(
        name="agent-a", poll_interval=0.2, heartbeat_interval=0.5, handle_signals=False
    )
    agent_a = Agent(cut_off, settings, on_event=events.append, on_notice=notices.append)

    def said_it_lost() -> bool:
        return any("lost its lease" in notice for notice in notices)

    async def in_thread(call: Any) -> Any:
        return await anyio.to_thread.run_sync(call)

    async def scenario() -> None:
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(agent_a.run)
            await in_thread(lambda: wait_for_state(store, run.id, [S.PENDING]))
            cut_off.cut.set()  # A's lease (1.5 s) is renewed no more
            agents.start(*FAST_HEARTBEAT)  # B
            crashed = await in_thread(lambda: wait_for_state(store, run.id, FINAL))
            assert crashed.state is S.CRASHED, crashed.state_message
            assert crashed.agent_id != agent_a.id
            cut_off.cut.clear()
            await in_thread(lambda: wait_for(marker.exists, what="A's run to start"))
            await in_thread(lambda: wait_for(said_it_lost, what="A to say it lost its lease"))
            agent_a.stop()

    try:
        anyio.run(scenario)
    finally:
        cut_off.close()

    assert states_of(store, run.id) == [S.SCHEDULED, S.PENDING, S.CRASHED]
    assert [e.state for e in events if e.run_id == run.id] == [S.PENDING]  # claimed, no more
    (said,) = [n for n in notices if "lost its lease" in n]
    assert run.id in said and "no longer records its state" in said
    assert "agent agent-a lost its lease on the run" in log_text(store, run.id)
