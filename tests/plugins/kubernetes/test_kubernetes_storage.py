"""A pod pulls its code: a deployment whose code is only in a git repository (served on
the host's 127.0.0.1, reached with hostNetwork) runs on the test Kubernetes stack from an
image that holds shipway-git and no flow code."""

from __future__ import annotations

import hashlib
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import _docker_images
import anyio
import pytest
from _kube_jobs import kube_job
from _kube_stack import KubeCluster

from _git_servers import GitServers, new_bare_repository, servers
from shipway.infrastructure import Job
from shipway.storage import STORAGE_CACHE_VAR
from shipway.testing import run_job

__all__ = ["servers"]

pytestmark = pytest.mark.slow

FLOW = "from shipway import flow\n\n\n@flow\ndef hello():\n    print('hello from git in a pod')\n"


@pytest.fixture(scope="module")
def git_image(base_image: str, runtime_image: str) -> Iterator[str]:
    """The same image the Docker storage tests build: shipway, shipway-git, no flows."""
    client = _docker_images.connect()
    tag = f"shipway-test/storage-git:{hashlib.sha256(runtime_image.encode()).hexdigest()[:12]}"
    with _docker_images.exclusive("storage-git-image"):
        if not _docker_images.image_exists(client, tag):
            with tempfile.TemporaryDirectory() as empty:
                command = [*_docker_images.shipway_command(), "image", "build", empty]
                command += ["--tag", tag, "--with", "shipway-git", "--base", base_image]
                result = subprocess.run(command, capture_output=True, text=True, timeout=1200)
            assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    client.close()
    yield tag


def test_a_pod_pulls_the_code_it_runs(
    kube_cluster: KubeCluster,
    kube_namespace: str,
    git_image: str,
    servers: GitServers,
    tmp_path: Path,
) -> None:
    checkout = tmp_path / "checkout"
    (checkout / "flows").mkdir(parents=True)
    (checkout / "flows" / "hello.py").write_text(FLOW, encoding="utf-8")
    name = f"kube-{uuid.uuid4().hex[:8]}"
    commit = new_bare_repository(servers, name, checkout)
    infrastructure = kube_job(
        kube_cluster,
        kube_namespace,
        git_image,
        command=None,  # the image's own: python -m shipway.engine, no project directory
        env={STORAGE_CACHE_VAR: "/tmp/shipway-cache"},
        customizations=[{"op": "add", "path": "/spec/template/spec/hostNetwork", "value": True}],
    )
    job = Job(
        entrypoint="flows/hello.py:hello",
        storage={"type": "git-repository", "url": servers.daemon(name)},
        storage_ref=commit,
    )

    finished = anyio.run(lambda: run_job(infrastructure, job, timeout=240))

    assert finished.result.status_code == 0, finished.output.text()
    assert "hello from git in a pod" in finished.output.text()
