"""apply_deployment upserts; runs are created, listed and found by id prefix."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from _store_helpers import spec, utc
from shipway.schedules import CronSchedule, IntervalSchedule
from shipway.states import StateType
from shipway.store import FlowRunNotFound, Store, StoredDeploymentNotFound


def test_apply_creates_updates_and_leaves_unchanged(store: Store) -> None:
    created, outcome = store.apply_deployment(spec(tags=("a", "b"), version="1"))
    assert outcome == "created"
    assert created.id and created.created == created.updated
    same, outcome = store.apply_deployment(spec(tags=("a", "b"), version="1"))
    assert (outcome, same.id, same.updated) == ("unchanged", created.id, created.updated)
    changed, outcome = store.apply_deployment(spec(tags=("a",), version="2", retries=3))
    assert outcome == "updated"
    assert changed.id == created.id
    assert (changed.tags, changed.version, changed.retries) == (("a",), "2", 3)
    assert changed.infrastructure == {"type": "process", "env": {"TOKEN": "s3cret"}}
    assert changed.spec() == spec(tags=("a",), version="2", retries=3)


def test_schedules_round_trip(store: Store) -> None:
    cron = CronSchedule("0 * * * *", "Europe/Paris")
    every = IntervalSchedule(timedelta(minutes=90), anchor=utc(2026, 1, 1))
    store.apply_deployment(spec("cron", schedule=cron))
    store.apply_deployment(spec("every", schedule=every))
    assert store.get_deployment("cron").schedule == cron
    assert store.get_deployment("every").schedule == every


def test_unknown_deployment_lists_known_ones(store: Store) -> None:
    store.apply_deployment(spec("one"))
    store.apply_deployment(spec("two"))
    with pytest.raises(StoredDeploymentNotFound, match="Known deployments: one, two"):
        store.get_deployment("three")
    with pytest.raises(StoredDeploymentNotFound):
        store.create_flow_run("three")
    assert [d.name for d in store.list_deployments()] == ["one", "two"]


def test_create_run_merges_parameters(store: Store) -> None:
    store.apply_deployment(spec(retries=2, retry_delay_seconds=1.5, work_queue="gpu"))
    run = store.create_flow_run(
        "hello", parameters={"n": 3}, overrides={"env": {"X": "1"}}, scheduled_time=utc(2030, 1, 1)
    )
    assert run.state is StateType.SCHEDULED
    assert run.parameters == {"who": "world", "n": 3}
    assert run.overrides == {"env": {"X": "1"}}
    assert run.infrastructure["type"] == "process"
    assert (run.work_queue, run.retries, run.retry_delay_seconds) == ("gpu", 2, 1.5)
    assert run.scheduled_time == utc(2030, 1, 1)
    assert run.attempt == 1 and run.agent_id is None and not run.auto_scheduled
    assert store.get_flow_run(run.id) == run


def test_manual_runs_at_the_same_time_do_not_collide(store: Store) -> None:
    store.apply_deployment(spec())
    first = store.create_flow_run("hello", scheduled_time=utc(2030, 1, 1))
    second = store.create_flow_run("hello", scheduled_time=utc(2030, 1, 1))
    assert first.id != second.id


def test_get_by_prefix(store: Store) -> None:
    store.apply_deployment(spec())
    runs = [store.create_flow_run("hello") for _ in range(3)]
    for run in runs:
        assert store.get_flow_run(run.id[:8].upper()).id == run.id
    with pytest.raises(FlowRunNotFound, match="too short"):
        store.get_flow_run("abc")
    with pytest.raises(FlowRunNotFound, match="no flow run"):
        store.get_flow_run("ffffffff-nothing")


def test_list_filters_newest_first(store: Store) -> None:
    store.apply_deployment(spec("a"))
    store.apply_deployment(spec("b"))
    a1 = store.create_flow_run("a")
    b1 = store.create_flow_run("b")
    a2 = store.create_flow_run("a")
    store.request_cancellation(a2.id)
    assert [r.id for r in store.list_flow_runs()] == [a2.id, b1.id, a1.id]
    assert [r.id for r in store.list_flow_runs(deployment="a")] == [a2.id, a1.id]
    assert [r.id for r in store.list_flow_runs(states=[StateType.CANCELLED])] == [a2.id]
    assert len(store.list_flow_runs(limit=2)) == 2


def test_count_filters_like_list(store: Store) -> None:
    store.apply_deployment(spec("a"))
    store.apply_deployment(spec("b", work_queue="gpu"))
    for name in ("a", "a", "b"):
        store.create_flow_run(name)
    store.request_cancellation(store.create_flow_run("a").id)
    assert store.count_flow_runs() == 4
    assert store.count_flow_runs(deployment="a") == 3
    assert store.count_flow_runs(states=[StateType.SCHEDULED]) == 3
    assert store.count_flow_runs(states=[StateType.CANCELLED, StateType.PENDING]) == 1
    assert store.count_flow_runs(work_queue="gpu") == 1
    assert store.count_flow_runs(deployment="a", states=[StateType.SCHEDULED]) == 2
    assert store.count_flow_runs(deployment="a", work_queue="gpu") == 0
    assert store.count_flow_runs(deployment="nobody") == 0


def test_concurrent_applies_of_a_new_deployment(store: Store) -> None:
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(4) as pool:
        outcomes = list(pool.map(lambda _: store.apply_deployment(spec("race"))[1], range(8)))
    assert sorted(outcomes) == ["created"] + ["unchanged"] * 7
    assert [d.name for d in store.list_deployments()] == ["race"]


def test_names_longer_than_the_store_keeps_are_refused_up_front(store: Store) -> None:
    """Issue 15, item 3: a 201-character name failed on PostgreSQL with an unexpected
    DataError (and was kept on SQLite). Refused before the database with one message,
    wherever it comes in; 200 characters fit."""
    from shipway.errors import ConfigError
    from shipway.store import StoreError

    with pytest.raises(ConfigError, match=r"the deployment name is 201 characters long"):
        spec("d" * 201)
    with pytest.raises(ConfigError, match=r"the work queue of deployment 'q' is 201 char"):
        spec("q", work_queue="w" * 201)
    with pytest.raises(StoreError, match=r"the agent name is 201 characters long"):
        store.register_agent("a" * 201, [], 1)
    with pytest.raises(StoreError, match=r"the work queue name is 201 characters long"):
        store.register_agent("fine", ["w" * 201], 1)
    with pytest.raises(StoreError, match=r"the work queue name is 201 characters long"):
        store.set_work_queue_limit("w" * 201, 1)
    assert store.list_agents() == [] and store.list_work_queues() == []

    longest = spec("n" * 200, version="v" * 200, work_queue="w" * 200, flow_name="f" * 200)
    record, _ = store.apply_deployment(longest)
    assert record.spec() == longest
    assert store.create_flow_run("n" * 200).work_queue == "w" * 200
    assert store.register_agent("a" * 200, ["w" * 200], 1).name == "a" * 200


def test_apply_deployments_writes_all_in_one_go(store: Store) -> None:
    applied = store.apply_deployments([spec("one"), spec("two", work_queue="gpu"), spec("one")])
    assert [(record.name, outcome) for record, outcome in applied] == [
        ("one", "created"), ("two", "created"), ("one", "unchanged"),
    ]  # fmt: skip
    assert applied[0][0].id == applied[2][0].id
    assert {q.name for q in store.list_work_queues()} == {"default", "gpu"}


def test_list_is_newest_first_by_scheduled_time_then_creation(store: Store) -> None:
    """Issue 15, item 6: runs a schedule created ahead of time were listed by creation,
    below runs created after them but due long before."""
    store.apply_deployment(spec("a"))
    now = datetime.now(timezone.utc)
    ahead = store.create_flow_run("a", scheduled_time=now + timedelta(hours=1))
    due_now = store.create_flow_run("a")
    earlier = store.create_flow_run("a", scheduled_time=now - timedelta(hours=1))
    same_time = [store.create_flow_run("a", scheduled_time=now + timedelta(hours=2)) for _ in "ab"]
    listed = [r.id for r in store.list_flow_runs()]
    assert listed == [same_time[1].id, same_time[0].id, ahead.id, due_now.id, earlier.id]
