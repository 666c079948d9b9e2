"""Ctrl-C (SIGINT) and SIGTERM to ``shipway run``: the run is stopped on its
infrastructure, gracefully, before shipway exits."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from _e2e_helpers import TIMEOUT_SECONDS, clean_environment, shipway_executable, write_file

RUNNING_LINE = re.compile(r"running on process as \S+:(?P<pid>\d+)")


class LiveOutput:
    """Read a process's stdout and stderr as lines arrive, in background threads."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.stdout: list[str] = []
        self.stderr: list[str] = []
        self._changed = threading.Condition()
        self._threads = [
            threading.Thread(target=self._read, args=(process.stdout, self.stdout), daemon=True),
            threading.Thread(target=self._read, args=(process.stderr, self.stderr), daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    def _read(self, stream: object, into: list[str]) -> None:
        for line in stream:  # type: ignore[attr-defined]
            with self._changed:
                into.append(line)
                self._changed.notify_all()

    def wait_for(self, lines: list[str], pattern: str, timeout: float) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for line in lines:
                    found = re.search(pattern, line)
                    if found:
                        return found
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"{pattern!r} did not appear.\nstdout: {self.stdout}\nstderr: {self.stderr}"
                    )
                self._changed.wait(left)

    def join(self) -> None:
        for thread in self._threads:
            thread.join(timeout=TIMEOUT_SECONDS)


def _is_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] != "Z"
    except FileNotFoundError:
        return False
    except OSError:  # no /proc: kill(0) succeeding is all we know
        return True


def _gone_within(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while _is_running(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


class RunningShipway:
    """``shipway run`` started in the background, with its output read live."""

    def __init__(self, cwd: Path, *args: str) -> None:
        self.process = subprocess.Popen(
            [shipway_executable(), "run", *args],
            cwd=cwd,
            env=clean_environment(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            errors="replace",
        )
        self.output = LiveOutput(self.process)
        self.flow_pid: int | None = None

    def wait_until_the_flow_started(self) -> int:
        """The flow run's pid (from shipway's status line), once the flow printed "started"."""
        running = self.output.wait_for(self.output.stderr, RUNNING_LINE.pattern, TIMEOUT_SECONDS)
        self.flow_pid = int(running["pid"])
        self.output.wait_for(self.output.stdout, r"^started$", TIMEOUT_SECONDS)
        return self.flow_pid

    def exit_code(self) -> int:
        code = self.process.wait(timeout=TIMEOUT_SECONDS)
        self.output.join()
        return code

    @property
    def stderr(self) -> str:
        return "".join(self.output.stderr)

    def clean_up(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        if self.flow_pid is not None and _is_running(self.flow_pid):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.flow_pid, signal.SIGKILL)


@contextlib.contextmanager
def shipway_run(cwd: Path, *args: str) -> Iterator[RunningShipway]:
    running = RunningShipway(cwd, *args)
    try:
        yield running
    finally:
        running.clean_up()


@pytest.fixture
def sleepy(project: Path) -> Path:
    write_file(
        project,
        "flows/sleepy.py",
        """
        import time
        from shipway import flow

        @flow
        def sleepy():
            try:
                print("started", flush=True)
                time.sleep(60)
            finally:
                print("cleanup", flush=True)
        """,
    )
    write_file(
        project,
        "sleepy.yaml",
        "deployments:\n  - name: sleepy\n    flow: flows/sleepy.py:sleepy\n",
    )
    return project


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_signal_stops_the_run_gracefully_before_shipway_exits(
    sleepy: Path, signum: signal.Signals
) -> None:
    with shipway_run(sleepy, "sleepy", "-f", "sleepy.yaml") as shipway:
        flow_pid = shipway.wait_until_the_flow_started()

        shipway.process.send_signal(signum)
        code = shipway.exit_code()

        assert code == 130, shipway.stderr
        assert shipway.output.stdout == ["started\n", "cleanup\n"], shipway.stderr
        assert "Stopping flow run" in shipway.stderr
        assert f"{signum.name} received" in shipway.stderr
        assert "Cancelled" in shipway.stderr
        # One signal: the flow ended on SIGTERM, not by force, and says so.
        assert "stopped on request" in shipway.stderr
        assert "memory" not in shipway.stderr
        assert "Traceback" not in shipway.stderr
        assert _gone_within(flow_pid, 30), "the flow run's process outlived shipway"


@pytest.fixture
def stubborn(project: Path) -> Path:
    write_file(
        project,
        "flows/stubborn.py",
        """
        import signal, time
        from shipway import flow

        @flow
        def stubborn():
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            print("started", flush=True)
            time.sleep(60)
        """,
    )
    write_file(
        project,
        "stubborn.yaml",
        "deployments:\n  - name: stubborn\n    flow: flows/stubborn.py:stubborn\n",
    )
    return project


@pytest.mark.parametrize("how", ["second Ctrl-C", "grace period over"])
def test_a_run_ignoring_sigterm_is_killed_by_force(stubborn: Path, how: str) -> None:
    grace = ["--grace", "1"] if how == "grace period over" else []
    with shipway_run(stubborn, "stubborn", "-f", "stubborn.yaml", *grace) as shipway:
        flow_pid = shipway.wait_until_the_flow_started()

        shipway.process.send_signal(signal.SIGINT)
        if how == "second Ctrl-C":
            shipway.output.wait_for(shipway.output.stderr, "Stopping flow run", TIMEOUT_SECONDS)
            shipway.process.send_signal(signal.SIGINT)
        code = shipway.exit_code()

        assert code == 130, shipway.stderr
        if how == "second Ctrl-C":
            assert "stopping by force" in shipway.stderr
        assert "Cancelled" in shipway.stderr
        # The forced stop was asked for: not reported as running out of memory.
        assert "stopped by force, as asked" in shipway.stderr
        assert "memory" not in shipway.stderr
        assert "Traceback" not in shipway.stderr
        assert _gone_within(flow_pid, 30)
