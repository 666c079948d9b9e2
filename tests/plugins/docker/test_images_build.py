"""``shipway image build``: a runnable image built on a real engine with no network inside.

The images are built through the real CLI, on the offline test base image, and run
with ``docker run`` to see that shipway, the plugins, the project's requirements and
its flows are really in them.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tarfile
import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path

import docker
import docker.errors
import pytest
from _docker_images import (
    ROOT,
    DockerCleanup,
    make_test_project,
    remove_image_and_descendants,
    shipway_command,
)

import shipway
from shipway.infrastructure import Job
from shipway_docker._images import _docker_build, _probe_python

BUILD_TIMEOUT = 900


def shipway_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*shipway_command(), *args],
        capture_output=True,
        text=True,
        timeout=BUILD_TIMEOUT,
        env={**os.environ, **(env or {})},
    )


def run_in(
    client: docker.DockerClient,
    cleanup: DockerCleanup,
    image: str,
    command: list[str],
    environment: dict[str, str] | None = None,
) -> tuple[int, str]:
    """``docker run IMAGE COMMAND``: the exit status and the output (stdout and stderr)."""
    container = client.containers.run(
        image,
        command,
        environment=environment,
        labels=cleanup.labels,
        detach=True,
    )
    try:
        status = container.wait(timeout=120)["StatusCode"]
        return status, container.logs().decode()
    finally:
        container.remove(force=True)


def unique_tag(name: str) -> str:
    return f"shipway-test/{name}:{uuid.uuid4().hex[:12]}"


def remove_image(client: docker.DockerClient, tag: str) -> None:
    with contextlib.suppress(docker.errors.ImageNotFound):
        client.images.remove(tag, force=True)


@pytest.fixture(scope="module")
def built(
    docker_client: docker.DockerClient, base_image: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, subprocess.CompletedProcess[str]]]:
    """One image of a project with a requirements.txt, built with ``--with shipway-process``;
    the project also holds what must not be copied (.git, .venv, bytecode)."""
    project = make_test_project(tmp_path_factory.mktemp("image-build") / "project")
    (project / "requirements.txt").write_text("iniconfig\n", encoding="utf-8")
    for junk in (
        ".git/HEAD",
        ".venv/bin/python",
        "flows/__pycache__/hello.cpython-311.pyc",
        "stale.pyc",
    ):
        (project / junk).parent.mkdir(parents=True, exist_ok=True)
        (project / junk).write_text("not for the image\n", encoding="utf-8")
    tag = unique_tag("image-build")
    result = shipway_cli(
        "image",
        "build",
        str(project),
        "--tag",
        tag,
        "--base",
        base_image,
        "--with",
        "shipway-process",
    )
    yield tag, result
    remove_image(docker_client, tag)


@pytest.fixture
def image(built: tuple[str, subprocess.CompletedProcess[str]]) -> str:
    tag, result = built
    assert result.returncode == 0, result.stdout + result.stderr
    return tag


def test_the_build_reports_the_tag_and_streams_the_build_log(
    built: tuple[str, subprocess.CompletedProcess[str]],
) -> None:
    tag, result = built
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"Built {tag} (sha256:" in result.stdout + result.stderr
    assert "--no-index --find-links /tmp/wheels" in result.stderr  # the Dockerfile's step
    # pip ran in the build, or an identical earlier build (another session's, say) left
    # the step in the engine's layer cache: either way the step is in the log.
    assert "Successfully installed" in result.stderr or "Using cache" in result.stderr


def test_the_image_holds_shipway_the_plugin_and_the_requirements(
    docker_client: docker.DockerClient, docker_cleanup: DockerCleanup, image: str
) -> None:
    status, output = run_in(
        docker_client,
        docker_cleanup,
        image,
        [
            "python",
            "-c",
            "import sys, shipway, shipway_process, iniconfig; "
            "print(shipway.__version__, sys.prefix)",
        ],
    )
    assert status == 0, output
    assert output.split()[:2] == [shipway.__version__, "/opt/shipway/venv"]
    status, output = run_in(docker_client, docker_cleanup, image, ["shipway", "plugins", "--json"])
    assert status == 0, output
    plugins = {plugin["name"]: plugin for plugin in json.loads(output)}
    assert plugins["process"]["distribution"] == "shipway-process"
    assert plugins["process"]["status"] == "loaded"
    assert "docker-container" not in plugins  # only what was asked for goes in


def test_the_image_is_labelled_and_runs_the_engine_in_the_project(
    docker_client: docker.DockerClient, image: str
) -> None:
    config = docker_client.images.get(image).attrs["Config"]
    assert config["Labels"]["io.shipway.version"] == shipway.__version__
    assert config["Labels"]["io.shipway.python"] == "3.11"
    assert config["WorkingDir"] == "/opt/shipway/project"
    assert config["Cmd"] == ["python", "-m", "shipway.engine"]
    assert "PYTHONUNBUFFERED=1" in config["Env"]


def test_the_project_is_copied_without_vcs_virtualenvs_or_bytecode(
    docker_client: docker.DockerClient, docker_cleanup: DockerCleanup, image: str
) -> None:
    status, output = run_in(
        docker_client,
        docker_cleanup,
        image,
        [
            "python",
            "-c",
            "import os; print(sorted(os.path.join(d, f) for d, _, fs in os.walk('.') for f in fs))",
        ],
    )
    assert status == 0, output
    assert "./flows/hello.py" in output
    assert "./shipway.yaml" in output
    assert "./requirements.txt" in output
    for junk in (".git", ".venv", "__pycache__", ".pyc"):
        assert junk not in output


def test_a_flow_runs_in_the_image_through_the_engine(
    docker_client: docker.DockerClient, docker_cleanup: DockerCleanup, image: str
) -> None:
    job = Job(entrypoint="flows/hello.py:hello_world", parameters={"name": "container"})
    status, output = run_in(
        docker_client,
        docker_cleanup,
        image,
        ["python", "-m", "shipway.engine"],
        environment={"SHIPWAY_FLOW_RUN": job.to_json()},
    )
    assert status == 0, output
    assert "Hello container!" in output


def test_the_test_runtime_image_runs_the_example_flow_by_default(
    docker_client: docker.DockerClient, docker_cleanup: DockerCleanup, runtime_image: str
) -> None:
    job = Job(entrypoint="flows/hello.py:hello_world", parameters={"name": "runtime"})
    status, output = run_in(
        docker_client,
        docker_cleanup,
        runtime_image,
        [],  # the image's CMD: the engine
        environment={"SHIPWAY_FLOW_RUN": job.to_json()},
    )
    assert status == 0, output
    assert "Hello runtime!" in output


def test_every_build_step_runs_without_network(
    docker_client: docker.DockerClient,
    base_image: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The build the CLI runs (``_docker_build``) gives its steps only loopback, so a
    Dockerfile that worked here cannot depend on a network CI does not have."""
    token = uuid.uuid4().hex  # a step never built before: its output is not from the cache
    (tmp_path / "Dockerfile").write_text(
        "ARG BASE_IMAGE\n"
        "FROM ${BASE_IMAGE}\n"
        f"RUN python3 -c \"import socket; print('{token}', "
        'sorted(name for _, name in socket.if_nameindex()))"\n',
        encoding="utf-8",
    )
    tag = unique_tag("no-network")
    try:
        _docker_build(
            docker_client, tmp_path, tag, base_image, _probe_python(docker_client, base_image)
        )
    finally:
        remove_image(docker_client, tag)
    assert f"{token} ['lo']" in capsys.readouterr().err


def assert_one_clear_error(
    result: subprocess.CompletedProcess[str], *fragments: str, status: int = 2
) -> None:
    assert result.returncode == status, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in result.stderr, result.stderr


def test_a_missing_base_image_is_one_clear_error(
    docker_client: docker.DockerClient, tmp_path: Path
) -> None:
    missing = f"shipway-test/no-such-base:{uuid.uuid4().hex[:8]}"
    result = shipway_cli(
        "image",
        "build",
        str(make_test_project(tmp_path / "p")),
        "--tag",
        unique_tag("never"),
        "--base",
        missing,
    )
    assert_one_clear_error(result, repr(missing), "must exist locally or be pullable")


def test_a_base_image_without_python_is_one_clear_error(
    docker_client: docker.DockerClient, tmp_path: Path
) -> None:
    rootfs = tmp_path / "rootfs.tar"
    readme = tmp_path / "README"
    readme.write_text("an image with no python3\n", encoding="utf-8")
    with tarfile.open(rootfs, "w") as tar:
        tar.add(readme, arcname="README")
    tag = unique_tag("no-python")
    docker_client.api.import_image_from_file(
        str(rootfs), repository=tag.split(":")[0], tag=tag.split(":")[1]
    )
    try:
        result = shipway_cli(
            "image",
            "build",
            str(make_test_project(tmp_path / "p")),
            "--tag",
            unique_tag("never"),
            "--base",
            tag,
        )
        left_behind = docker_client.containers.list(all=True, filters={"ancestor": tag})
    finally:
        remove_image(docker_client, tag)
    assert_one_clear_error(result, repr(tag), "has no working python3")
    assert left_behind == []  # the probe container is removed though it could not start


def test_a_requirement_pip_cannot_find_is_one_clear_error(
    docker_client: docker.DockerClient, base_image: str, tmp_path: Path
) -> None:
    project = make_test_project(tmp_path / "p")
    (project / "requirements.txt").write_text("shipway-test-no-such-package==0.0.1\n")
    result = shipway_cli(
        "image", "build", str(project), "--tag", unique_tag("never"), "--base", base_image
    )
    assert_one_clear_error(
        result,
        "pip wheel failed",
        "shipway-test-no-such-package",
        "the image build itself has no network",
    )


@pytest.mark.slow
def test_a_failing_build_step_is_one_clear_error_with_its_output(
    docker_client: docker.DockerClient, base_image: str, tmp_path: Path
) -> None:
    """A base image whose Python lacks ensurepip: ``python3 -m venv`` fails in the build."""
    (tmp_path / "Dockerfile").write_text(
        f"FROM {base_image}\nRUN rm -rf /usr/lib/python3*/ensurepip\n", encoding="utf-8"
    )
    broken = unique_tag("no-ensurepip")
    broken_image, _ = docker_client.images.build(
        path=str(tmp_path), tag=broken, rm=True, forcerm=True
    )
    try:
        result = shipway_cli(
            "image",
            "build",
            str(make_test_project(tmp_path / "p")),
            "--tag",
            unique_tag("never"),
            "--base",
            broken,
        )
    finally:
        remove_image_and_descendants(docker_client, broken_image.id)
    assert_one_clear_error(result, "docker build of", "failed", "python3 -m venv", "ensurepip")


def test_an_unreachable_daemon_is_one_clear_error(tmp_path: Path) -> None:
    socket = tmp_path / "nothing-listens-here.sock"
    result = shipway_cli(
        "image",
        "build",
        str(make_test_project(tmp_path / "p")),
        "--tag",
        unique_tag("never"),
        "--base",
        "shipway-test/debian-python:bookworm",
        env={"DOCKER_HOST": f"unix://{socket}"},
    )
    # Nothing wrong with the input: the could-not-start status, not the one for a mistake.
    assert_one_clear_error(
        result, f"cannot reach the Docker engine at unix://{socket}", "dockerd", status=3
    )


def test_an_unknown_distribution_is_refused_before_any_docker_work(tmp_path: Path) -> None:
    result = shipway_cli(
        "image",
        "build",
        str(make_test_project(tmp_path / "p")),
        "--tag",
        unique_tag("never"),
        "--with",
        "shipway-test-not-installed",
        env={"DOCKER_HOST": f"unix://{tmp_path / 'no.sock'}"},  # never contacted
    )
    assert_one_clear_error(result, "'shipway-test-not-installed' is not installed here")


def test_the_dockerfile_ships_in_the_wheel(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--wheel-dir",
            str(tmp_path),
            str(ROOT / "plugins/docker"),
        ],
        capture_output=True,
        text=True,
        timeout=BUILD_TIMEOUT,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    (wheel,) = tmp_path.glob("shipway_docker-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        dockerfile = archive.read("shipway_docker/images/Dockerfile").decode()
    assert dockerfile == (ROOT / "plugins/docker/src/shipway_docker/images/Dockerfile").read_text()
    assert "ARG BASE_IMAGE" in dockerfile
    assert "--no-index" in dockerfile
