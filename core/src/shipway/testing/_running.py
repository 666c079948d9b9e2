"""Run a job on an infrastructure and keep what it printed: helpers for plugin tests."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import AsyncIterator, Callable

import anyio
from anyio.abc import TaskStatus

from shipway.infrastructure import (
    Infrastructure,
    InfrastructureResult,
    Job,
    StreamName,
    output_sink,
)

__all__ = [
    "DEFAULT_TIMEOUT_SECONDS",
    "FinishedRun",
    "RecordingSink",
    "RunHandle",
    "result_of",
    "run_job",
    "started",
]

DEFAULT_TIMEOUT_SECONDS = 120.0
"""Generous: a loaded machine can take seconds to start an interpreter, a container longer."""

_POLL_SECONDS = 0.05


class RecordingSink:
    """An output sink (see :func:`shipway.infrastructure.output_sink`) that keeps every
    line and lets a test wait for one to arrive."""

    def __init__(self) -> None:
        self.lines: list[tuple[StreamName, bytes]] = []
        self._waiting: list[tuple[bytes, anyio.Event]] = []
        #: Called with each line as it arrives, e.g. to act on output while a run goes on.
        self.on_line: Callable[[StreamName, bytes], None] | None = None

    def write(self, stream: StreamName, data: bytes) -> None:
        self.lines.append((stream, data))
        if self.on_line is not None:
            self.on_line(stream, data)
        for needle, event in self._waiting:
            if needle in data:
                event.set()

    def stream(self, name: StreamName) -> list[bytes]:
        """The lines written to ``name``, in order."""
        return [data for stream, data in self.lines if stream == name]

    def text(self, name: StreamName | None = None) -> str:
        """What ``name`` received as text; both streams, interleaved, if ``name`` is None."""
        chunks = [data for stream, data in self.lines if name is None or stream == name]
        return b"".join(chunks).decode("utf-8", errors="replace")

    async def wait_for(self, needle: bytes, timeout: float = DEFAULT_TIMEOUT_SECONDS) -> None:
        """Return once a line containing ``needle`` has arrived on either stream."""
        if any(needle in data for _, data in self.lines):
            return
        event = anyio.Event()
        self._waiting.append((needle, event))
        try:
            with anyio.fail_after(timeout):
                await event.wait()
        finally:
            self._waiting.remove((needle, event))


@dataclasses.dataclass
class RunHandle:
    """A run started by :func:`started`: its identifier now, its result once it ended.

    ``result`` is None while the run goes on, and stays None if ``run()`` was cancelled
    or raised; ``ended`` says whether ``run()`` has returned. ``await handle.wait()``
    waits for the result. ``cancel_scope`` cancels the run (``run()`` must then stop
    what it started).
    """

    identifier: str = ""
    result: InfrastructureResult | None = None
    cancel_scope: anyio.CancelScope | None = None
    ended: bool = False

    async def wait(self, timeout: float = DEFAULT_TIMEOUT_SECONDS) -> InfrastructureResult:
        """Wait (at most ``timeout`` seconds, else TimeoutError) for ``run()`` to return,
        and return its result; ``run()`` returning no result is a bug in the plugin."""
        with anyio.fail_after(timeout):
            while not self.ended:
                await anyio.sleep(_POLL_SECONDS)
        if self.result is None:
            raise AssertionError("run() returned no result")
        return self.result


@dataclasses.dataclass(frozen=True)
class FinishedRun:
    """A finished run: the identifier ``run`` reported when it started, its result, and
    everything it printed."""

    identifier: str
    result: InfrastructureResult
    output: RecordingSink


@contextlib.asynccontextmanager
async def started(
    infrastructure: Infrastructure,
    job: Job,
    sink: RecordingSink | None = None,
    handle: RunHandle | None = None,
) -> AsyncIterator[RunHandle]:
    """Start ``job`` in the background and enter once ``run`` has reported its identifier.

    Leaving the block waits for the run to end; an exception inside the block cancels
    the run (which must then stop what it started). Output goes to ``sink`` if given.
    ``handle`` may be a :class:`RunHandle` subclass instance (one that parses the
    identifier for its platform, say) to fill in instead of a plain one.
    """
    if handle is None:
        handle = RunHandle()

    async def run(*, task_status: TaskStatus[str]) -> None:
        handle.result = await infrastructure.run(job, task_status=task_status)
        handle.ended = True

    with contextlib.ExitStack() as stack:
        if sink is not None:
            stack.enter_context(output_sink(sink))
        async with anyio.create_task_group() as tg:
            handle.cancel_scope = tg.cancel_scope
            handle.identifier = await tg.start(run)
            yield handle


async def run_job(
    infrastructure: Infrastructure, job: Job, timeout: float = DEFAULT_TIMEOUT_SECONDS
) -> FinishedRun:
    """Run ``job`` to the end (at most ``timeout`` seconds) and return what happened."""
    sink = RecordingSink()
    with anyio.fail_after(timeout):
        async with started(infrastructure, job, sink) as handle:
            pass
    return FinishedRun(
        identifier=handle.identifier, result=result_of(handle, infrastructure), output=sink
    )


def result_of(handle: RunHandle, infrastructure: Infrastructure) -> InfrastructureResult:
    """The result of a run that has ended; run() returning nothing is a bug in the plugin."""
    if handle.result is None:
        raise AssertionError(f"{type(infrastructure).__name__}.run returned no result")
    return handle.result
