"""Helpers for the process plugin tests: run real flows with the real infrastructure.

Nothing here replaces the thing under test; ``RecordingSink`` (from shipway.testing) only
records what the infrastructure writes through :func:`shipway.infrastructure.output_sink`.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path

import anyio

from shipway.infrastructure import (
    Infrastructure,
    InfrastructureResult,
    Job,
    output_sink,
)
from shipway.testing import RecordingSink, started
from shipway.testing import RunHandle as BaseRunHandle

WriteFlow = Callable[..., Job]
"""The ``write_flow`` fixture: ``write_flow(name, source, **parameters) -> Job``."""

# Generous: a loaded 2-core machine may take seconds to start an interpreter.
WAIT_SECONDS = 60


class RunHandle(BaseRunHandle):
    """A run handle that also reads its platform's identifier."""

    @property
    def pid(self) -> int:
        return int(self.identifier.rpartition(":")[2])


def running(infrastructure: Infrastructure, job: Job) -> AbstractAsyncContextManager[RunHandle]:
    """Start ``job`` in the background; leaving the block waits for the run to end."""
    return started(infrastructure, job, handle=RunHandle())


async def run_to_end(
    infrastructure: Infrastructure, job: Job, sink: RecordingSink
) -> tuple[str, InfrastructureResult]:
    with output_sink(sink), anyio.fail_after(WAIT_SECONDS):
        async with running(infrastructure, job) as handle:
            pass
    assert handle.result is not None
    return handle.identifier, handle.result


async def run_in_foreground(
    infrastructure: Infrastructure, job: Job, sink: RecordingSink
) -> InfrastructureResult:
    """``run`` awaited directly, for errors raised before the run starts."""
    with output_sink(sink), anyio.fail_after(WAIT_SECONDS):
        return await infrastructure.run(job)


def is_running(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie waiting to be reaped."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    except OSError:  # no /proc (macOS): kill(0) succeeding is all we know
        return True
    return stat.rpartition(")")[2].split()[0] != "Z"


async def wait_until_gone(pid: int, timeout: float = WAIT_SECONDS) -> bool:
    with anyio.move_on_after(timeout):
        while is_running(pid):
            await anyio.sleep(0.05)
        return True
    return False
