"""Helpers for the Docker runtime tests: run real flows in real containers.

Nothing here stands in for the thing under test: :class:`RecordingSink` only records
what the infrastructure writes through :func:`shipway.infrastructure.output_sink`.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import AsyncIterator, Callable
from typing import Any

import anyio
from anyio.abc import TaskStatus

from shipway.infrastructure import InfrastructureResult, Job, StreamName, output_sink
from shipway_docker import DockerContainer

# Generous: a loaded 2-core machine may take seconds to start a container.
WAIT_SECONDS = 90
CHECKS = "flows/checks.py"


def checks_job(function: str, /, **parameters: Any) -> Job:
    """A job for one of the flows in tests/plugins/docker/project/flows/checks.py."""
    return Job(
        entrypoint=f"{CHECKS}:{function}", parameters=parameters, deployment_name=f"test-{function}"
    )


class RecordingSink:
    """An output sink that keeps every line and lets a test wait for one."""

    def __init__(self) -> None:
        self.lines: list[tuple[StreamName, bytes]] = []
        self._waiting: list[tuple[bytes, anyio.Event]] = []

    def write(self, stream: StreamName, data: bytes) -> None:
        self.lines.append((stream, data))
        for needle, event in self._waiting:
            if needle in data:
                event.set()

    def stream(self, name: StreamName) -> list[bytes]:
        return [data for stream, data in self.lines if stream == name]

    def text(self, name: StreamName) -> str:
        return b"".join(self.stream(name)).decode("utf-8", errors="replace")

    async def wait_for(self, needle: bytes, timeout: float = WAIT_SECONDS) -> None:
        """Return once a line containing ``needle`` has arrived (on either stream)."""
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
    identifier: str = ""
    result: InfrastructureResult | None = None
    cancel_scope: anyio.CancelScope | None = None

    @property
    def container_id(self) -> str:
        return self.identifier.rpartition(":")[2]


@contextlib.asynccontextmanager
async def running(infrastructure: DockerContainer, job: Job) -> AsyncIterator[RunHandle]:
    """Start ``job`` in the background; leaving the block waits for the run to end."""
    handle = RunHandle()

    async def run(*, task_status: TaskStatus[str]) -> None:
        handle.result = await infrastructure.run(job, task_status=task_status)

    async with anyio.create_task_group() as tg:
        handle.cancel_scope = tg.cancel_scope
        handle.identifier = await tg.start(run)
        yield handle


async def run_to_end(
    infrastructure: DockerContainer, job: Job, sink: RecordingSink
) -> tuple[str, InfrastructureResult]:
    with output_sink(sink), anyio.fail_after(WAIT_SECONDS):
        async with running(infrastructure, job) as handle:
            pass
    assert handle.result is not None
    return handle.identifier, handle.result


async def run_in_foreground(
    infrastructure: DockerContainer, job: Job, sink: RecordingSink
) -> InfrastructureResult:
    """``run`` awaited directly, for errors raised before the run starts."""
    with output_sink(sink), anyio.fail_after(WAIT_SECONDS):
        return await infrastructure.run(job)


MakeInfrastructure = Callable[..., DockerContainer]
"""The ``make_container`` fixture: ``make_container(**fields) -> DockerContainer``."""
