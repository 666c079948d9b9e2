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
            print("started", flush=True)
            try:
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
    shipway = subprocess.Popen(
        [shipway_executable(), "run", "sleepy", "-f", "sleepy.yaml"],
        cwd=sleepy,
        env=clean_environment(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        errors="replace",
    )
    output = LiveOutput(shipway)
    flow_pid: int | None = None
    try:
        flow_pid = int(output.wait_for(output.stderr, RUNNING_LINE.pattern, TIMEOUT_SECONDS)["pid"])
        output.wait_for(output.stdout, r"^started$", TIMEOUT_SECONDS)

        shipway.send_signal(signum)
        code = shipway.wait(timeout=TIMEOUT_SECONDS)
        output.join()

        stderr = "".join(output.stderr)
        assert code == 130, stderr
        assert output.stdout == ["started\n", "cleanup\n"], stderr
        assert "Stopping flow run" in stderr
        assert f"{signum.name} received" in stderr
        assert "Cancelled" in stderr
        assert "Traceback" not in stderr
        assert _gone_within(flow_pid, 30), "the flow run's process outlived shipway"
    finally:
        if shipway.poll() is None:
            shipway.kill()
            shipway.wait()
        if flow_pid is not None and _is_running(flow_pid):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(flow_pid, signal.SIGKILL)


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
    shipway = subprocess.Popen(
        [shipway_executable(), "run", "stubborn", "-f", "stubborn.yaml", *grace],
        cwd=stubborn,
        env=clean_environment(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        errors="replace",
    )
    output = LiveOutput(shipway)
    flow_pid: int | None = None
    try:
        flow_pid = int(output.wait_for(output.stderr, RUNNING_LINE.pattern, TIMEOUT_SECONDS)["pid"])
        output.wait_for(output.stdout, r"^started$", TIMEOUT_SECONDS)

        shipway.send_signal(signal.SIGINT)
        if how == "second Ctrl-C":
            output.wait_for(output.stderr, "Stopping flow run", TIMEOUT_SECONDS)
            shipway.send_signal(signal.SIGINT)
        code = shipway.wait(timeout=TIMEOUT_SECONDS)
        output.join()

        stderr = "".join(output.stderr)
        assert code == 130, stderr
        if how == "second Ctrl-C":
            assert "stopping by force" in stderr
        assert "Cancelled" in stderr
        assert "Traceback" not in stderr
        assert _gone_within(flow_pid, 30)
    finally:
        if shipway.poll() is None:
            shipway.kill()
            shipway.wait()
        if flow_pid is not None and _is_running(flow_pid):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(flow_pid, signal.SIGKILL)
