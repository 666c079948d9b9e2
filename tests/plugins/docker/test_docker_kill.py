"""Stopping containers: ``kill`` from another process, the typed errors, and a
cancelled ``run``."""

from __future__ import annotations

import sys
from typing import Any

import anyio
import docker
import docker.errors
import pytest
from _docker_images import DockerCleanup
from _docker_run_helpers import (
    WAIT_SECONDS,
    MakeInfrastructure,
    RecordingSink,
    checks_job,
    running,
)

from shipway.attempt import state_for_result
from shipway.infrastructure import (
    InfrastructureError,
    InfrastructureNotAvailable,
    InfrastructureNotFound,
    output_sink,
)
from shipway.states import StateType
from shipway_docker import DockerContainer

pytestmark = pytest.mark.anyio


@pytest.fixture
def make_container(runtime_image: str, docker_cleanup: DockerCleanup) -> MakeInfrastructure:
    def make(**fields: Any) -> DockerContainer:
        return DockerContainer(
            image=runtime_image, image_pull_policy="never", labels=docker_cleanup.labels, **fields
        )

    return make


@pytest.fixture
def sink() -> RecordingSink:
    return RecordingSink()


STOPPER = """
import sys, anyio
from shipway.infrastructure import InfrastructureNotFound
from shipway_docker import DockerContainer
try:
    anyio.run(DockerContainer().kill, sys.argv[1], 30)
except InfrastructureNotFound as exc:
    print("not found:", exc.message)
else:
    print("stopped", sys.argv[1])
"""


async def stop_from_another_process(identifier: str) -> str:
    other = await anyio.run_process([sys.executable, "-c", STOPPER, identifier], check=False)
    assert other.returncode == 0, other.stderr.decode()
    return other.stdout.decode().strip()


async def test_kill_from_another_process_stops_gracefully(
    make_container: MakeInfrastructure, sink: RecordingSink, docker_client: docker.DockerClient
) -> None:
    with output_sink(sink), anyio.fail_after(WAIT_SECONDS):
        async with running(make_container(), checks_job("sleeper")) as handle:
            await sink.wait_for(b"started")  # streamed while the container runs
            answer = await stop_from_another_process(handle.identifier)

    assert answer == f"stopped {handle.identifier}"
    assert handle.result is not None
    # The engine turned SIGTERM into 143 after the flow's finally block ran.
    assert handle.result.status_code == 143
    assert sink.stream("stdout")[-1] == b"cleanup\n"
    assert "received signal SIGTERM" in sink.text("stderr")
    assert state_for_result(handle.result, cancelled=True).type is StateType.CANCELLED
    assert docker_client.containers.get(handle.container_id).status == "exited"

    # Once it has ended, another kill says so.
    assert (await stop_from_another_process(handle.identifier)).startswith("not found:")


async def test_a_flow_ignoring_sigterm_is_killed_after_the_grace_period(
    make_container: MakeInfrastructure, sink: RecordingSink
) -> None:
    infrastructure = make_container()

    with output_sink(sink), anyio.fail_after(WAIT_SECONDS):
        async with running(infrastructure, checks_job("stubborn")) as handle:
            await sink.wait_for(b"started")
            await infrastructure.kill(handle.identifier, grace_seconds=1)

    assert handle.result is not None
    assert handle.result.status_code == 137  # 128 + SIGKILL
    assert handle.result.reason is None  # stopped, not out of memory
    assert b"cleanup\n" not in sink.stream("stdout")
    assert "SIGKILL" in handle.result.describe()


async def test_kill_of_a_removed_container_is_not_found(
    make_container: MakeInfrastructure, docker_client: docker.DockerClient
) -> None:
    identifier = f"{docker_client.info()['ID']}:{'0' * 64}"

    with pytest.raises(InfrastructureNotFound, match="not on the Docker engine"):
        await make_container().kill(identifier, grace_seconds=1)


async def test_kill_of_a_container_on_another_engine_is_not_available(
    make_container: MakeInfrastructure,
) -> None:
    identifier = f"AAAA:BBBB:CCCC:DDDD:EEEE:FFFF:0000:1111:2222:3333:4444:5555:{'a' * 64}"

    with pytest.raises(InfrastructureNotAvailable, match=r"only be stopped through that engine"):
        await make_container().kill(identifier, grace_seconds=1)


async def test_a_malformed_identifier_is_refused_before_any_engine_is_contacted() -> None:
    unreachable = DockerContainer(docker_host="unix:///nonexistent.sock")

    with pytest.raises(InfrastructureError) as caught:
        await unreachable.kill("vm:4301", grace_seconds=1)

    assert not isinstance(caught.value, (InfrastructureNotFound, InfrastructureNotAvailable))
    assert "not a Docker container identifier" in caught.value.message


@pytest.mark.parametrize("auto_remove", [True, False])
async def test_a_cancelled_run_stops_its_container(
    make_container: MakeInfrastructure,
    sink: RecordingSink,
    docker_client: docker.DockerClient,
    auto_remove: bool,
) -> None:
    with output_sink(sink), anyio.fail_after(WAIT_SECONDS):
        infrastructure = make_container(auto_remove=auto_remove)
        async with running(infrastructure, checks_job("sleeper")) as handle:
            await sink.wait_for(b"started")
            assert handle.cancel_scope is not None
            handle.cancel_scope.cancel()

    assert handle.result is None  # cancelled, not returned
    # What it printed while stopping was still passed on.
    assert sink.stream("stdout")[-1] == b"cleanup\n"
    if auto_remove:
        with pytest.raises(docker.errors.NotFound):
            docker_client.containers.get(handle.container_id)
    else:
        container = docker_client.containers.get(handle.container_id)
        assert container.status == "exited"
        assert container.attrs["State"]["ExitCode"] == 143
