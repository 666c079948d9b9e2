"""Fixtures for the end-to-end tests: a copy of examples/ to run ``shipway`` in."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from _e2e_helpers import EXAMPLES, Shipway, make_broken_plugin, run_shipway


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A fresh copy of the repository's examples/ (flows, shipway.yaml, deployments.py)."""
    directory = tmp_path / "project"
    shutil.copytree(EXAMPLES, directory, ignore=shutil.ignore_patterns("__pycache__"))
    return directory


@pytest.fixture
def shipway(project: Path) -> Shipway:
    """``shipway("run", "example")``: run the console script in the project directory."""

    def run(*args: str, **options: object) -> subprocess.CompletedProcess[str]:
        options.setdefault("cwd", project)
        return run_shipway(*args, **options)  # type: ignore[arg-type]

    return run


@pytest.fixture
def broken_plugin_site(tmp_path: Path) -> Path:
    return make_broken_plugin(tmp_path / "broken-site")
