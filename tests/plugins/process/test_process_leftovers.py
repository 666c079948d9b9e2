"""What a flow leaves behind does not keep its run alive: the run ends when the engine
exits, and the processes still in its group are then stopped and reported."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest
from _process_helpers import (
    WAIT_SECONDS,
    RecordingSink,
    WriteFlow,
    running,
    wait_until_gone,
)

from shipway.infrastructure import InfrastructureNotFound, output_sink
from shipway_process import Process

pytestmark = pytest.mark.anyio

# Far less than the children's 60 s, far more than a loaded machine needs to start a flow.
QUICK_SECONDS = 25

LEAVES_CHILDREN = """
    import os, signal, subprocess, sys, time
    from shipway import flow

    CHILD = '''
    import signal, sys, time
    if sys.argv[1] == "stubborn":
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if sys.argv[2] == "chatty":
            print("leftover still writing", flush=True)
        time.sleep(0.05)
    '''

    @flow
    def leaves_children(
        how: str = "plain", output: str = "quiet", count: int = 1, then: str = "return",
        own_session: bool = False,
    ):
        for _ in range(count):
            child = subprocess.Popen(
                [sys.executable, "-c", CHILD, how, output], start_new_session=own_session
            )
            print(f"child {child.pid}", flush=True)
        time.sleep(0.5)  # the children have set up their signal handling
        print("returning", flush=True)
        if then == "sleep":
            time.sleep(60)
"""


def _children(sink: RecordingSink) -> list[int]:
    return [int(line.split()[1]) for line in sink.stream("stdout") if line.startswith(b"child ")]


@pytest.fixture
def reap() -> Iterator[list[int]]:
    """Pids to SIGKILL after the test, whatever happened (a failing test leaves none)."""
    pids: list[int] = []
    yield pids
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


async def _run_quickly(
    write_flow: WriteFlow, sink: RecordingSink, reap: list[int], **parameters: object
) -> None:
    """Run the flow to its end, which must come far sooner than its children's, with
    status 0; its children are noted for ``reap`` as they are reported."""
    sink.on_line = lambda stream, line: reap.extend(_children(sink)[len(reap) :])
    job = write_flow("leaves_children", LEAVES_CHILDREN, **parameters)
    began = time.monotonic()
    with output_sink(sink), anyio.fail_after(WAIT_SECONDS):
        async with running(Process(), job) as handle:
            pass
    assert time.monotonic() - began < QUICK_SECONDS, "the run waited for the flow's children"
    assert handle.result is not None and handle.result.status_code == 0, sink.text()


async def test_a_flow_that_returns_ends_its_run_at_once_and_its_children_are_stopped(
    write_flow: WriteFlow, sink: RecordingSink, reap: list[int]
) -> None:
    await _run_quickly(write_flow, sink, reap, count=2)

    children = _children(sink)
    assert len(children) == 2
    for child in children:
        assert await wait_until_gone(child, 5), f"leftover child {child} still runs"
    listed = " ".join(str(pid) for pid in sorted(children))
    warning = f"shipway: stopped 2 leftover process(es) of the flow: pids {listed}\n"
    assert sink.stream("stderr")[-1] == warning.encode()


async def test_a_child_that_ignores_sigterm_is_killed_after_a_short_grace(
    write_flow: WriteFlow, sink: RecordingSink, reap: list[int]
) -> None:
    await _run_quickly(write_flow, sink, reap, how="stubborn")

    [child] = _children(sink)
    assert await wait_until_gone(child, 5)
    assert "stopped 1 leftover process(es)" in sink.text("stderr")


async def test_children_still_writing_do_not_hold_up_the_end(
    write_flow: WriteFlow, sink: RecordingSink, reap: list[int]
) -> None:
    await _run_quickly(write_flow, sink, reap, output="chatty")

    assert b"leftover still writing\n" in sink.stream("stdout")
    [child] = _children(sink)
    assert await wait_until_gone(child, 5)


async def test_a_child_that_left_the_group_is_not_stopped_and_does_not_hold_up_the_end(
    write_flow: WriteFlow, sink: RecordingSink, reap: list[int]
) -> None:
    # It holds the run's pipes open from a session of its own: reading stops shortly
    # after the engine has exited, and the child is left alone.
    await _run_quickly(write_flow, sink, reap, own_session=True)

    [child] = _children(sink)
    assert not await wait_until_gone(child, 0.5), "a process outside the run's group was stopped"
    assert b"leftover" not in b"".join(sink.stream("stderr"))


async def test_an_engine_killed_by_sigkill_ends_its_run_at_once(
    write_flow: WriteFlow, sink: RecordingSink, reap: list[int]
) -> None:
    job = write_flow("leaves_children", LEAVES_CHILDREN, then="sleep")
    with output_sink(sink), anyio.fail_after(WAIT_SECONDS):
        async with running(Process(), job) as handle:
            await sink.wait_for(b"returning")
            reap.extend(_children(sink))
            began = time.monotonic()
            os.kill(handle.pid, signal.SIGKILL)  # the engine alone, not its group

    assert time.monotonic() - began < QUICK_SECONDS, "the run waited for the flow's child"
    assert handle.result is not None
    assert handle.result.status_code == -signal.SIGKILL
    assert await wait_until_gone(reap[0], 5)
    assert "stopped 1 leftover process(es)" in sink.text("stderr")


async def test_a_killed_run_ends_with_its_engine_not_with_a_child_that_ignores_sigterm(
    write_flow: WriteFlow, sink: RecordingSink, reap: list[int]
) -> None:
    """A cancel gives the flow a long grace; the engine stops at once, its stubborn child
    would sit out the whole grace, but it is a leftover once the engine has gone."""
    job = write_flow("leaves_children", LEAVES_CHILDREN, how="stubborn", then="sleep")
    process = Process()
    with output_sink(sink), anyio.fail_after(WAIT_SECONDS):
        async with running(process, job) as handle:
            await sink.wait_for(b"returning")
            reap.extend(_children(sink))
            began = time.monotonic()
            await process.kill(handle.identifier, grace_seconds=WAIT_SECONDS - 10)
            ended = time.monotonic()

    assert ended - began < QUICK_SECONDS, "the kill waited out the grace for the child"
    assert handle.result is not None
    assert handle.result.status_code == 143  # the engine stopped the flow gracefully
    assert await wait_until_gone(reap[0], 5)


async def test_cancelling_a_run_stops_a_child_that_ignores_sigterm(
    write_flow: WriteFlow, sink: RecordingSink, reap: list[int]
) -> None:
    job = write_flow("leaves_children", LEAVES_CHILDREN, how="stubborn", then="sleep")
    with output_sink(sink), anyio.fail_after(WAIT_SECONDS):
        async with running(Process(), job) as handle:
            await sink.wait_for(b"returning")
            reap.extend(_children(sink))
            assert handle.cancel_scope is not None
            handle.cancel_scope.cancel()

    assert handle.result is None
    assert await wait_until_gone(reap[0], 5)


async def test_kill_after_the_engine_has_exited_stops_what_it_left(
    write_flow: WriteFlow, tmp_path: Path, reap: list[int]
) -> None:
    """From another process, once the engine is gone: nothing to stop of the run itself
    (not found), but its leftovers go."""
    engine = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import subprocess, sys; "
            "child = subprocess.Popen(['sleep', '60']); print(child.pid, flush=True)",
        ],
        stdout=subprocess.PIPE,
        start_new_session=True,
    )
    assert engine.stdout is not None
    child = int(engine.stdout.readline())
    reap.append(child)
    engine.wait()
    identifier = f"{socket.gethostname()}:{engine.pid}"

    with anyio.fail_after(WAIT_SECONDS), pytest.raises(InfrastructureNotFound):
        await Process().kill(identifier, grace_seconds=1)

    assert await wait_until_gone(child, 5)
