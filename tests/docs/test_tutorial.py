"""The plugin the tutorial (docs/tutorial/index.md) builds really works: its package,
docs/tutorial/code/shipway-sandbox, is installed with the core into a fresh virtual
environment, and everything the tutorial shows is done with it there."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
CODE = ROOT / "docs" / "tutorial" / "code"
TUTORIAL = ROOT / "docs" / "tutorial" / "index.md"
# Generous: installing and starting interpreters on a loaded 2-core machine is slow.
INSTALL_TIMEOUT = 600
TIMEOUT = 120

# Stops a run from a process other than the one that started it, as an agent would.
KILL_SCRIPT = """
import sys

import anyio
from shipway.infrastructure import InfrastructureNotAvailable, InfrastructureNotFound
from shipway_sandbox import Sandbox

try:
    anyio.run(Sandbox().kill, sys.argv[1], 10)
except InfrastructureNotFound as exc:
    print("not found:", exc)
except InfrastructureNotAvailable as exc:
    print("not available:", exc)
else:
    print("stopped")
"""

Shipway = Callable[..., "subprocess.CompletedProcess[str]"]


def _environment(**extra: str) -> dict[str, str]:
    prefixes = ("SHIPWAY_", "VIRTUAL_ENV", "PYTEST_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}
    env.pop("PYTHONPATH", None)
    env.update(NO_COLOR="1", COLUMNS="250", PIP_DISABLE_PIP_VERSION_CHECK="1", **extra)
    return env


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A new virtual environment with only the core and the tutorial's plugin (and
    pytest, for the plugin's own tests)."""
    directory = tmp_path_factory.mktemp("tutorial") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(directory)], check=True, timeout=TIMEOUT)
    install = subprocess.run(
        [
            str(directory / "bin" / "python"),
            "-m",
            "pip",
            "install",
            "--quiet",
            str(ROOT / "core"),
            f"{CODE / 'shipway-sandbox'}[test]",
        ],
        env=_environment(),
        capture_output=True,
        text=True,
        timeout=INSTALL_TIMEOUT,
    )
    assert install.returncode == 0, install.stdout + install.stderr
    return directory


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of the tutorial's project: flows/report.py and shipway.yaml."""
    directory = tmp_path / "project"
    shutil.copytree(CODE / "project", directory, ignore=shutil.ignore_patterns("__pycache__"))
    return directory


@pytest.fixture
def shipway(venv: Path, project: Path) -> Shipway:
    def run(*args: str, **extra_env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(venv / "bin" / "shipway"), *args],
            cwd=project,
            env=_environment(**extra_env),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
        )

    return run


def _kill(venv: Path, identifier: str) -> str:
    result = subprocess.run(
        [str(venv / "bin" / "python"), "-c", KILL_SCRIPT, identifier],
        env=_environment(),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def _start_slow_run(venv: Path, project: Path) -> tuple[subprocess.Popen[bytes], str]:
    """Start `shipway run slow` and wait until the flow is inside its sleep;
    return the process and the run's identifier."""
    out, err = project / "out.txt", project / "err.txt"
    with out.open("wb") as stdout, err.open("wb") as stderr:
        process = subprocess.Popen(
            [str(venv / "bin" / "shipway"), "run", "slow"],
            cwd=project,
            env=_environment(),
            stdin=subprocess.DEVNULL,
            stdout=stdout,
            stderr=stderr,
        )
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        found = re.search(r"running on sandbox as (\S+)", err.read_text(errors="replace"))
        if found and "Working..." in out.read_text(errors="replace"):
            return process, found.group(1)
        if process.poll() is not None:
            break
        time.sleep(0.1)
    process.kill()
    pytest.fail(f"the run did not start:\n{err.read_text()}\n{out.read_text()}")


def test_shipway_plugins_lists_the_sandbox_plugin(shipway: Shipway) -> None:
    result = shipway("plugins", "--json")
    assert result.returncode == 0, result.stderr
    listed = json.loads(result.stdout)
    # A fresh environment: the tutorial's plugin, and the core's own storage type.
    assert [(p["name"], p["kind"]) for p in listed if p["kind"] == "storage"] == [
        ("local-file-system", "storage")
    ]
    (plugin,) = [p for p in listed if p["kind"] == "infrastructure"]
    assert plugin["name"] == "sandbox"
    assert plugin["kind"] == "infrastructure"
    assert plugin["distribution"] == "shipway-sandbox"
    assert plugin["module"] == "shipway_sandbox.plugin"
    assert plugin["status"] == "loaded"
    assert plugin["class_name"] == "Sandbox"
    assert "shipway_infrastructure_types" in plugin["hooks"]


def test_the_schema_shows_the_fields_the_tutorial_adds(shipway: Shipway) -> None:
    result = shipway("infra", "schema", "sandbox", "--json")
    assert result.returncode == 0, result.stderr
    properties = json.loads(result.stdout)["properties"]
    assert {"type", "env", "command", "allow_env", "timeout_seconds"} <= set(properties)
    assert all(properties[name].get("description") for name in ("allow_env", "timeout_seconds"))


def test_a_run_sees_only_the_allowed_environment(shipway: Shipway) -> None:
    result = shipway("run", "report", "-p", "name=sandbox", API_TOKEN="s3cret")
    assert result.returncode == 0, result.stderr
    assert "Hello sandbox!" in result.stdout
    seen = re.search(r"^The flow sees: (.*)$", result.stdout, re.MULTILINE)
    assert seen, result.stdout
    names = set(seen.group(1).split())
    assert {"PATH", "PYTHONUNBUFFERED", "SHIPWAY_FLOW_RUN", "REPORT_DATE"} <= names
    assert "API_TOKEN" not in names
    assert "running on sandbox as" in result.stderr
    assert "Completed" in result.stderr


def test_an_unknown_field_is_rejected_with_its_location(shipway: Shipway) -> None:
    result = shipway("run", "report", "--override", "timout_seconds=5")
    assert result.returncode == 2
    assert "timout_seconds" in result.stderr
    assert "Traceback" not in result.stderr


def test_preview_shows_the_command_masks_secrets_and_starts_nothing(
    shipway: Shipway, project: Path
) -> None:
    result = shipway(
        "infra",
        "preview",
        "report",
        "--override",
        "env.API_TOKEN=abc",
        "--override",
        "command=[touch, started.txt]",
        API_TOKEN="s3cret",
    )
    assert result.returncode == 0, result.stderr
    assert f"cd {project} &&" in result.stdout
    assert "env -i" in result.stdout
    assert "API_TOKEN='********'" in result.stdout
    assert "abc" not in result.stdout and "s3cret" not in result.stdout
    assert "REPORT_DATE=2024-06-30" in result.stdout
    assert "SHIPWAY_FLOW_RUN=" in result.stdout
    assert result.stdout.rstrip().endswith("touch started.txt")
    assert not (project / "started.txt").exists()


def test_preview_of_the_engine_command(shipway: Shipway) -> None:
    result = shipway("infra", "preview", "slow-limited")
    assert result.returncode == 0, result.stderr
    assert "-m shipway.engine" in result.stdout
    assert "# stopped after 5 s" in result.stdout


def test_the_time_limit_stops_the_run(shipway: Shipway) -> None:
    result = shipway("run", "slow-limited")  # the `quick` block: timeout_seconds: 5
    assert result.returncode == 143, result.stderr  # the engine's status on SIGTERM
    assert "time limit of 5 s reached" in result.stderr


def test_kill_from_another_process_stops_the_run(venv: Path, project: Path) -> None:
    process, identifier = _start_slow_run(venv, project)
    try:
        assert _kill(venv, identifier) == "stopped"
        assert process.wait(timeout=TIMEOUT) == 143
    finally:
        process.kill()
    assert "Stopped, cleaning up." in (project / "out.txt").read_text()  # `finally` ran
    assert _kill(venv, identifier).startswith("not found:")  # already gone


def test_kill_of_a_run_on_another_host_is_not_available(venv: Path) -> None:
    assert _kill(venv, "some-other-host:12345").startswith("not available:")


def test_ctrl_c_stops_the_run_through_kill(venv: Path, project: Path) -> None:
    process, _ = _start_slow_run(venv, project)
    try:
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=TIMEOUT) == 130
    finally:
        process.kill()
    assert "Stopped, cleaning up." in (project / "out.txt").read_text()
    assert "Cancelled" in (project / "err.txt").read_text()


def test_the_plugins_own_tests_pass(venv: Path, tmp_path: Path) -> None:
    """The tutorial's last step: the conformance suite and the sandbox's own tests."""
    package = tmp_path / "shipway-sandbox"
    shutil.copytree(CODE / "shipway-sandbox", package, ignore=shutil.ignore_patterns("__pycache__"))
    result = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pytest", "-v", "-p", "no:cacheprovider"],
        cwd=package,
        env=_environment(),
        capture_output=True,
        text=True,
        timeout=INSTALL_TIMEOUT,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    # Only the re-attach check is skipped: the sandbox does not declare ReattachesRuns.
    skipped = re.findall(r"^(\S+) SKIPPED", result.stdout, re.M)
    assert [name.rpartition("::")[2] for name in skipped] == [
        "test_reattach_follows_a_run_another_process_started"
    ], result.stdout[-3000:]
    assert re.search(r"TestSandboxConformance::test_kill\S* PASSED", result.stdout)
    assert "test_sandbox.py::test_the_time_limit_stops_the_run PASSED" in result.stdout
    # The page shows the run's summary line: it must count what really ran.
    summary = r"(\d+) passed, 1 skipped in "
    documented = re.search(f"^{summary}", TUTORIAL.read_text(encoding="utf-8"), re.M)
    ran = re.search(summary, result.stdout)
    assert documented and ran, result.stdout[-2000:]
    assert documented.group(1) == ran.group(1), "update the test count shown in step 12"
