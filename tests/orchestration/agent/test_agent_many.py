"""Several agents on one queue: every run is submitted exactly once; schedules
create each run once."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest

from _agent_helpers import Agents, appending_command, apply, run_ids_in, wait_for
from shipway.schedules import IntervalSchedule
from shipway.states import StateType
from shipway.store import Store

S = StateType


@pytest.mark.slow
@pytest.mark.parametrize("agent_count", [2, 4])
def test_each_run_is_submitted_exactly_once(
    store: Store, agents: Agents, tmp_path: Path, agent_count: int
) -> None:
    target = tmp_path / "out.jsonl"
    apply(store, "trivial", tmp_path, infrastructure=appending_command(target))
    runs = {store.create_flow_run("trivial").id for _ in range(200)}

    started = [agents.start("--limit", "4") for _ in range(agent_count)]

    def all_final() -> bool:
        return not store.list_flow_runs(states=[S.SCHEDULED, S.PENDING, S.RUNNING], limit=1_000)

    wait_for(all_final, timeout=240, what="every run to finish")
    for agent in started:
        agent.stop()

    records = store.list_flow_runs(limit=1_000)
    assert {record.id for record in records} == runs
    assert Counter(record.state for record in records) == {S.COMPLETED: 200}
    written = Counter(run_ids_in(target))
    assert set(written) == runs
    assert set(written.values()) == {1}
    for run_id in list(runs)[:50]:
        history = [state.type for state in store.state_history(run_id)]
        assert history == [S.SCHEDULED, S.PENDING, S.RUNNING, S.COMPLETED]
    claimed_by = Counter(record.agent_id for record in records)
    assert len(claimed_by) >= 2, claimed_by  # the work was shared


def test_a_schedule_creates_each_run_once_with_two_agents(
    store: Store, agents: Agents, tmp_path: Path
) -> None:
    target = tmp_path / "out.jsonl"
    apply(
        store,
        "every-second",
        tmp_path,
        infrastructure=appending_command(target),
        schedule=IntervalSchedule(interval=timedelta(seconds=1)),
    )

    first = agents.start()
    second = agents.start()
    wait_for(
        lambda: len(store.list_flow_runs(states=[S.COMPLETED], limit=1_000)) >= 4,
        timeout=60,
        what="four scheduled runs to complete",
    )
    first.stop()
    second.stop()

    records = store.list_flow_runs(deployment="every-second", limit=1_000)
    times = Counter(record.scheduled_time for record in records)
    assert set(times.values()) == {1}, times
    completed = [r.id for r in records if r.state is S.COMPLETED]
    written = Counter(run_ids_in(target))
    assert all(written[run_id] == 1 for run_id in completed)
    assert set(written.values()) == {1}
