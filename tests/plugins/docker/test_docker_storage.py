"""Containers pull their code: an image built with ``--with shipway-git`` and no flow
code runs a deployment whose code is only in a git repository; an image without the
plugin ends the run with one message saying what to add."""

from __future__ import annotations

import hashlib
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest
from _docker_images import DockerCleanup, exclusive, image_exists, shipway_command
from _docker_run_helpers import RecordingSink, run_to_end

from _git_servers import GitServers, new_bare_repository, servers
from shipway.exit_status import ExitStatus
from shipway.infrastructure import Job
from shipway.storage import STORAGE_CACHE_VAR
from shipway_docker import DockerContainer

__all__ = ["servers"]

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

FLOW = "from shipway import flow\n\n\n@flow\ndef hello():\n    print('hello from git')\n"


@pytest.fixture(scope="module")
def git_image(
    docker_client: docker.DockerClient, base_image: str, runtime_image: str
) -> Iterator[str]:
    """An image with shipway and shipway-git but an empty project: no flow code. Its tag
    follows the runtime image's, which changes with shipway's sources."""
    tag = f"shipway-test/storage-git:{hashlib.sha256(runtime_image.encode()).hexdigest()[:12]}"
    with exclusive("storage-git-image"):
        if not image_exists(docker_client, tag):
            with tempfile.TemporaryDirectory() as empty:
                command = [*shipway_command(), "image", "build", empty, "--tag", tag]
                command += ["--with", "shipway-git", "--base", base_image]
                result = subprocess.run(command, capture_output=True, text=True, timeout=1200)
            assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    yield tag


@pytest.fixture
def repository(tmp_path: Path, servers: GitServers) -> tuple[str, str]:
    checkout = tmp_path / "checkout"
    (checkout / "flows").mkdir(parents=True)
    (checkout / "flows" / "hello.py").write_text(FLOW, encoding="utf-8")
    name = f"docker-{uuid.uuid4().hex[:8]}"
    return servers.daemon(name), new_bare_repository(servers, name, checkout)


def _job(url: str, commit: str) -> Job:
    return Job(
        entrypoint="flows/hello.py:hello",
        storage={"type": "git-repository", "url": url},
        storage_ref=commit,
    )


async def test_a_container_pulls_the_code_it_runs(
    git_image: str, repository: tuple[str, str], docker_cleanup: DockerCleanup
) -> None:
    container = DockerContainer(
        image=git_image,
        image_pull_policy="never",
        network_mode="host",  # the git server listens on the host's 127.0.0.1
        env={STORAGE_CACHE_VAR: "/tmp/shipway-cache"},
        labels=docker_cleanup.labels,
    )
    sink = RecordingSink()

    _, result = await run_to_end(container, _job(*repository), sink)

    assert result.status_code == 0, sink.text()
    assert sink.stream("stdout") == [b"hello from git\n"]


async def test_an_image_without_the_storage_plugin_says_so(
    runtime_image: str, repository: tuple[str, str], docker_cleanup: DockerCleanup
) -> None:
    container = DockerContainer(
        image=runtime_image,
        image_pull_policy="never",
        network_mode="host",
        labels=docker_cleanup.labels,
    )
    sink = RecordingSink()

    _, result = await run_to_end(container, _job(*repository), sink)

    assert result.status_code == ExitStatus.CANNOT_START
    errors = sink.text()
    assert "storage git-repository" in errors
    assert "not installed where the run executes" in errors
    assert "--with shipway-git" in errors
    assert "Traceback" not in errors
