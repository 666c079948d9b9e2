"""The database goes away (a PostgreSQL server stopped, or a SQLite file locked by
another process) while agents run: nothing is lost or run twice, and the same Store
works again once the database is back."""

from __future__ import annotations

from pathlib import Path

import pytest
from _faults import outage

from _agent_helpers import (
    Agents,
    appending_command,
    apply,
    run_ids_in,
    states_of,
    wait_for,
    wait_for_state,
)
from _postgres import PostgresServer
from _store_helpers import spec
from shipway.states import StateType
from shipway.store import Store, StoreUnavailable, open_store

S = StateType


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

    outage(store_url, postgres_server, 6.0)

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

    outage(store_url, postgres_server, 4.0)

    def all_final() -> bool:
        return not store.list_flow_runs(states=[S.SCHEDULED, S.PENDING, S.RUNNING], limit=1_000)

    wait_for(all_final, timeout=120, what="every run to finish")
    first.stop()
    second.stop()
    records = store.list_flow_runs(limit=1_000)
    assert {record.state for record in records} == {S.COMPLETED}
    assert sorted(run_ids_in(target)) == sorted(runs), first.output + second.output


def test_postgres_stopped_and_back(postgres_server: PostgresServer) -> None:
    if not postgres_server.can_restart:
        pytest.skip("the server comes from SHIPWAY_TEST_POSTGRES_URL and cannot be stopped")
    url = postgres_server.create_database()
    store = open_store(url)
    try:
        store.apply_deployment(spec())
        postgres_server.stop()
        with pytest.raises(StoreUnavailable, match=r"cannot be reached|lost") as caught:
            store.create_flow_run("hello")
        assert caught.value.exit_code == 3
        with pytest.raises(StoreUnavailable):
            open_store(url)
        postgres_server.start()
        run = store.create_flow_run("hello")
        assert store.get_flow_run(run.id).id == run.id
    finally:
        store.close()
