"""The Docker plugin keeps the whole infrastructure contract (shipway.testing's suite).

The standard flows are not in the test image (its ``flows/`` holds the examples and the
Docker checks), so each container gets them mounted over the image's ``flows/``, in its
working directory, where the engine resolves ``flows/hello.py:hello``.
"""

from __future__ import annotations

from collections.abc import Collection, Hashable

import docker
import pytest
from _docker_images import TEST_RUN_LABEL, DockerCleanup

from shipway.infrastructure import Infrastructure
from shipway.testing import FlowJobs, InfrastructureConformance, standard_flows_dir
from shipway_docker import DockerContainer

IMAGE_WORKDIR = "/opt/shipway/project"


class TestDockerConformance(InfrastructureConformance):
    @pytest.fixture
    def infrastructure(self, runtime_image: str, docker_cleanup: DockerCleanup) -> DockerContainer:
        return DockerContainer(
            image=runtime_image,
            image_pull_policy="never",
            labels=docker_cleanup.labels,
            volumes=[f"{standard_flows_dir()}:{IMAGE_WORKDIR}/flows:ro"],
        )

    @pytest.fixture
    def flow_jobs(self) -> FlowJobs:
        return FlowJobs()  # the image's working directory

    def platform_snapshot(self, infrastructure: Infrastructure) -> Collection[Hashable]:
        """This test's containers, running or not."""
        label = f"{TEST_RUN_LABEL}={infrastructure.labels[TEST_RUN_LABEL]}"
        client = docker.from_env()
        try:
            return {c.id for c in client.containers.list(all=True, filters={"label": label})}
        finally:
            client.close()
