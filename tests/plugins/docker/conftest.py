"""Fixtures for the Docker plugin tests: a real engine, and images built offline.

Without a reachable engine the Docker tests skip locally and fail in CI (``CI=true``).
The base image (``shipway-test/debian-python:bookworm``) and the runtime image
(``shipway-test/runtime:<hash>``) are built on first use and reused while their tag
exists; see docs/plugins/docker-images.md.
"""

from __future__ import annotations

from collections.abc import Iterator

import docker
import pytest
from _docker_images import (
    DockerCleanup,
    connect,
    ensure_base_image,
    remove_abandoned,
    runtime_image_in_use,
)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def docker_client() -> Iterator[docker.DockerClient]:
    """A client for the engine the environment names; skips (fails in CI) without one."""
    client = connect()
    remove_abandoned(client)  # what sessions killed before their clean-up left behind
    yield client
    client.close()


@pytest.fixture(scope="session")
def base_image(docker_client: docker.DockerClient) -> str:
    """The tag of the Debian + Python base image, imported from a debootstrap root fs."""
    return ensure_base_image(docker_client)


@pytest.fixture(scope="session")
def runtime_image(docker_client: docker.DockerClient, base_image: str) -> Iterator[str]:
    """The tag of an image built by ``shipway image build`` holding shipway and the test
    project (examples/ plus tests/plugins/docker/project/) in /opt/shipway/project.
    Other sessions leave it alone until this one ends."""
    with runtime_image_in_use(docker_client, base_image) as tag:
        yield tag


@pytest.fixture
def docker_cleanup(docker_client: docker.DockerClient) -> Iterator[DockerCleanup]:
    """Put ``docker_cleanup.labels`` on every container, network and volume a test makes:
    they are all removed when the test ends, whatever its outcome."""
    cleanup = DockerCleanup(docker_client)
    yield cleanup
    cleanup.remove_all()
