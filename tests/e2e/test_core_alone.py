"""The core installs, imports and passes its own tests with no plugin installed.

A fresh virtual environment gets only ``core/`` (and pytest) from the package index
configured for pip; nothing from the development environment leaks in.
"""

from __future__ import annotations

import os
import re
import subprocess
import venv
from pathlib import Path

import pytest
from _e2e_helpers import REPO, write_file

pytestmark = pytest.mark.slow

INSTALL_TIMEOUT = 900
TEST_TIMEOUT = 900

# pip's words for "the package index could not be reached" (offline machine, no proxy).
_INDEX_UNREACHABLE = re.compile(
    r"NewConnectionError|Failed to establish a new connection|"
    r"Temporary failure in name resolution|Name or service not known|"
    r"Network is unreachable|ConnectTimeoutError|Connection refused|"
    r"ProxyError|Could not fetch URL|No matching distribution found for (hatchling|pluggy|"
    r"pydantic|anyio|PyYAML|click|rich|pytest)",
    re.IGNORECASE,
)


def _environment(venv_dir: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("SHIPWAY_") and k not in {"PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV"}
    }
    env["VIRTUAL_ENV"] = str(venv_dir)
    env["PATH"] = f"{venv_dir / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    return env


def _run(
    args: list[str], env: dict[str, str], cwd: Path, timeout: float
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args,
        env=env,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        errors="replace",
        timeout=timeout,
    )


def test_core_alone_installs_imports_and_passes_its_tests(tmp_path: Path) -> None:
    venv_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True, clear=True).create(venv_dir)
    python = str(venv_dir / "bin" / "python")
    env = _environment(venv_dir)

    install = _run(
        [python, "-m", "pip", "install", str(REPO / "core"), "pytest"],
        env,
        tmp_path,
        INSTALL_TIMEOUT,
    )
    if install.returncode != 0 and _INDEX_UNREACHABLE.search(install.stdout + install.stderr):
        pytest.skip(
            "pip could not reach a package index to install the core's dependencies:\n"
            + install.stderr[-2000:]
        )
    assert install.returncode == 0, install.stdout[-3000:] + install.stderr[-3000:]

    # Only the core: no plugin distribution came along.
    listed = _run([python, "-m", "pip", "list", "--format=freeze"], env, tmp_path, 120)
    assert listed.returncode == 0, listed.stderr
    names = {line.partition("==")[0].lower() for line in listed.stdout.splitlines()}
    assert "shipway" in names
    assert not {name for name in names if name.startswith("shipway-")}, names

    code = "import shipway, shipway.infrastructure, shipway.plugins; print(shipway.__file__)"
    imports = _run([python, "-c", code], env, tmp_path, 120)
    assert imports.returncode == 0, imports.stderr
    assert Path(imports.stdout.strip()).is_relative_to(venv_dir), imports.stdout

    shipway = str(venv_dir / "bin" / "shipway")
    plugins = _run([shipway, "plugins"], env, tmp_path, 120)
    assert plugins.returncode == 0, plugins.stderr
    assert "No infrastructure plugin installed" in plugins.stdout
    assert "local-file-system" in plugins.stdout  # the core's own storage type
    assert "pip install shipway-process" in plugins.stdout

    project = tmp_path / "project"
    write_file(project, "flows/hello.py", (REPO / "examples/flows/hello.py").read_text())
    write_file(
        project,
        "shipway.yaml",
        """
        deployments:
          - name: example
            flow: flows/hello.py:hello_world
            infrastructure: process
        """,
    )
    run = _run([shipway, "run", "example"], env, project, 120)
    assert run.returncode == 2, run.stdout + run.stderr
    assert "unknown infrastructure 'process'" in run.stderr
    assert "pip install shipway-process" in run.stderr
    assert "Traceback" not in run.stderr

    missing_class = _run(
        [python, "-c", "from shipway.infrastructure import Process"], env, tmp_path, 120
    )
    assert missing_class.returncode == 1
    assert "pip install shipway-process" in missing_class.stderr

    core_tests = _run(
        [python, "-m", "pytest", str(REPO / "tests" / "core"), "-q", "-p", "no:cacheprovider"],
        env,
        tmp_path,
        TEST_TIMEOUT,
    )
    assert core_tests.returncode == 0, core_tests.stdout[-6000:] + core_tests.stderr[-3000:]
    assert re.search(r"\d+ passed", core_tests.stdout), core_tests.stdout[-2000:]
