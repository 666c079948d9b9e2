"""State changes with their history, compare-and-set conflicts, logs and cancellation."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from _store_helpers import spec, utc
from shipway.states import StateType
from shipway.store import FlowRunNotFound, LogLine, Retry, StateChange, StateConflict, Store

S = StateType


def _claimed(store: Store) -> tuple[str, str]:
    store.apply_deployment(spec())
    run = store.create_flow_run("hello")
    agent = store.register_agent("a", [], None)
    (claimed,) = store.claim_runs(agent.id, [], 1)
    assert claimed.id == run.id
    return run.id, agent.id


def test_a_full_life_with_history(store: Store) -> None:
    run_id, agent_id = _claimed(store)
    running = store.set_state(
        run_id, StateChange(S.RUNNING, identifier="host:42"), expected=[S.PENDING]
    )
    assert running.start_time is not None and running.identifier == "host:42"
    done = store.set_state(
        run_id, StateChange(S.COMPLETED, "ok", exit_code=0), expected=[S.RUNNING]
    )
    assert done.end_time is not None and done.exit_code == 0
    assert done.agent_id == agent_id
    history = store.state_history(run_id[:6])
    assert [h.type for h in history] == [S.SCHEDULED, S.PENDING, S.RUNNING, S.COMPLETED]
    assert [h.agent_id for h in history] == [None, agent_id, agent_id, agent_id]
    assert [h.identifier for h in history] == [None, None, "host:42", "host:42"]
    assert history[-1].message == "ok"
    stamps = [h.timestamp for h in history]
    assert stamps == sorted(stamps) and all(s.tzinfo is timezone.utc for s in stamps)


def test_expected_state_is_compare_and_set(store: Store) -> None:
    run_id, _ = _claimed(store)
    store.request_cancellation(run_id)
    with pytest.raises(StateConflict, match="is Cancelling, not Pending"):
        store.set_state(run_id, StateChange(S.RUNNING), expected=[S.PENDING])
    assert store.get_flow_run(run_id).state is S.CANCELLING
    assert len(store.state_history(run_id)) == 3  # the refused change left no trace


def test_retry_starts_a_new_attempt(store: Store) -> None:
    run_id, _ = _claimed(store)
    store.set_state(run_id, StateChange(S.RUNNING, identifier="host:1"))
    store.set_state(run_id, StateChange(S.FAILED, "boom", exit_code=1))
    later = datetime.now(timezone.utc) + timedelta(seconds=30)
    retry = store.set_state(
        run_id,
        StateChange(
            S.SCHEDULED, "retry 2 of 3", scheduled_time=later, next_attempt=True, agent_id=None
        ),
    )
    assert (retry.attempt, retry.identifier, retry.exit_code) == (2, None, None)
    assert retry.scheduled_time == later and retry.agent_id is None
    assert retry.start_time is None and retry.end_time is None
    assert [h.attempt for h in store.state_history(run_id)] == [1, 1, 1, 1, 2]


def test_a_failure_and_its_retry_are_one_write(store: Store) -> None:
    """Whoever watches the run never sees it Failed while its next attempt is coming."""
    run_id, agent_id = _claimed(store)
    store.set_state(run_id, StateChange(S.RUNNING, identifier="host:1"))
    later = datetime.now(timezone.utc) + timedelta(seconds=30)
    retry = store.set_state(
        run_id,
        StateChange(S.FAILED, "boom", exit_code=1, retry=Retry(later, "retry: attempt 2 of 2")),
        expected=[S.RUNNING],
    )  # fmt: skip
    assert (retry.state, retry.attempt, retry.agent_id) == (S.SCHEDULED, 2, None)
    assert (retry.identifier, retry.exit_code, retry.end_time) == (None, None, None)
    assert retry.scheduled_time == later
    history = store.state_history(run_id)
    assert [(h.type, h.attempt) for h in history[-2:]] == [(S.FAILED, 1), (S.SCHEDULED, 2)]
    assert (history[-2].message, history[-2].agent_id) == ("boom", agent_id)
    assert history[-1].message == "retry: attempt 2 of 2"
    with pytest.raises(ValueError, match="only a Failed or Crashed run"):
        store.set_state(run_id, StateChange(S.COMPLETED, retry=Retry(later)))


def test_a_run_whose_cancellation_was_asked_is_not_retried(store: Store) -> None:
    run_id, _ = _claimed(store)
    store.set_state(run_id, StateChange(S.RUNNING, identifier="host:1"))
    store.request_cancellation(run_id)
    later = datetime.now(timezone.utc) + timedelta(seconds=30)
    failed = store.set_state(run_id, StateChange(S.FAILED, "boom", exit_code=1, retry=Retry(later)))
    assert (failed.state, failed.attempt) == (S.FAILED, 1)
    assert store.state_history(run_id)[-1].type is S.FAILED


def test_unknown_run(store: Store) -> None:
    with pytest.raises(FlowRunNotFound):
        store.set_state("0000000-0000", StateChange(S.RUNNING))
    with pytest.raises(FlowRunNotFound):
        store.append_logs("0000000-0000", [LogLine(utc(2026, 1, 1), "stdout", "x")])


def test_logs_keep_order_and_follow_with_after(store: Store) -> None:
    run_id, _ = _claimed(store)
    stamp = utc(2026, 1, 1)
    store.append_logs(run_id, [LogLine(stamp, "stdout", f"line {i}") for i in range(3)])
    store.append_logs(run_id, [])
    store.append_logs(run_id, [LogLine(stamp, "stderr", "oops", attempt=2)])
    lines = store.read_logs(run_id)
    assert [(line.seq, line.text) for line in lines] == [
        (1, "line 0"), (2, "line 1"), (3, "line 2"), (4, "oops"),
    ]  # fmt: skip
    assert lines[-1].stream == "stderr" and lines[-1].attempt == 2
    assert lines[0].timestamp == stamp
    assert [line.seq for line in store.read_logs(run_id, after=2)] == [3, 4]
    assert [line.seq for line in store.read_logs(run_id, after=1, limit=2)] == [2, 3]
    assert store.read_logs(run_id, after=4) == []


def test_logs_from_threads_get_distinct_sequence_numbers(store: Store) -> None:
    from concurrent.futures import ThreadPoolExecutor

    run_id, _ = _claimed(store)
    stamp = utc(2026, 1, 1)

    def write(batch: int) -> None:
        store.append_logs(run_id, [LogLine(stamp, "stdout", f"{batch}.{i}") for i in range(5)])

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(write, range(20)))
    lines = store.read_logs(run_id)
    assert [line.seq for line in lines] == list(range(1, 101))
    for batch in range(20):  # each batch stays contiguous
        seqs = [line.seq for line in lines if line.text.startswith(f"{batch}.")]
        assert seqs == list(range(seqs[0], seqs[0] + 5))


def test_cancelling_a_scheduled_run_cancels_it_at_once(store: Store) -> None:
    store.apply_deployment(spec())
    run = store.create_flow_run("hello", scheduled_time=utc(2030, 1, 1))
    cancelled = store.request_cancellation(run.id[:8])
    assert cancelled.state is S.CANCELLED and cancelled.end_time is not None
    agent = store.register_agent("a", [], None)
    assert store.claim_runs(agent.id, [], 5, now=utc(2031, 1, 1)) == []


@pytest.mark.parametrize("state", [S.PENDING, S.RUNNING])
def test_cancelling_a_claimed_run_asks_its_agent(store: Store, state: StateType) -> None:
    run_id, agent_id = _claimed(store)
    if state is S.RUNNING:
        store.set_state(run_id, StateChange(S.RUNNING, identifier="host:7"))
    cancelling = store.request_cancellation(run_id)
    assert cancelling.state is S.CANCELLING and cancelling.agent_id == agent_id
    assert store.request_cancellation(run_id).state is S.CANCELLING  # asking twice is fine
    assert [r.id for r in store.runs_of_agent(agent_id, [S.CANCELLING])] == [run_id]
    store.set_state(run_id, StateChange(S.CANCELLED, "killed"), expected=[S.CANCELLING])


def test_cancellation_is_a_state_change_in_the_history(store: Store) -> None:
    """request_cancellation moves the run like every other change: a history line with
    the run's attempt, owner and identifier."""
    run_id, agent_id = _claimed(store)
    store.set_state(run_id, StateChange(S.RUNNING, identifier="host:7"))
    store.request_cancellation(run_id)
    store.request_cancellation(run_id)  # already Cancelling: no second line
    *_, running, cancelling = store.state_history(run_id)
    assert (cancelling.type, cancelling.message) == (S.CANCELLING, "cancellation requested")
    assert (cancelling.attempt, cancelling.agent_id, cancelling.identifier) == (
        1, agent_id, "host:7",
    )  # fmt: skip
    assert cancelling.timestamp >= running.timestamp
    record = store.get_flow_run(run_id)
    assert (record.state_message, record.end_time) == ("cancellation requested", None)

    store.apply_deployment(spec("later"))
    waiting = store.create_flow_run("later", scheduled_time=utc(2030, 1, 1))
    cancelled = store.request_cancellation(waiting.id)
    assert cancelled.state_message == "cancelled before it started"
    history = store.state_history(waiting.id)
    assert [(h.type, h.message) for h in history] == [
        (S.SCHEDULED, ""), (S.CANCELLED, "cancelled before it started"),
    ]  # fmt: skip
    assert (history[-1].attempt, history[-1].agent_id, history[-1].identifier) == (1, None, None)
    assert cancelled.end_time == history[-1].timestamp


@pytest.mark.parametrize("final", [S.COMPLETED, S.FAILED, S.CRASHED, S.CANCELLED])
def test_a_final_run_cannot_be_cancelled(store: Store, final: StateType) -> None:
    run_id, _ = _claimed(store)
    store.set_state(run_id, StateChange(final))
    with pytest.raises(StateConflict, match=f"already {final.value}"):
        store.request_cancellation(run_id)
