"""``shipway.task``: retries, timeouts, ``.submit()`` on the flow run's pool, ``.map()``,
and failures that fail the flow with the task's traceback."""

from __future__ import annotations

import threading
import time
import traceback
from typing import Any

import pytest

from shipway import flow, task, unmapped
from shipway.tasks import Task, TaskFuture


def test_a_task_call_runs_it_and_retries_until_it_works(capsys: pytest.CaptureFixture[str]) -> None:
    calls: list[int] = []

    @task(retries=3, retry_delay_seconds=[0.01, 0.02])
    def flaky(x: int) -> int:
        calls.append(x)
        if len(calls) < 3:
            raise ConnectionError(f"try {len(calls)}")
        return x * 2

    assert flaky(21) == 42
    assert calls == [21, 21, 21]
    err = capsys.readouterr().err
    assert "Task 'flaky' failed (attempt 1 of 4): ConnectionError: try 1; retrying in 0.01 s" in err
    assert "Task 'flaky' failed (attempt 2 of 4): ConnectionError: try 2; retrying in 0.02 s" in err


def test_the_last_failure_is_raised_and_logged_with_its_traceback(
    capsys: pytest.CaptureFixture[str],
) -> None:
    @task(retries=1)
    def broken() -> None:
        raise ValueError("still broken")

    with pytest.raises(ValueError, match="still broken"):
        broken()
    err = capsys.readouterr().err
    assert "| ERROR   | broken | Task 'broken' failed: ValueError: still broken" in err
    assert 'raise ValueError("still broken")' in err  # the task's own line, in its traceback


def test_submitted_tasks_run_in_parallel() -> None:
    @task
    def one_second(i: int) -> int:
        time.sleep(1)
        return i

    @flow
    def parallel() -> list[int]:
        futures = [one_second.submit(1), one_second.submit(2)]
        return [f.result() for f in futures]

    started = time.monotonic()
    assert parallel() == [1, 2]
    assert time.monotonic() - started < 1.6


def test_map_keeps_the_order_of_the_items() -> None:
    @task
    def later_for_smaller(i: int, offset: int) -> int:
        time.sleep(0.05 * (5 - i))  # the first items finish last
        return i + offset

    @flow
    def mapped() -> list[int]:
        return [f.result() for f in later_for_smaller.map(range(5), unmapped(100))]

    assert mapped() == [100, 101, 102, 103, 104]


def test_map_walks_iterables_in_step_and_refuses_uneven_ones() -> None:
    @task
    def add(a: int, b: int) -> int:
        return a + b

    assert [f.result() for f in add.map([1, 2], b=[10, 20])] == [11, 22]
    with pytest.raises(ValueError, match=r"differ in length \(argument 1: 2, b: 3\)"):
        add.map([1, 2], b=[1, 2, 3])


def test_a_future_passed_to_a_task_stands_for_its_result() -> None:
    @task
    def double(x: int) -> int:
        return 2 * x

    @flow
    def chained() -> int:
        first = double.submit(2)
        return int(double.submit(first).result())

    assert chained() == 8


def test_a_failing_task_fails_the_flow_with_the_tasks_traceback() -> None:
    @task
    def explode(n: int) -> None:
        raise RuntimeError(f"task exploded on {n}")

    @flow
    def calls_it() -> None:
        explode.submit(3).result()

    with pytest.raises(RuntimeError, match="task exploded on 3") as caught:
        calls_it()
    frames = [frame.name for frame in traceback.extract_tb(caught.value.__traceback__)]
    assert "explode" in frames


def test_a_failure_nobody_asked_about_fails_the_flow_when_it_returns() -> None:
    @task
    def explode() -> None:
        raise KeyError("unobserved")

    @flow
    def forgets() -> str:
        explode.submit()
        return "returned"

    with pytest.raises(KeyError, match="unobserved"):
        forgets()


def test_result_can_return_the_exception_instead() -> None:
    @task
    def explode() -> None:
        raise KeyError("returned, not raised")

    @flow
    def looks() -> Any:
        return explode.submit().result(raise_on_failure=False)

    assert isinstance(looks(), KeyError)


def test_wait_waits_without_raising() -> None:
    @task
    def explode() -> None:
        time.sleep(0.05)
        raise KeyError("x")

    future = explode.submit()
    assert isinstance(future, TaskFuture)
    future.wait()
    assert future.done()
    assert isinstance(future.exception(), KeyError)


def test_a_task_past_its_timeout_raises_timeout_error() -> None:
    @task(timeout_seconds=0.2)
    def hangs() -> None:
        time.sleep(5)

    started = time.monotonic()
    with pytest.raises(TimeoutError, match=r"task 'hangs' timed out after 0.2 s"):
        hangs()
    assert time.monotonic() - started < 2


def test_the_pool_is_bounded_per_flow_run(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHIPWAY_TASK_WORKERS", "2")
    running: list[int] = []
    most = [0]
    lock = threading.Lock()

    @task
    def counted() -> None:
        with lock:
            running.append(1)
            most[0] = max(most[0], len(running))
        time.sleep(0.1)
        with lock:
            running.pop()

    @flow
    def many() -> None:
        for future in [counted.submit() for _ in range(6)]:
            future.result()

    many()
    assert most[0] == 2


def test_async_tasks_are_awaited_with_their_retries() -> None:
    import asyncio

    calls: list[int] = []

    @task(retries=1)
    async def flaky() -> str:
        calls.append(1)
        if len(calls) == 1:
            raise OSError("first")
        return "ok"

    assert asyncio.run(flaky()) == "ok"
    assert flaky.submit().result() == "ok"


def test_with_options_copies_the_task() -> None:
    @task(name="fetch")
    def fetch() -> None: ...

    copy = fetch.with_options(retries=4)
    assert isinstance(copy, Task)
    assert (copy.name, copy.retries, fetch.retries) == ("fetch", 4, 0)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"cache_key_fn": len}, "cache_key_fn= is not supported \\(shipway does not cache"),
        ({"persist_result": True}, "persist_result= is not supported \\(shipway keeps no return"),
        ({"colour": "red"}, "colour= is not supported \\(@task takes name, description"),
    ],
)
def test_an_unsupported_option_is_an_error_naming_it(options: dict[str, Any], message: str) -> None:
    with pytest.raises(TypeError, match=message):
        task(**options)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"retries": -1}, "retries must be a whole number >= 0"),
        ({"retry_delay_seconds": "soon"}, "retry_delay_seconds must be seconds"),
        ({"timeout_seconds": 0}, "timeout_seconds must be seconds > 0"),
    ],
)
def test_bad_option_values_fail_where_they_are_written(
    options: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):

        @task(**options)
        def t() -> None: ...
