"""Re-attaching: a run whose watcher died is followed to its end by another process,
which learns its exit status from the file the engine leaves."""

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
from _process_helpers import WAIT_SECONDS, WriteFlow, run_to_end, wait_until_gone

from shipway.infrastructure import (
    InfrastructureNotAvailable,
    InfrastructureNotFound,
    Job,
    ReattachesRuns,
    output_sink,
)
from shipway.testing import RecordingSink
from shipway_process import Process
from shipway_process._watch_files import state_directory

pytestmark = pytest.mark.anyio

# A stand-in for an agent: starts the run, prints its identifier, then waits for it.
WATCHER = """
import sys
import anyio
from shipway.infrastructure import Job
from shipway_process import Process

async def main() -> None:
    job = Job.from_json(sys.stdin.read())  # not argv: a job may be large
    async def run(*, task_status) -> None:
        await Process().run(job, task_status=task_status)
    async with anyio.create_task_group() as tg:
        identifier = await tg.start(run)
        print(identifier, flush=True)

anyio.run(main)
"""

OUTLIVER = """
    import time
    from pathlib import Path
    from shipway import flow

    @flow
    def outliver(release: str, code: int = 0) -> None:
        print("waiting for the watcher to die", flush=True)
        while not Path(release).exists():
            time.sleep(0.02)
        for _ in range(100):  # into a pipe nobody reads any more: must not fail the flow
            print("still here", flush=True)
        if code:
            raise SystemExit(code)
"""


@pytest.fixture(autouse=True)
def shipway_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    home = tmp_path / "home"
    monkeypatch.setenv("SHIPWAY_HOME", str(home))
    yield home


def _orphan(job: Job) -> str:
    """Start ``job`` from a watcher process, then SIGKILL the watcher: the run goes on."""
    watcher = subprocess.Popen(
        [sys.executable, "-c", WATCHER],
        stdout=subprocess.PIPE,
        stdin=subprocess.PIPE,
    )
    assert watcher.stdin is not None and watcher.stdout is not None
    watcher.stdin.write(job.to_json().encode())
    watcher.stdin.close()
    identifier = watcher.stdout.readline().decode().strip()
    watcher.kill()
    watcher.wait()
    assert identifier, "the watcher printed no identifier"
    return identifier


async def test_the_process_plugin_declares_it() -> None:
    assert isinstance(Process(), ReattachesRuns)


@pytest.mark.parametrize("code", [0, 1, 7])
async def test_reattach_returns_the_exit_status_of_an_orphaned_run(
    write_flow: WriteFlow, tmp_path: Path, code: int
) -> None:
    release = tmp_path / "release"
    job = write_flow("outliver", OUTLIVER, release=str(release), code=code)
    identifier = _orphan(job)
    release.touch()

    with anyio.fail_after(WAIT_SECONDS):
        result = await Process().reattach(identifier)

    assert result.identifier == identifier
    assert result.status_code == code
    assert list(state_directory().iterdir()) == []  # read, then cleaned up


LEAVES_A_CHILD = """
    import subprocess
    import time
    from pathlib import Path
    from shipway import flow

    @flow
    def leaves_a_child(release: str, child_pid: str) -> None:
        child = subprocess.Popen(["sleep", "60"])  # in the run's group, outliving the flow
        Path(child_pid).write_text(str(child.pid))
        while not Path(release).exists():
            time.sleep(0.02)
"""


def _orphan_leaving_a_child(write_flow: WriteFlow, tmp_path: Path) -> tuple[str, int]:
    """An orphaned run whose flow has started a child; the flow returns once
    ``tmp_path / "release"`` exists. Returns the identifier and the child's pid."""
    pid_file = tmp_path / "child_pid"
    job = write_flow(
        "leaves_a_child",
        LEAVES_A_CHILD,
        release=str(tmp_path / "release"),
        child_pid=str(pid_file),
    )
    identifier = _orphan(job)
    deadline = time.monotonic() + WAIT_SECONDS
    while not pid_file.exists() or not pid_file.read_text():
        assert time.monotonic() < deadline, "the flow never started its child"
        time.sleep(0.02)
    return identifier, int(pid_file.read_text())


@contextlib.contextmanager
def _killed_afterwards(identifier: str) -> Iterator[None]:
    try:
        yield
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(int(identifier.rpartition(":")[2]), signal.SIGKILL)


async def test_reattach_ends_with_the_engine_and_stops_what_it_left_behind(
    write_flow: WriteFlow, tmp_path: Path
) -> None:
    """As for a watched run, the run is over when the engine exits, and what it left in
    its group is stopped and reported."""
    identifier, child = _orphan_leaving_a_child(write_flow, tmp_path)
    sink = RecordingSink()
    with _killed_afterwards(identifier):
        (tmp_path / "release").touch()
        with output_sink(sink), anyio.fail_after(WAIT_SECONDS / 2):  # far less than 60 s
            result = await Process().reattach(identifier)

        assert result.status_code == 0
        assert await wait_until_gone(child, 5), "the flow's leftover child still runs"
        assert sink.text("stderr") == (
            f"shipway: stopped 1 leftover process(es) of the flow: pids {child}\n"
        )


async def test_reattach_to_an_engine_killed_while_unwatched_does_not_wait_for_its_child(
    write_flow: WriteFlow, tmp_path: Path
) -> None:
    identifier, child = _orphan_leaving_a_child(write_flow, tmp_path)
    with _killed_afterwards(identifier):
        os.kill(int(identifier.rpartition(":")[2]), signal.SIGKILL)  # the engine alone

        with anyio.fail_after(WAIT_SECONDS / 2), pytest.raises(InfrastructureNotFound):
            await Process().reattach(identifier)

        assert await wait_until_gone(child, 5), "the flow's leftover child still runs"


async def test_a_run_killed_while_unwatched_is_not_found(
    write_flow: WriteFlow, tmp_path: Path
) -> None:
    job = write_flow("outliver", OUTLIVER, release=str(tmp_path / "never"))
    identifier = _orphan(job)
    os.killpg(int(identifier.rpartition(":")[2]), signal.SIGKILL)

    with anyio.fail_after(WAIT_SECONDS), pytest.raises(InfrastructureNotFound) as caught:
        await Process().reattach(identifier)
    assert "no exit status" in str(caught.value)


async def test_an_unknown_run_is_not_found() -> None:
    with pytest.raises(InfrastructureNotFound):
        await Process().reattach(f"{socket.gethostname()}:{2**22 + 12345}")


async def test_a_run_on_another_host_is_not_available() -> None:
    with pytest.raises(InfrastructureNotAvailable, match="followed from there"):
        await Process().reattach("some-other-host:123")


async def test_a_watched_run_leaves_no_files(
    write_flow: WriteFlow, sink: RecordingSink, tmp_path: Path
) -> None:
    release = tmp_path / "release"
    release.touch()
    job = write_flow("outliver", OUTLIVER, release=str(release))

    _, result = await run_to_end(Process(), job, sink)

    assert result.status_code == 0
    assert list(state_directory().iterdir()) == []
