"""What a container gets: volumes, networks, the host by name, and memory limits."""

from __future__ import annotations

import contextlib
import ipaddress
import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker
import pytest
from _docker_images import DockerCleanup
from _docker_run_helpers import (
    MakeInfrastructure,
    RecordingSink,
    checks_job,
    run_to_end,
)

from shipway.attempt import state_for_result
from shipway.states import StateType
from shipway_docker import DockerContainer

pytestmark = pytest.mark.anyio


@pytest.fixture
def make_container(runtime_image: str, docker_cleanup: DockerCleanup) -> MakeInfrastructure:
    def make(**fields: Any) -> DockerContainer:
        return DockerContainer(
            image=runtime_image,
            image_pull_policy="never",
            labels=docker_cleanup.labels,
            auto_remove=True,
            **fields,
        )

    return make


@pytest.fixture
def sink() -> RecordingSink:
    return RecordingSink()


async def test_a_mounted_directory_is_written_by_the_flow_and_seen_on_the_host(
    make_container: MakeInfrastructure, sink: RecordingSink, tmp_path: Path
) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    job = checks_job("write_file", path="/data/out.txt", text="written in a container")

    _, result = await run_to_end(make_container(volumes=[f"{shared}:/data"]), job, sink)

    assert result.status_code == 0, sink.lines
    assert (shared / "out.txt").read_text() == "written in a container"


async def test_relative_volumes_come_from_the_project_directory_and_ro_is_enforced(
    make_container: MakeInfrastructure, sink: RecordingSink, tmp_path: Path
) -> None:
    (tmp_path / "inputs").mkdir()
    (tmp_path / "inputs" / "in.txt").write_text("from the host")
    infrastructure = make_container(volumes=["./inputs:/inputs:ro"])
    read = checks_job("read_file", path="/inputs/in.txt").replace(working_dir=str(tmp_path))
    write = checks_job("write_file", path="/inputs/new.txt", text="x").replace(
        working_dir=str(tmp_path)
    )

    _, read_result = await run_to_end(infrastructure, read, sink)
    _, write_result = await run_to_end(infrastructure, write, sink)

    assert read_result.status_code == 0
    assert b"read 'from the host'\n" in sink.stream("stdout")
    assert write_result.status_code == 1
    assert "Read-only file system" in sink.text("stderr")
    assert not (tmp_path / "inputs" / "new.txt").exists()


@pytest.fixture
def two_networks(
    docker_client: docker.DockerClient, docker_cleanup: DockerCleanup
) -> list[tuple[str, ipaddress.IPv4Network]]:
    """Two user-defined networks (removed after the test) and their subnets."""
    networks = []
    for index in (1, 2):
        network = docker_client.networks.create(
            f"shipway-test-{docker_cleanup.run_id}-{index}", labels=docker_cleanup.labels
        )
        network.reload()
        subnet = network.attrs["IPAM"]["Config"][0]["Subnet"]
        networks.append((network.name, ipaddress.IPv4Network(subnet)))
    return networks


async def test_the_container_joins_every_network_before_it_starts(
    make_container: MakeInfrastructure,
    sink: RecordingSink,
    two_networks: list[tuple[str, ipaddress.IPv4Network]],
) -> None:
    infrastructure = make_container(networks=[name for name, _ in two_networks])

    _, result = await run_to_end(infrastructure, checks_job("addresses"), sink)

    assert result.status_code == 0, sink.lines
    line = sink.stream("stdout")[0].decode()
    assert line.startswith("addresses ")
    addresses = [ipaddress.IPv4Address(a) for a in json.loads(line.split(" ", 1)[1]).values()]
    for name, subnet in two_networks:  # the flow, right at start, has an address in each
        assert any(address in subnet for address in addresses), (name, subnet, addresses)


async def test_network_mode_none_leaves_only_loopback(
    make_container: MakeInfrastructure, sink: RecordingSink
) -> None:
    _, result = await run_to_end(make_container(network_mode="none"), checks_job("addresses"), sink)

    assert result.status_code == 0, sink.lines
    assert sink.stream("stdout") == [b"addresses {}\n"]


@contextlib.contextmanager
def tcp_server_on_the_host() -> Iterator[tuple[int, list[bytes]]]:
    """A one-line echo server on every interface of this host (so on the docker0
    bridge too), on an ephemeral port; yields the port and what it received."""
    received: list[bytes] = []
    server = socket.create_server(("0.0.0.0", 0))
    server.settimeout(60)

    def serve() -> None:
        with contextlib.suppress(OSError):
            connection, _ = server.accept()
            with connection:
                line = connection.makefile("rb").readline()
                received.append(line)
                connection.sendall(b"pong from the host\n")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield server.getsockname()[1], received
    finally:
        server.close()
        thread.join(timeout=5)


async def test_the_host_is_reachable_as_host_docker_internal(
    make_container: MakeInfrastructure, sink: RecordingSink
) -> None:
    with tcp_server_on_the_host() as (port, received):
        _, result = await run_to_end(make_container(), checks_job("call_host", port=port), sink)

    assert result.status_code == 0, sink.lines
    assert received == [b"ping from the container\n"]
    assert sink.stream("stdout") == [b"answer 'pong from the host'\n"]


async def test_out_of_memory_is_reported_with_its_reason(
    make_container: MakeInfrastructure, sink: RecordingSink
) -> None:
    infrastructure = make_container(mem_limit="48m", memswap_limit="48m")

    _, result = await run_to_end(infrastructure, checks_job("hog"), sink)

    assert result.status_code == 137, sink.lines
    assert result.reason == "out of memory (mem_limit 48m)"
    assert b"holding 4 MB\n" in sink.stream("stdout")  # it ran until the limit, not before
    assert "SIGKILL" in result.describe()
    assert "out of memory (mem_limit 48m)" in result.describe()
    assert state_for_result(result).type is StateType.CRASHED
