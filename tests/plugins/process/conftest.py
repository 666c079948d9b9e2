"""Fixtures for the process plugin tests: a temporary project with real flow files."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest
from _process_helpers import RecordingSink, WriteFlow

from shipway.infrastructure import Job


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def sink() -> RecordingSink:
    return RecordingSink()


@pytest.fixture
def project(tmp_path: Path) -> Path:
    directory = tmp_path / "project"
    (directory / "flows").mkdir(parents=True)
    return directory


@pytest.fixture
def write_flow(project: Path) -> WriteFlow:
    """``write_flow("name", source)`` writes ``flows/name.py`` and returns a Job for its
    function ``name``, with the project as working directory."""

    def write(name: str, source: str, /, **parameters: Any) -> Job:
        path = project / "flows" / f"{name}.py"
        path.write_text(textwrap.dedent(source).lstrip("\n"), encoding="utf-8")
        return Job(
            entrypoint=f"flows/{name}.py:{name}",
            parameters=parameters,
            working_dir=str(project),
            deployment_name=f"test-{name}",
        )

    return write
