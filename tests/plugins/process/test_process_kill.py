"""Stopping runs: ``kill`` from this process and from another one, the whole process
group, SIGKILL after the grace period, the typed errors, and cancellation."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time

import anyio
import pytest
from _process_helpers import (
    WAIT_SECONDS,
    RecordingSink,
    WriteFlow,
    is_running,
    running,
    wait_until_gone,
)

from shipway.attempt import state_for_result
from shipway.infrastructure import (
    InfrastructureError,
    InfrastructureNotAvailable,
    InfrastructureNotFound,
    output_sink,
)
from shipway.states import StateType
from shipway_process import Process
from shipway_process._groups import group_exists

pytestmark = pytest.mark.anyio

SLEEPER = """
    import signal, subprocess, time
    from shipway import flow

    @flow
    def sleeper(spawn: bool = False, ignore_term: bool = False):
        if ignore_term:
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
        if spawn:
            child = subprocess.Popen(["sleep", "60"])
            print(f"grandchild {child.pid}", flush=True)
        try:  # "started" inside: a SIGTERM right after it still runs the cleanup
            print("started", flush=True)
            time.sleep(60)
        finally:
            print("cleanup", flush=True)
"""


def _grandchild_pid(sink: RecordingSink) -> int:
    for line in sink.stream("stdout"):
        if line.startswith(b"grandchild "):
            return int(line.split()[1])
    raise AssertionError(f"the flow did not report its child: {sink.lines}")


async def test_kill_with_grace_lets_the_engine_run_the_flows_cleanup(
    write_flow: WriteFlow, sink: RecordingSink
) -> None:
    job = write_flow("sleeper", SLEEPER)
    process = Process()

    with output_sink(sink), anyio.fail_after(WAIT_SECONDS):
        async with running(process, job) as handle:
            await sink.wait_for(b"started")  # the engine's SIGTERM handler is in place
            await process.kill(handle.identifier, grace_seconds=30)

    # The engine turns SIGTERM into exit 143 after the flow's finally blocks ran
    # (a bare -15 would mean the signal killed the interpreter outright).
    assert handle.result is not None
    assert handle.result.status_code == 143
    assert sink.stream("stdout")[-1] == b"cleanup\n"
    assert "received signal SIGTERM" in sink.text("stderr")
    assert "SIGTERM" in handle.result.describe()
    assert state_for_result(handle.result).type is StateType.CRASHED
    assert state_for_result(handle.result, cancelled=True).type is StateType.CANCELLED
    assert not is_running(handle.pid)


async def test_kill_stops_the_whole_process_group(
    write_flow: WriteFlow, sink: RecordingSink
) -> None:
    job = write_flow("sleeper", SLEEPER, spawn=True)
    process = Process()

    with output_sink(sink), anyio.fail_after(WAIT_SECONDS):
        async with running(process, job) as handle:
            await sink.wait_for(b"started")
            grandchild = _grandchild_pid(sink)
            assert is_running(grandchild)
            await process.kill(handle.identifier, grace_seconds=30)

    assert handle.result is not None
    assert handle.result.status_code == 143
    # The orphaned grandchild is reaped by init, which may take a moment.
    assert await wait_until_gone(grandchild), "the flow's own child survived the kill"


async def test_a_flow_ignoring_sigterm_is_sigkilled_after_the_grace_period(
    write_flow: WriteFlow, sink: RecordingSink
) -> None:
    job = write_flow("sleeper", SLEEPER, ignore_term=True)
    process = Process()

    with output_sink(sink), anyio.fail_after(WAIT_SECONDS):
        async with running(process, job) as handle:
            await sink.wait_for(b"started")
            await process.kill(handle.identifier, grace_seconds=1)

    assert handle.result is not None
    assert handle.result.status_code == -signal.SIGKILL
    assert b"cleanup\n" not in sink.stream("stdout")
    assert "SIGKILL" in handle.result.describe()


async def test_kill_from_another_process(write_flow: WriteFlow, sink: RecordingSink) -> None:
    job = write_flow("sleeper", SLEEPER, spawn=True)
    stopper = (
        "import sys, anyio\n"
        "from shipway_process import Process\n"
        "anyio.run(Process().kill, sys.argv[1], 30)\n"
        "print('stopped', sys.argv[1])\n"
    )

    with output_sink(sink), anyio.fail_after(WAIT_SECONDS):
        async with running(Process(), job) as handle:
            await sink.wait_for(b"started")
            grandchild = _grandchild_pid(sink)
            other = await anyio.run_process(
                [sys.executable, "-c", stopper, handle.identifier], check=False
            )

    assert other.returncode == 0, other.stderr.decode()
    assert other.stdout.decode().strip() == f"stopped {handle.identifier}"
    assert handle.result is not None
    assert handle.result.status_code == 143
    assert sink.stream("stdout")[-1] == b"cleanup\n"
    assert await wait_until_gone(grandchild)


async def test_kill_from_another_process_reports_a_run_that_has_ended(
    write_flow: WriteFlow, sink: RecordingSink
) -> None:
    job = write_flow("sleeper", SLEEPER)
    process = Process()
    with output_sink(sink), anyio.fail_after(WAIT_SECONDS):
        async with running(process, job) as handle:
            await sink.wait_for(b"started")
            await process.kill(handle.identifier, grace_seconds=30)
    stopper = (
        "import sys, anyio\n"
        "from shipway.infrastructure import InfrastructureNotFound\n"
        "from shipway_process import Process\n"
        "try:\n"
        "    anyio.run(Process().kill, sys.argv[1], 30)\n"
        "except InfrastructureNotFound as exc:\n"
        "    print('not found:', exc)\n"
    )

    other = await anyio.run_process([sys.executable, "-c", stopper, handle.identifier], check=False)

    assert other.returncode == 0, other.stderr.decode()
    assert other.stdout.decode().startswith("not found:")


async def test_unknown_pid_is_not_found() -> None:
    # Above the kernel's largest possible pid (PID_MAX_LIMIT is 2**22 on Linux),
    # so it can never name a process.
    identifier = f"{socket.gethostname()}:{2**22 + 12345}"

    with pytest.raises(InfrastructureNotFound):
        await Process().kill(identifier, grace_seconds=1)


async def test_pid_on_another_host_is_not_available() -> None:
    identifier = f"not-{socket.gethostname()}.example:12345"

    with pytest.raises(InfrastructureNotAvailable, match="host"):
        await Process().kill(identifier, grace_seconds=1)


@pytest.mark.parametrize("identifier", ["12345", "host:", "host:12ab", ":123", ""])
async def test_malformed_identifier_is_an_infrastructure_error(identifier: str) -> None:
    with pytest.raises(InfrastructureError) as caught:
        await Process().kill(identifier, grace_seconds=1)

    assert not isinstance(caught.value, (InfrastructureNotFound, InfrastructureNotAvailable))
    assert "hostname:pid" in caught.value.message


async def test_a_pid_that_does_not_lead_a_group_is_not_found_and_not_killed() -> None:
    # A child of the test process in the test process's own group: not a flow run.
    bystander = subprocess.Popen(["sleep", "60"])
    try:
        identifier = f"{socket.gethostname()}:{bystander.pid}"

        with pytest.raises(InfrastructureNotFound, match="process group"):
            await Process().kill(identifier, grace_seconds=1)

        await anyio.sleep(0.2)  # were it signalled, it would be dead by now
        assert bystander.poll() is None, "kill signalled a process it should have refused"
    finally:
        bystander.kill()
        bystander.wait()


async def test_cancelling_the_run_leaves_no_process_behind(
    write_flow: WriteFlow, sink: RecordingSink
) -> None:
    job = write_flow("sleeper", SLEEPER, spawn=True)

    with output_sink(sink), anyio.fail_after(WAIT_SECONDS):
        async with running(Process(), job) as handle:
            await sink.wait_for(b"started")
            grandchild = _grandchild_pid(sink)
            assert handle.cancel_scope is not None
            handle.cancel_scope.cancel()

    assert handle.result is None  # cancelled: run() did not return
    assert not is_running(handle.pid)
    assert await wait_until_gone(grandchild)
    assert "cleanup" in sink.text("stdout")  # what it printed while stopping was kept


def test_a_group_left_with_only_a_zombie_counts_as_gone() -> None:
    # The leader exits but nobody reaps it yet: kill(0) still succeeds on the group,
    # yet there is nothing left to stop, so waiting out a grace period would be wasted.
    leader = subprocess.Popen([sys.executable, "-c", "pass"], start_new_session=True)
    try:
        deadline = time.monotonic() + WAIT_SECONDS
        while _state_of(leader.pid) != "Z" and time.monotonic() < deadline:
            time.sleep(0.02)
        assert _state_of(leader.pid) == "Z"
        assert not group_exists(leader.pid)
    finally:
        leader.wait()


def _state_of(pid: int) -> str:
    with open(f"/proc/{pid}/stat", "rb") as stat:
        return stat.read().rpartition(b")")[2].split()[0].decode()
