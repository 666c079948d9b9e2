"""Helpers for the Docker runtime tests: run real flows in real containers.

Nothing here stands in for the thing under test: ``RecordingSink`` (from shipway.testing)
only records what the infrastructure writes through :func:`shipway.infrastructure.output_sink`.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import anyio

from shipway.infrastructure import InfrastructureResult, Job, output_sink
from shipway.testing import RecordingSink, started
from shipway.testing import RunHandle as BaseRunHandle
from shipway_docker import DockerContainer

# Generous: a loaded 2-core machine may take seconds to start a container.
WAIT_SECONDS = 90
CHECKS = "flows/checks.py"


def checks_job(function: str, /, **parameters: Any) -> Job:
    """A job for one of the flows in tests/plugins/docker/project/flows/checks.py."""
    return Job(
        entrypoint=f"{CHECKS}:{function}", parameters=parameters, deployment_name=f"test-{function}"
    )


class RunHandle(BaseRunHandle):
    """A run handle that also reads its platform's identifier."""

    @property
    def container_id(self) -> str:
        return self.identifier.rpartition(":")[2]


def running(infrastructure: DockerContainer, job: Job) -> AbstractAsyncContextManager[RunHandle]:
    """Start ``job`` in the background; leaving the block waits for the run to end."""
    return started(infrastructure, job, handle=RunHandle())


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
