"""claim_runs hands each due run to exactly one agent, oldest first, within the work
queues' limits, whatever the number of threads and processes claiming at once."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

import pytest

from _store_helpers import spec, utc
from shipway.states import StateType
from shipway.store import StateChange, Store

S = StateType


def _runs(store: Store, count: int, deployment: str = "hello") -> list[str]:
    return [store.create_flow_run(deployment).id for _ in range(count)]


def _assert_claimed_once(store: Store, claimed: list[str], expected: list[str]) -> None:
    duplicates = [run for run, n in Counter(claimed).items() if n > 1]
    assert duplicates == []
    assert sorted(claimed) == sorted(expected)
    for run_id in expected[:20]:
        pending = [h for h in store.state_history(run_id) if h.type is S.PENDING]
        assert len(pending) == 1


def test_only_due_runs_of_the_queues_oldest_first(store: Store) -> None:
    store.apply_deployment(spec("a", work_queue="q1"))
    store.apply_deployment(spec("b", work_queue="q2"))
    now = datetime.now(timezone.utc)
    late = store.create_flow_run("a", scheduled_time=now - timedelta(minutes=5))
    due = store.create_flow_run("a")
    future = store.create_flow_run("a", scheduled_time=now + timedelta(hours=1))
    elsewhere = store.create_flow_run("b")
    agent = store.register_agent("x", ["q1"], None)
    claimed = store.claim_runs(agent.id, ["q1"], 10)
    assert [r.id for r in claimed] == [late.id, due.id]
    assert all(r.state is S.PENDING and r.agent_id == agent.id for r in claimed)
    assert store.get_flow_run(future.id).state is S.SCHEDULED
    assert store.get_flow_run(elsewhere.id).state is S.SCHEDULED
    later = store.claim_runs(agent.id, [], 10, now=now + timedelta(hours=2))
    assert {r.id for r in later} == {future.id, elsewhere.id}


def test_limit_caps_one_claim(store: Store) -> None:
    store.apply_deployment(spec())
    _runs(store, 5)
    agent = store.register_agent("x", [], None)
    assert len(store.claim_runs(agent.id, [], 2)) == 2
    assert len(store.claim_runs(agent.id, [], 0)) == 0
    assert len(store.claim_runs(agent.id, [], 10)) == 3


def test_work_queue_limit(store: Store) -> None:
    store.apply_deployment(spec("limited", work_queue="small"))
    store.apply_deployment(spec("free", work_queue="big"))
    store.set_work_queue_limit("small", 2)
    limited = _runs(store, 4, "limited")
    free = _runs(store, 3, "free")
    agent = store.register_agent("x", [], None)
    first = store.claim_runs(agent.id, [], 10)
    assert {r.id for r in first} == {*limited[:2], *free}
    assert store.claim_runs(agent.id, [], 10) == []
    store.set_state(limited[0], StateChange(S.RUNNING))
    assert store.claim_runs(agent.id, [], 10) == []  # Running still holds its slot
    store.set_state(limited[0], StateChange(S.COMPLETED))
    assert [r.id for r in store.claim_runs(agent.id, [], 10)] == [limited[2]]
    store.set_work_queue_limit("small", None)
    assert [r.id for r in store.claim_runs(agent.id, [], 10)] == [limited[3]]
    (small,) = [q for q in store.list_work_queues() if q.name == "small"]
    assert (small.concurrency_limit, small.active_runs) == (None, 3)


def test_queue_limit_zero_pauses_the_queue(store: Store) -> None:
    store.apply_deployment(spec())
    _runs(store, 2)
    store.set_work_queue_limit("default", 0)
    agent = store.register_agent("x", [], None)
    assert store.claim_runs(agent.id, ["default"], 5) == []


def test_threads_never_claim_a_run_twice(store: Store) -> None:
    store.apply_deployment(spec())
    expected = _runs(store, 120)
    agents = [store.register_agent(f"t{i}", [], None).id for i in range(6)]

    def hammer(agent_id: str) -> list[str]:
        mine: list[str] = []
        while batch := store.claim_runs(agent_id, [], 3):
            mine += [r.id for r in batch]
        return mine

    with ThreadPoolExecutor(len(agents)) as pool:
        claimed = [run for result in pool.map(hammer, agents) for run in result]
    _assert_claimed_once(store, claimed, expected)


def test_threads_respect_a_queue_limit(store: Store) -> None:
    store.apply_deployment(spec())
    store.set_work_queue_limit("default", 5)
    _runs(store, 30)
    agents = [store.register_agent(f"t{i}", [], None).id for i in range(4)]

    def hammer(agent_id: str) -> int:
        return len(store.claim_runs(agent_id, ["default"], 4))

    with ThreadPoolExecutor(len(agents)) as pool:
        assert sum(pool.map(hammer, agents)) == 5
    assert len(store.list_flow_runs(states=[S.PENDING])) == 5


_CLAIMER = textwrap.dedent(
    """
    import json, sys
    from shipway.store import open_store
    store = open_store(sys.argv[1])
    agent = store.register_agent(sys.argv[2], [], None)
    sys.stdout.write("ready\\n"); sys.stdout.flush()
    sys.stdin.readline()
    mine = []
    while True:
        batch = store.claim_runs(agent.id, ["default"], int(sys.argv[3]))
        if not batch:
            break
        mine += [r.id for r in batch]
    print(json.dumps(mine))
    """
)


def _hammer_with_processes(store_url: str, processes: int, batch: int) -> list[str]:
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _CLAIMER, store_url, f"p{i}", str(batch)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(processes)
    ]
    for proc in procs:  # start claiming together, once every interpreter is up
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready", proc.stderr
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.flush()
    claimed: list[str] = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        claimed += json.loads(out.strip().splitlines()[-1])
    return claimed


@pytest.mark.slow
def test_processes_never_claim_a_run_twice(store: Store, store_url: str) -> None:
    store.apply_deployment(spec())
    expected = _runs(store, 200)
    claimed = _hammer_with_processes(store_url, processes=4, batch=2)
    _assert_claimed_once(store, claimed, expected)


@pytest.mark.slow
def test_processes_respect_a_queue_limit(store: Store, store_url: str) -> None:
    store.apply_deployment(spec())
    store.set_work_queue_limit("default", 7)
    _runs(store, 40)
    claimed = _hammer_with_processes(store_url, processes=4, batch=3)
    assert len(claimed) == len(set(claimed)) == 7


def test_claims_by_time(store: Store) -> None:
    store.apply_deployment(spec())
    run = store.create_flow_run("hello", scheduled_time=utc(2030, 1, 1, 12))
    agent = store.register_agent("x", [], None)
    assert store.claim_runs(agent.id, [], 1, now=utc(2030, 1, 1, 11, 59)) == []
    assert [r.id for r in store.claim_runs(agent.id, [], 1, now=utc(2030, 1, 1, 12))] == [run.id]


def test_claims_only_the_infrastructure_types_asked_for(store: Store) -> None:
    """Issue 15, item 6: an agent without a deployment's plugin claimed its runs and failed
    them; it asks only for the types it can resolve."""
    store.apply_deployment(spec("local"))
    store.apply_deployment(spec("boxed", infrastructure={"type": "docker-container"}))
    local = store.create_flow_run("local")
    boxed = store.create_flow_run("boxed")
    agent = store.register_agent("no-docker", [], None, ["process", "kubernetes-job"])
    assert agent.infrastructure_types == ("process", "kubernetes-job")
    claimed = store.claim_runs(agent.id, [], 10, infrastructure_types=["process", "kubernetes-job"])
    assert [r.id for r in claimed] == [local.id]
    assert store.claim_runs(agent.id, [], 10, infrastructure_types=[]) == []
    assert store.get_flow_run(boxed.id).state is S.SCHEDULED
    anything = store.register_agent("older", [], None)
    assert anything.infrastructure_types is None
    assert [r.id for r in store.claim_runs(anything.id, [], 10)] == [boxed.id]
