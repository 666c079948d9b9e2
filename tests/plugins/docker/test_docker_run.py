"""Running flows in real containers: output, parameters, env, exit codes, names,
labels and auto_remove."""

from __future__ import annotations

from typing import Any

import docker
import docker.errors
import pytest
from _docker_images import DockerCleanup
from _docker_run_helpers import (
    MakeInfrastructure,
    RecordingSink,
    checks_job,
    run_in_foreground,
    run_to_end,
)

from shipway.attempt import state_for_result
from shipway.infrastructure import InfrastructureError, Job
from shipway.states import StateType
from shipway_docker import DockerContainer

pytestmark = pytest.mark.anyio


@pytest.fixture
def make_container(runtime_image: str, docker_cleanup: DockerCleanup) -> MakeInfrastructure:
    def make(**fields: Any) -> DockerContainer:
        labels = {**fields.pop("labels", {}), **docker_cleanup.labels}
        return DockerContainer(
            image=runtime_image, image_pull_policy="never", labels=labels, **fields
        )

    return make


@pytest.fixture
def sink() -> RecordingSink:
    return RecordingSink()


def containers_of(client: docker.DockerClient, job: Job) -> list[Any]:
    return client.containers.list(
        all=True, filters={"label": f"io.shipway.flow-run-id={job.flow_run_id}"}
    )


async def test_hello_flow_runs_in_a_container_and_its_output_is_streamed(
    make_container: MakeInfrastructure, sink: RecordingSink, docker_client: docker.DockerClient
) -> None:
    job = Job(entrypoint="flows/hello.py:hello_world", parameters={"name": "container"})

    identifier, result = await run_to_end(make_container(), job, sink)

    assert sink.stream("stdout") == [b"Hello container!\n"]
    assert result.status_code == 0 and result.reason is None
    assert result.identifier == identifier
    engine_id, _, container_id = identifier.rpartition(":")
    assert engine_id == docker_client.info()["ID"]
    container = docker_client.containers.get(container_id)  # kept: auto_remove is off
    assert container.status == "exited"


async def test_parameters_and_env_reach_the_flow_and_stderr_stays_apart(
    make_container: MakeInfrastructure, sink: RecordingSink
) -> None:
    job = checks_job(
        "echo",
        message='it\'s a "test"',
        number=42,
        env_names=["LOG_LEVEL", "API_TOKEN", "EMPTY", "PYTHONUNBUFFERED", "DROPPED"],
    )
    infrastructure = make_container(
        env={"LOG_LEVEL": "debug", "API_TOKEN": "s3cret", "EMPTY": "", "DROPPED": None}
    )

    _, result = await run_to_end(infrastructure, job, sink)

    assert result.status_code == 0, sink.lines
    assert sink.stream("stdout") == [
        b"message='it\\'s a \"test\"' number=42\n",
        b"env LOG_LEVEL='debug'\n",
        b"env API_TOKEN='s3cret'\n",
        b"env EMPTY=''\n",
        b"env PYTHONUNBUFFERED='1'\n",
        b"env DROPPED=None\n",
        b"cwd=/opt/shipway/project\n",  # the image's working directory, not the host's
    ]
    assert sink.stream("stderr") == [b"this goes to stderr\n"]


async def test_a_failing_flow_reports_exit_code_1_and_its_traceback(
    make_container: MakeInfrastructure, sink: RecordingSink
) -> None:
    _, result = await run_to_end(make_container(), checks_job("fail", message="kaput"), sink)

    assert result.status_code == 1
    assert sink.stream("stdout") == [b"about to fail\n"]
    stderr = sink.text("stderr")
    assert "Traceback (most recent call last):" in stderr
    assert 'File "/opt/shipway/project/flows/checks.py"' in stderr
    assert "ValueError: kaput" in stderr
    assert "the flow raised an exception" in result.describe()
    assert state_for_result(result).type is StateType.FAILED


async def test_a_flow_that_cannot_be_loaded_exits_3(
    make_container: MakeInfrastructure, sink: RecordingSink
) -> None:
    job = Job(entrypoint="flows/missing.py:nothing")

    _, result = await run_to_end(make_container(), job, sink)

    assert result.status_code == 3
    assert "cannot start flow run" in sink.text("stderr")


async def test_labels_and_name_identify_the_run(
    make_container: MakeInfrastructure,
    sink: RecordingSink,
    docker_client: docker.DockerClient,
    docker_cleanup: DockerCleanup,
) -> None:
    job = checks_job("echo")

    identifier, _ = await run_to_end(make_container(labels={"team": "data"}), job, sink)

    container = docker_client.containers.get(identifier.rpartition(":")[2])
    assert container.name == f"echo-{job.flow_run_id[:8]}"
    expected = {
        "io.shipway.flow-run-id": job.flow_run_id,
        "io.shipway.flow": "echo",
        "io.shipway.deployment": "test-echo",
        "team": "data",
        **docker_cleanup.labels,
    }
    assert {key: container.labels.get(key) for key in expected} == expected  # + the image's
    assert container.attrs["HostConfig"]["ExtraHosts"] == ["host.docker.internal:host-gateway"]
    assert container.attrs["Config"]["Cmd"] == ["python", "-m", "shipway.engine"]


async def test_a_taken_name_is_retried_with_a_suffix(
    make_container: MakeInfrastructure, sink: RecordingSink, docker_client: docker.DockerClient
) -> None:
    name = f"shipway-test-{make_container().labels['io.shipway.test.run']}"
    infrastructure = make_container(name=name)

    first, _ = await run_to_end(infrastructure, checks_job("echo"), sink)
    second, result = await run_to_end(infrastructure, checks_job("echo"), sink)

    assert result.status_code == 0
    assert docker_client.containers.get(first.rpartition(":")[2]).name == name
    assert docker_client.containers.get(second.rpartition(":")[2]).name == f"{name}-1"


async def test_auto_remove_removes_the_container_after_output_and_exit_code_were_read(
    make_container: MakeInfrastructure, sink: RecordingSink, docker_client: docker.DockerClient
) -> None:
    job = checks_job("fail", message="gone")

    identifier, result = await run_to_end(make_container(auto_remove=True), job, sink)

    assert result.status_code == 1
    assert sink.stream("stdout") == [b"about to fail\n"]
    assert sink.text("stderr").rstrip().endswith("ValueError: gone")
    with pytest.raises(docker.errors.NotFound):
        docker_client.containers.get(identifier.rpartition(":")[2])
    assert containers_of(docker_client, job) == []


async def test_without_stream_output_nothing_is_passed_on(
    make_container: MakeInfrastructure, sink: RecordingSink
) -> None:
    _, result = await run_to_end(make_container(stream_output=False), checks_job("echo"), sink)

    assert result.status_code == 0
    assert sink.lines == []


async def test_a_command_the_image_lacks_is_one_error_and_leaves_no_container(
    make_container: MakeInfrastructure, sink: RecordingSink, docker_client: docker.DockerClient
) -> None:
    job = checks_job("echo")
    infrastructure = make_container(command=["no-such-program", "-m", "shipway.engine"])

    with pytest.raises(InfrastructureError) as caught:
        await run_in_foreground(infrastructure, job, sink)

    assert "starting the container" in caught.value.message
    assert "no-such-program" in caught.value.message
    assert containers_of(docker_client, job) == []
