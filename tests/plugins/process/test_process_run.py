"""Running flows with the process plugin: identifier, output streaming, environment."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
from _process_helpers import RecordingSink, WriteFlow, run_to_end

from shipway.infrastructure import InfrastructureResult
from shipway_process import Process

pytestmark = pytest.mark.anyio

HELLO = """
    import os
    from shipway import flow

    @flow
    def hello(name: str = "world"):
        print(f"Hello {name}!")
        print(f"pid {os.getpid()}")
"""


async def test_hello_flow_output_arrives_line_by_line_through_the_sink(
    write_flow: WriteFlow, sink: RecordingSink
) -> None:
    job = write_flow("hello", HELLO, name="process")

    identifier, result = await run_to_end(Process(), job, sink)

    assert sink.stream("stdout")[0] == b"Hello process!\n"
    assert all(line.endswith(b"\n") for line in sink.stream("stdout"))
    assert result == InfrastructureResult(identifier=identifier, status_code=0)
    assert result.succeeded


async def test_identifier_is_hostname_and_pid_of_the_engine_process(
    write_flow: WriteFlow, sink: RecordingSink
) -> None:
    job = write_flow("hello", HELLO)

    identifier, result = await run_to_end(Process(), job, sink)

    host, _, pid = identifier.rpartition(":")
    assert host == socket.gethostname()
    assert sink.text("stdout").splitlines()[1] == f"pid {pid}"
    assert result.identifier == identifier


async def test_output_is_streamed_while_the_flow_still_runs(
    write_flow: WriteFlow, project: Path, sink: RecordingSink
) -> None:
    # The flow cannot get past its first line until the test has *received* that line:
    # the sink releases it by creating a file. Buffered (not streamed) output would
    # leave the flow waiting, and it would say so.
    release = project / "release"
    job = write_flow(
        "chatty",
        """
        import sys, time
        from pathlib import Path
        from shipway import flow

        @flow
        def chatty(release: str):
            print("first", flush=True)
            print("oops on stderr", file=sys.stderr, flush=True)
            deadline = time.monotonic() + 60
            while not Path(release).exists():
                if time.monotonic() > deadline:
                    print("never released")
                    return
                time.sleep(0.01)
            print("second")
        """,
        release=str(release),
    )
    received_first_while_running: list[bool] = []

    def on_line(stream: str, data: bytes) -> None:
        if data == b"first\n":
            received_first_while_running.append(not release.exists())
            release.touch()

    sink.on_line = on_line

    _, result = await run_to_end(Process(), job, sink)

    assert received_first_while_running == [True]
    assert sink.stream("stdout") == [b"first\n", b"second\n"]
    assert sink.stream("stderr") == [b"oops on stderr\n"]
    assert result.status_code == 0


async def test_non_utf8_bytes_and_a_last_line_without_newline_arrive_unchanged(
    write_flow: WriteFlow, sink: RecordingSink
) -> None:
    job = write_flow(
        "raw",
        r"""
        import sys
        from shipway import flow

        @flow
        def raw():
            sys.stdout.buffer.write(b"\xff\xfe bad\n")
            sys.stdout.flush()
            sys.stderr.buffer.write(b"err \xc3\x28\n")
            sys.stderr.flush()
            sys.stdout.write("tail without newline")
        """,
    )

    _, result = await run_to_end(Process(), job, sink)

    assert sink.stream("stdout") == [b"\xff\xfe bad\n", b"tail without newline"]
    assert sink.stream("stderr") == [b"err \xc3\x28\n"]
    assert result.status_code == 0


async def test_a_failing_flow_reports_exit_1_with_its_traceback_on_stderr(
    write_flow: WriteFlow, sink: RecordingSink
) -> None:
    job = write_flow(
        "failing",
        """
        from shipway import flow

        @flow
        def failing():
            raise ValueError("boom")
        """,
    )

    _, result = await run_to_end(Process(), job, sink)

    assert result.status_code == 1
    assert not result.succeeded
    stderr = sink.text("stderr")
    assert "flows/failing.py" in stderr
    assert "ValueError: boom" in stderr


ENV_FLOW = """
    import json, os
    from shipway import flow

    @flow
    def show_env():
        names = ["SHIPWAY_TEST_INHERITED", "SHIPWAY_TEST_OWN", "SHIPWAY_TEST_REPLACED",
                 "SHIPWAY_TEST_UNSET", "RETRIES"]
        print(json.dumps({name: os.environ.get(name) for name in names}))
"""


async def test_env_is_merged_over_the_parent_environment_and_none_unsets(
    write_flow: WriteFlow, sink: RecordingSink, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHIPWAY_TEST_INHERITED", "from parent")
    monkeypatch.setenv("SHIPWAY_TEST_REPLACED", "from parent")
    monkeypatch.setenv("SHIPWAY_TEST_UNSET", "from parent")
    job = write_flow("show_env", ENV_FLOW)
    process = Process(
        env={
            "SHIPWAY_TEST_OWN": "own",
            "SHIPWAY_TEST_REPLACED": "replaced",
            "SHIPWAY_TEST_UNSET": None,
            "RETRIES": 2,  # type: ignore[dict-item]  # as YAML would give it
        }
    )

    _, result = await run_to_end(process, job, sink)

    assert result.status_code == 0
    assert json.loads(sink.text("stdout")) == {
        "SHIPWAY_TEST_INHERITED": "from parent",
        "SHIPWAY_TEST_OWN": "own",
        "SHIPWAY_TEST_REPLACED": "replaced",
        "SHIPWAY_TEST_UNSET": None,
        "RETRIES": "2",
    }


async def test_stream_output_false_writes_nothing_but_reports_the_exit_code(
    write_flow: WriteFlow, sink: RecordingSink
) -> None:
    job = write_flow(
        "quiet",
        """
        import sys
        from shipway import flow

        @flow
        def quiet():
            print("not shown")
            print("not shown either", file=sys.stderr)
            sys.exit(5)
        """,
    )

    _, result = await run_to_end(Process(stream_output=False), job, sink)

    assert sink.lines == []
    assert result.status_code == 5
