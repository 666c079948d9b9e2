"""Without a reachable engine the Docker tests skip locally, saying how to get one, and
fail under CI=true, where they must never be skipped silently.

Each case runs one Docker test in a child pytest whose DOCKER_HOST names nothing.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from _docker_images import ROOT

A_DOCKER_TEST = (
    "tests/plugins/docker/test_docker_run.py"
    "::test_a_failing_flow_reports_exit_code_1_and_its_traceback"
)


def pytest_without_engine(tmp_path: Path, ci: str | None) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if key != "CI"}
    env["DOCKER_HOST"] = f"unix://{tmp_path / 'no-engine.sock'}"
    env["COLUMNS"] = "500"  # summary lines in full
    if ci is not None:
        env["CI"] = ci
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rs", A_DOCKER_TEST],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("ci", [None, "false"])
def test_locally_they_skip_saying_how_to_get_an_engine(tmp_path: Path, ci: str | None) -> None:
    result = pytest_without_engine(tmp_path, ci)

    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines()[-1].startswith("1 skipped in")
    assert (
        "no Docker engine reachable: apt-get install docker.io and start dockerd" in result.stdout
    )
    assert "no-engine.sock" in result.stdout  # and which engine was tried


@pytest.mark.parametrize("ci", ["true", "1"])
def test_in_ci_they_fail_instead(tmp_path: Path, ci: str) -> None:
    result = pytest_without_engine(tmp_path, ci)

    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stdout.splitlines()[-1].startswith("1 error in")  # not "1 skipped"
    assert f"CI={ci}: Docker tests are not skipped in CI" in result.stdout
