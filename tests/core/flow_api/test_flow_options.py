"""The ``@flow`` options Prefect users pass: each does what it says, in-process and in the
engine; one shipway does not support is an error that says what to do."""

from __future__ import annotations

import sys
import threading
import time
from typing import Any

import pytest

from shipway import flow
from shipway.errors import ParameterError


def test_name_description_and_version() -> None:
    @flow(name="nightly-etl", description="Loads the night's files.", version="2.1")
    def etl() -> None:
        """The docstring."""

    assert (etl.name, etl.description, etl.version) == (
        "nightly-etl",
        "Loads the night's files.",
        "2.1",
    )


def test_retries_run_the_whole_flow_again(capsys: pytest.CaptureFixture[str]) -> None:
    attempts: list[int] = []

    @flow(retries=2, retry_delay_seconds=0.01)
    def flaky() -> str:
        attempts.append(1)
        if len(attempts) < 3:
            raise RuntimeError(f"attempt {len(attempts)} failed")
        return "done"

    assert flaky() == "done"
    assert len(attempts) == 3
    err = capsys.readouterr().err
    assert "Flow 'flaky' failed (attempt 2 of 3): RuntimeError: attempt 2 failed" in err


def test_without_retries_the_first_failure_is_final() -> None:
    attempts: list[int] = []

    @flow
    def fails() -> None:
        attempts.append(1)
        raise RuntimeError("once")

    with pytest.raises(RuntimeError):
        fails()
    assert attempts == [1]


def test_timeout_ends_the_flow_with_timeout_error() -> None:
    @flow(timeout_seconds=0.3)
    def hangs() -> None:
        time.sleep(5)

    started = time.monotonic()
    with pytest.raises(TimeoutError, match=r"flow 'hangs' timed out after 0.3 s"):
        hangs()
    assert time.monotonic() - started < 2


def test_timeout_outside_the_main_thread() -> None:
    @flow(timeout_seconds=0.3)
    def hangs() -> None:
        time.sleep(5)

    caught: list[BaseException] = []

    def call() -> None:
        try:
            hangs()
        except BaseException as exc:
            caught.append(exc)

    thread = threading.Thread(target=call)
    thread.start()
    thread.join(3)
    assert caught and isinstance(caught[0], TimeoutError)


def test_nested_timeouts_end_at_the_earliest() -> None:
    @flow(timeout_seconds=0.3)
    def inner() -> None:
        time.sleep(5)

    @flow(timeout_seconds=5)
    def outer() -> str:
        try:
            inner()
        except TimeoutError as exc:
            return str(exc)
        return "no timeout"

    assert outer() == "flow 'inner' timed out after 0.3 s (timeout_seconds)"


def test_async_flows_honour_retries_and_timeouts() -> None:
    import asyncio

    attempts: list[int] = []

    @flow(retries=1)
    async def flaky() -> str:
        attempts.append(1)
        if len(attempts) == 1:
            raise OSError("first")
        return "ok"

    @flow(timeout_seconds=0.2)
    async def hangs() -> None:
        await asyncio.sleep(5)

    assert asyncio.run(flaky()) == "ok"
    with pytest.raises(TimeoutError, match=r"timed out after 0\.2 s"):
        asyncio.run(hangs())


def test_log_prints_sends_print_to_the_run_logger(capsys: pytest.CaptureFixture[str]) -> None:
    @flow(log_prints=True)
    def chatty() -> None:
        print("to the log", 42)
        print("to stderr as it is", file=sys.stderr)

    @flow
    def quiet() -> None:
        print("plain")

    chatty()
    quiet()
    out, err = capsys.readouterr()
    assert "| INFO    | chatty | to the log 42" in err
    assert "to stderr as it is" in err
    assert out == "plain\n"


def test_validate_parameters_false_skips_coercion_not_names() -> None:
    def count(n: int) -> int:
        return n

    checked = flow(count)
    unchecked = flow(validate_parameters=False)(count)
    assert checked.validate_parameters({"n": "3"}) == {"n": 3}
    assert unchecked.validate_parameters({"n": "3"}) == {"n": "3"}
    with pytest.raises(ParameterError, match="unknown parameter 'm'"):
        unchecked.validate_parameters({"m": 1})


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            {"task_runner": object()},
            "task_runner= is not supported \\(submitted tasks run on a thread pool",
        ),
        (
            {"persist_result": True},
            "persist_result= is not supported \\(shipway keeps no return values",
        ),
        ({"on_failure": []}, "on_failure= is not supported \\(run code on state changes"),
        ({"flow_run_name": "x"}, "flow_run_name= is not supported \\(runs are named by their id"),
    ],
)
def test_an_unsupported_option_is_an_error_naming_it(options: dict[str, Any], message: str) -> None:
    with pytest.raises(TypeError, match=message):
        flow(**options)


def test_several_unsupported_options_are_listed_together() -> None:
    with pytest.raises(TypeError) as caught:
        flow(task_runner=1, result_storage=2)
    assert "task_runner=" in str(caught.value) and "result_storage=" in str(caught.value)
