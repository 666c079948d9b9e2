"""The ``shipway`` command with docker-container deployments: run, Ctrl-C, preview,
schema, and the one-line errors."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import docker
import docker.errors
import pytest
from _docker_images import DockerCleanup

TIMEOUT_SECONDS = 120
RUNNING_LINE = re.compile(r"running on docker-container as (?P<identifier>\S+)")


def shipway_executable() -> str:
    return str(Path(sys.executable).parent / "shipway")


def environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHIPWAY_")}
    env.update(COLUMNS="250", NO_COLOR="1")
    return env


def shipway(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [shipway_executable(), *args],
        cwd=cwd,
        env=environment(),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_SECONDS,
    )


@pytest.fixture
def project(tmp_path: Path, runtime_image: str, docker_cleanup: DockerCleanup) -> Path:
    """A deployment file naming flows that live in the image (none on the host)."""
    labels = json.dumps(docker_cleanup.labels)
    (tmp_path / "shipway.yaml").write_text(
        f"""
infrastructure:
  box:
    type: docker-container
    image: {runtime_image}
    image_pull_policy: IfNotPresent
    auto_remove: true
    labels: {labels}
deployments:
  - name: hello
    flow: flows/hello.py:hello_world
    infrastructure: box
  - name: sleeper
    flow: flows/checks.py:sleeper
    infrastructure: box
  - name: stubborn
    flow: flows/checks.py:stubborn
    infrastructure: box
  - name: secrets
    flow: flows/checks.py:echo
    infrastructure:
      type: docker-container
      image: {runtime_image}
      env: {{API_TOKEN: s3cret-token, LOG_LEVEL: debug}}
      image_registry: {{username: robot, password: hunter2-password}}
  - name: unreachable
    flow: flows/hello.py:hello_world
    infrastructure:
      type: docker-container
      docker_host: unix:///nonexistent.sock
  - name: absent-image
    flow: flows/hello.py:hello_world
    infrastructure:
      type: docker-container
      image: shipway-test/absent:{docker_cleanup.run_id}
      image_pull_policy: never
""",
        encoding="utf-8",
    )
    return tmp_path


def test_shipway_run_streams_the_flow_and_exits_0(project: Path) -> None:
    result = shipway("run", "hello", "-p", "name=docker", cwd=project)

    assert result.returncode == 0, result.stderr
    assert result.stdout == "Hello docker!\n"
    assert RUNNING_LINE.search(result.stderr)
    assert "Completed" in result.stderr


class LiveShipway:
    """``shipway run`` in the background, its output read as it arrives."""

    def __init__(self, cwd: Path, *args: str) -> None:
        self.process = subprocess.Popen(
            [shipway_executable(), "run", *args],
            cwd=cwd,
            env=environment(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.stdout: list[str] = []
        self.stderr: list[str] = []
        self._changed = threading.Condition()
        self._readers = [
            threading.Thread(target=self._read, args=(self.process.stdout, self.stdout)),
            threading.Thread(target=self._read, args=(self.process.stderr, self.stderr)),
        ]
        for reader in self._readers:
            reader.start()

    def _read(self, stream: object, into: list[str]) -> None:
        for line in stream:  # type: ignore[attr-defined]
            with self._changed:
                into.append(line)
                self._changed.notify_all()

    def wait_for(self, lines: list[str], pattern: str) -> re.Match[str]:
        deadline = time.monotonic() + TIMEOUT_SECONDS
        with self._changed:
            while True:
                for line in lines:
                    if found := re.search(pattern, line):
                        return found
                if time.monotonic() > deadline:
                    raise AssertionError(f"{pattern!r} never came: {self.stdout} {self.stderr}")
                self._changed.wait(1)

    def finish(self) -> int:
        try:
            code = self.process.wait(timeout=TIMEOUT_SECONDS)
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait()
            for reader in self._readers:
                reader.join(timeout=10)
        return code


def test_ctrl_c_stops_the_container_gracefully(
    project: Path, docker_client: docker.DockerClient
) -> None:
    live = LiveShipway(project, "sleeper")
    try:
        identifier = live.wait_for(live.stderr, RUNNING_LINE.pattern)["identifier"]
        live.wait_for(live.stdout, r"^started$")

        live.process.send_signal(signal.SIGINT)
    finally:
        code = live.finish()

    stderr = "".join(live.stderr)
    assert code == 130, stderr
    assert live.stdout == ["started\n", "cleanup\n"], stderr
    assert "Stopping flow run" in stderr and "SIGINT received" in stderr
    assert "Cancelled" in stderr
    assert "Traceback" not in stderr
    with pytest.raises(docker.errors.NotFound):  # stopped, then removed (auto_remove)
        docker_client.containers.get(identifier.rpartition(":")[2])


def test_a_second_ctrl_c_kills_a_container_ignoring_sigterm(
    project: Path, docker_client: docker.DockerClient
) -> None:
    live = LiveShipway(project, "stubborn")
    try:
        identifier = live.wait_for(live.stderr, RUNNING_LINE.pattern)["identifier"]
        live.wait_for(live.stdout, r"^started$")
        live.process.send_signal(signal.SIGINT)
        live.wait_for(live.stderr, "Stopping flow run")

        live.process.send_signal(signal.SIGINT)
    finally:
        code = live.finish()

    stderr = "".join(live.stderr)
    assert code == 130, stderr
    assert "stopping by force" in stderr
    assert live.stdout == ["started\n"], stderr  # SIGKILL: no cleanup ran
    assert "Traceback" not in stderr
    with pytest.raises(docker.errors.NotFound):
        docker_client.containers.get(identifier.rpartition(":")[2])


def test_infra_preview_shows_docker_run_with_secrets_masked(project: Path) -> None:
    result = shipway("infra", "preview", "secrets", "-p", "message=hi", cwd=project)

    assert result.returncode == 0, result.stderr
    preview = result.stdout
    assert preview.startswith("docker run \\\n")
    assert "-e 'API_TOKEN=********'" in preview
    assert "-e LOG_LEVEL=debug" in preview
    assert "s3cret-token" not in preview
    assert "hunter2" not in preview and "robot" not in preview
    assert "--add-host host.docker.internal:host-gateway" in preview
    assert preview.rstrip().endswith("python -m shipway.engine")


def test_infra_schema_lists_the_docker_fields(project: Path) -> None:
    table = shipway("infra", "schema", "docker-container", cwd=project)
    as_json = shipway("infra", "schema", "docker-container", "--json", cwd=project)

    assert table.returncode == 0, table.stderr
    for field in (
        "image",
        "image_pull_policy",
        "image_registry",
        "networks",
        "network_mode",
        "volumes",
        "auto_remove",
        "stream_output",
        "mem_limit",
        "memswap_limit",
        "privileged",
        "docker_host",
    ):
        assert re.search(rf"\b{field}\b", table.stdout), field
    assert "shipway_docker._container.DockerContainer" in table.stdout
    schema = json.loads(as_json.stdout)
    assert schema["properties"]["type"]["const"] == "docker-container"
    assert schema["additionalProperties"] is False
    registry = schema["$defs"]["ImageRegistry"]["properties"]
    assert registry["password"]["format"] == "password"


@pytest.mark.parametrize(
    ("deployment", "expected", "status"),
    [
        # An engine that cannot be reached: could not start (3), not a mistake (2).
        ("unreachable", "cannot reach the Docker engine at unix:///nonexistent.sock", 3),
        ("absent-image", "is not on the Docker engine", 2),
    ],
)
def test_errors_before_the_run_are_one_message_without_traceback(
    project: Path, deployment: str, expected: str, status: int
) -> None:
    result = shipway("run", deployment, cwd=project)

    assert result.returncode == status, result.stderr
    assert expected in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
