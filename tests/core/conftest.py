"""Shared helpers for the core tests.

The core must work with no infrastructure plugin installed, so these tests never
import ``shipway_process``. Where an infrastructure is needed they use ``LocalEcho``,
a small but real one defined here: it starts ``python -m shipway.engine`` as a child
process, streams its output through ``write_output`` and can kill it. It is
registered on a fresh :class:`PluginRegistry` exactly as an in-process plugin would be.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import signal
import subprocess
import sys
import textwrap
import types
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Literal

import anyio
import pytest
from anyio.abc import TaskStatus
from pydantic import Field

from shipway._markers import hookimpl
from shipway.infrastructure import (
    Infrastructure,
    InfrastructureError,
    InfrastructureNotFound,
    InfrastructureResult,
    Job,
    StreamName,
)
from shipway.jobs import JOB_ENV_VAR
from shipway.plugins import PluginPolicy, PluginRegistry


class LocalEcho(Infrastructure):
    """Runs the engine as a child of the test process, in its own session."""

    type: Literal["test-local"] = "test-local"
    stream_output: bool = Field(default=True, description="Pass output to the sink.")
    grace_seconds: int = Field(default=5, ge=0, description="A constrained field to validate.")

    async def run(
        self, job: Job, task_status: TaskStatus[str] = anyio.TASK_STATUS_IGNORED
    ) -> InfrastructureResult:
        environment = dict(os.environ)
        for key, value in self.job_environment(job).items():
            if value is None:
                environment.pop(key, None)
            else:
                environment[key] = value
        # Labels are where the platform shows them; here, for the flow to print.
        environment["TEST_LOCAL_LABELS"] = json.dumps(self.labels, sort_keys=True)
        output = subprocess.PIPE if self.stream_output else subprocess.DEVNULL
        process = await anyio.open_process(
            self.job_command(sys.executable),
            cwd=job.working_dir,
            env=environment,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=output,
            start_new_session=True,
        )
        identifier = f"test-local:{process.pid}"
        task_status.started(identifier)
        async with process:
            async with anyio.create_task_group() as tg:
                if process.stdout is not None:
                    tg.start_soon(self.forward_output, process.stdout, "stdout")
                if process.stderr is not None:
                    tg.start_soon(self.forward_output, process.stderr, "stderr")
            code = await process.wait()
        return InfrastructureResult(identifier=identifier, status_code=code)

    async def kill(self, identifier: str, grace_seconds: int = 30) -> None:
        pid = int(identifier.rpartition(":")[2])
        try:
            os.killpg(pid, signal.SIGTERM)
        except ProcessLookupError:
            raise InfrastructureNotFound(f"process {pid} has already exited") from None
        with anyio.move_on_after(grace_seconds):
            while _group_alive(pid):
                await anyio.sleep(0.05)
            return
        with contextlib.suppress(ProcessLookupError):  # it exited at the last moment
            os.killpg(pid, signal.SIGKILL)

    def preview(self, job: Job | None = None) -> str:
        job = self.preview_job(job)
        return f"{JOB_ENV_VAR}={shlex.quote(job.to_json())} " + shlex.join(
            self.job_command(sys.executable)
        )


class Unstartable(Infrastructure):
    """A platform that cannot be reached: ``run`` fails before anything starts."""

    type: Literal["test-unstartable"] = "test-unstartable"

    async def run(
        self, job: Job, task_status: TaskStatus[str] = anyio.TASK_STATUS_IGNORED
    ) -> InfrastructureResult:
        raise InfrastructureError(
            "cannot reach the test platform at nowhere:1", hint="Start the test platform."
        )

    async def kill(self, identifier: str, grace_seconds: int = 30) -> None:
        raise InfrastructureNotFound(identifier)

    def preview(self, job: Job | None = None) -> str:
        return "nothing would run"


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


class CoreTestPlugin:
    """An in-process plugin providing the test infrastructure types."""

    @hookimpl
    def shipway_infrastructure_types(self) -> list[type[Infrastructure]]:
        return [LocalEcho, Unstartable]


class CollectingSink:
    """An output sink keeping every line it receives, per stream."""

    def __init__(self) -> None:
        self.lines: list[tuple[StreamName, bytes]] = []

    def write(self, stream: StreamName, data: bytes) -> None:
        self.lines.append((stream, data))

    def text(self, stream: StreamName) -> str:
        return b"".join(data for name, data in self.lines if name == stream).decode()


@pytest.fixture
def registry() -> PluginRegistry:
    """A fresh registry with default policy (environment ignored) and the test plugin."""
    fresh = PluginRegistry(PluginPolicy())
    fresh.register(CoreTestPlugin(), name="shipway-core-tests")
    return fresh


@pytest.fixture
def sink() -> CollectingSink:
    return CollectingSink()


@pytest.fixture
def testing_module(monkeypatch: pytest.MonkeyPatch) -> types.ModuleType:
    """The test infrastructure importable as ``shipway_testing``, as a plugin package
    would be, so deployment files written by tests can use it."""
    module = types.ModuleType("shipway_testing")
    module.LocalEcho = LocalEcho  # type: ignore[attr-defined]
    module.Unstartable = Unstartable  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "shipway_testing", module)
    return module


@pytest.fixture
def write(tmp_path: Path) -> Callable[[str, str], Path]:
    """``write("flows/hello.py", source)``: create a file under ``tmp_path`` (dedented)."""

    def write_file(relative: str, text: str) -> Path:
        path = tmp_path / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return path

    return write_file


@pytest.fixture
def isolated_imports(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Undo what importing flows and deployment files does to the interpreter:
    entries added to ``sys.path`` and modules loaded from temporary directories."""
    base = str(tmp_path_factory.getbasetemp())
    path_before = list(sys.path)
    modules_before = set(sys.modules)
    yield
    sys.path[:] = path_before
    for name in set(sys.modules) - modules_before:
        module = sys.modules[name]
        locations = [getattr(module, "__file__", None) or ""]
        locations += list(getattr(module, "__path__", []) or [])
        if name.startswith("__shipway") or any(str(p).startswith(base) for p in locations):
            del sys.modules[name]
