"""Agents: registration, heartbeats, orphaned runs and their adoption (compare-and-set)."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest

from _store_helpers import spec
from shipway.states import StateType
from shipway.store import StateChange, StateConflict, Store

S = StateType


def _run_owned_by(store: Store, agent_id: str, queue: str = "default") -> str:
    run = store.create_flow_run(f"dep-{queue}")
    (claimed,) = store.claim_runs(agent_id, [queue], 1)
    assert claimed.id == run.id
    return run.id


def test_register_heartbeat_deregister(store: Store) -> None:
    agent = store.register_agent("worker-1", ["default", "gpu"], 4)
    assert agent.queues == ("default", "gpu") and agent.limit == 4 and agent.stopped is None
    time.sleep(0.01)
    store.heartbeat(agent.id)
    (listed,) = store.list_agents()
    assert listed.last_heartbeat > agent.last_heartbeat
    store.deregister_agent(agent.id)
    assert store.list_agents()[0].stopped is not None
    found = store.get_agent(agent.id)
    assert found is not None and found.name == "worker-1" and found.stopped is not None
    assert store.get_agent("no-such-agent") is None
    assert {q.name for q in store.list_work_queues()} >= {"default", "gpu"}


def test_orphans_are_runs_of_silent_stopped_or_unknown_agents(store: Store) -> None:
    for queue in ("default", "other"):
        store.apply_deployment(spec(f"dep-{queue}", work_queue=queue))
    alive = store.register_agent("alive", [], None)
    silent = store.register_agent("silent", [], None)
    stopped = store.register_agent("stopped", [], None)
    alive_run = _run_owned_by(store, alive.id)
    silent_run = _run_owned_by(store, silent.id)
    stopped_run = _run_owned_by(store, stopped.id)
    other_queue_run = _run_owned_by(store, silent.id, "other")
    store.set_state(silent_run, StateChange(S.RUNNING, identifier="h:1"))
    finished = _run_owned_by(store, silent.id)
    store.set_state(finished, StateChange(S.COMPLETED))
    store.deregister_agent(stopped.id)
    # Silent for 1.2 s while the staleness window is 0.6 s, and the live agent's heartbeat
    # 0.6 s younger than that: room for a slow query on a loaded machine either way.
    time.sleep(1.2)
    store.heartbeat(alive.id)
    orphans = store.orphaned_runs(stale_after=timedelta(seconds=0.6), queues=["default"])
    assert {r.id for r in orphans} == {silent_run, stopped_run}
    everywhere = store.orphaned_runs(stale_after=timedelta(seconds=0.6), queues=[])
    assert {r.id for r in everywhere} == {silent_run, stopped_run, other_queue_run}
    assert alive_run not in {r.id for r in everywhere}
    assert store.orphaned_runs(stale_after=timedelta(hours=1), queues=[]) == [
        store.get_flow_run(stopped_run)
    ]


def test_adopt_is_compare_and_set(store: Store) -> None:
    store.apply_deployment(spec("dep-default"))
    dead = store.register_agent("dead", [], None)
    first = store.register_agent("first", [], None)
    second = store.register_agent("second", [], None)
    run_id = _run_owned_by(store, dead.id)
    adopted = store.adopt_run(run_id, first.id, dead.id)
    assert adopted is not None and adopted.agent_id == first.id
    assert store.adopt_run(run_id, second.id, dead.id) is None
    assert store.get_flow_run(run_id).agent_id == first.id
    store.set_state(run_id, StateChange(S.CRASHED, "gone"))
    assert store.adopt_run(run_id, second.id, first.id) is None  # finished: nothing to adopt


def test_adopt_a_run_without_owner(store: Store) -> None:
    store.apply_deployment(spec("dep-default"))
    agent = store.register_agent("a", [], None)
    run_id = _run_owned_by(store, agent.id)
    store.set_state(run_id, StateChange(S.RUNNING, agent_id=None))
    assert store.adopt_run(run_id, agent.id, agent.id) is None
    adopted = store.adopt_run(run_id, agent.id, None)
    assert adopted is not None and adopted.agent_id == agent.id


def test_count_runs_by_agent_counts_the_runs_each_holds(store: Store) -> None:
    store.apply_deployment(spec("dep-default"))
    busy = store.register_agent("busy", [], None)
    idle = store.register_agent("idle", [], None)
    pending, running, cancelling, done = (_run_owned_by(store, busy.id) for _ in range(4))
    store.set_state(running, StateChange(S.RUNNING, identifier="h:1"))
    store.request_cancellation(cancelling)
    store.set_state(done, StateChange(S.COMPLETED))
    store.create_flow_run("dep-default")  # Scheduled: nobody holds it
    assert store.get_flow_run(pending).state is S.PENDING
    assert store.count_runs_by_agent() == {busy.id: 3}  # Pending, Running, Cancelling
    assert store.count_runs_by_agent([S.COMPLETED]) == {busy.id: 1}
    assert idle.id not in store.count_runs_by_agent([S.PENDING, S.COMPLETED])


def test_a_run_is_adopted_only_once_its_lease_has_expired(store: Store) -> None:
    """Issue 15, item 7: a stale heartbeat was enough to adopt a run (the agent's database
    may only have been away longer than three heartbeats). A lease must expire first."""
    store.apply_deployment(spec("dep-default"))
    silent = store.register_agent("silent", [], None)
    adopter = store.register_agent("adopter", [], None)
    store.create_flow_run("dep-default")
    (claimed,) = store.claim_runs(silent.id, [], 1, lease=timedelta(seconds=0.5))
    assert claimed.lease_expires is not None
    stale = timedelta(0)  # the silent agent counts as gone at once: only its lease holds

    assert store.orphaned_runs(stale_after=stale, queues=[]) == []
    assert store.adopt_run(claimed.id, adopter.id, silent.id, lease=timedelta(hours=1)) is None
    assert store.renew_leases(silent.id, timedelta(seconds=0.5)) == [claimed.id]
    time.sleep(0.6)  # the lease's end is a moment in the past now, whatever the machine's load

    assert [r.id for r in store.orphaned_runs(stale_after=stale, queues=[])] == [claimed.id]
    adopted = store.adopt_run(claimed.id, adopter.id, silent.id, lease=timedelta(hours=1))
    assert adopted is not None and adopted.agent_id == adopter.id
    assert adopted.lease_expires is not None and adopted.lease_expires > claimed.lease_expires
    assert store.orphaned_runs(stale_after=stale, queues=[]) == []  # the adopter's lease holds
    assert store.renew_leases(silent.id, timedelta(hours=1)) == []  # not the silent one's now
    with pytest.raises(StateConflict, match=f"held by agent {adopter.id}"):
        store.set_state(claimed.id, StateChange(S.RUNNING, identifier="h:1"), owner=silent.id)
    store.set_state(claimed.id, StateChange(S.RUNNING, identifier="h:1"), owner=adopter.id)


def test_handing_back_and_deregistering_release_the_lease(store: Store) -> None:
    store.apply_deployment(spec("dep-default"))
    gone = store.register_agent("gone", [], None)
    holder = store.register_agent("holder", [], None)
    store.deregister_agent(gone.id)
    store.create_flow_run("dep-default")
    (run,) = store.claim_runs(holder.id, [], 1, lease=timedelta(hours=1))
    assert store.hand_back_run(run.id, holder.id, gone.id)
    assert not store.hand_back_run(run.id, holder.id, gone.id)  # not its own any more
    handed = store.get_flow_run(run.id)
    assert (handed.agent_id, handed.lease_expires) == (gone.id, None)
    assert [r.id for r in store.orphaned_runs(stale_after=timedelta(hours=1), queues=[])] == [
        run.id
    ]
    adopted = store.adopt_run(run.id, holder.id, gone.id, lease=timedelta(hours=1))
    assert adopted is not None
    store.deregister_agent(holder.id)  # it watches nothing now: adoptable at once
    assert store.get_flow_run(run.id).lease_expires is None
    assert [r.id for r in store.orphaned_runs(stale_after=timedelta(hours=1), queues=[])] == [
        run.id
    ]
