"""The engine process imports only what the run needs: a flow whose parameters are
untyped or of plain types (str, int, float, bool) runs without pydantic, nor any of the
libraries the CLI, the agent or the store use. Start-up of every run depends on it
(see docs/performance.md)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from shipway.infrastructure import JOB_ENV_VAR, Job

FLOWS = """
from datetime import date

from shipway import flow


@flow
def plain(
    name: str = "world",
    times: int = 1,
    ratio: float = 0.5,
    loud: bool = False,
    note: str | None = None,
    extra=None,
):
    print(f"Hello {name}!" * times)


@flow
def typed(day: date):
    print(day.isoformat())
"""

# Libraries the engine never needs for a plain flow: each costs a run's start-up time.
HEAVY = ("pydantic", "click", "rich", "yaml", "sqlalchemy", "alembic", "pluggy", "anyio")

# Runs the engine as `python -m shipway.engine` does, then reports what it imported.
PROBE = f"""
import json, sys
from shipway.engine import main
code = main()
heavy = sorted({{name.partition(".")[0] for name in sys.modules}} & set({HEAVY!r}))
print(json.dumps({{"code": code, "heavy": heavy}}), file=sys.stderr)
"""


def engine_imports(project: Path, entrypoint: str, parameters: dict[str, object]) -> list[str]:
    job = Job(entrypoint=entrypoint, parameters=parameters, working_dir=str(project))
    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=project,
        env={**os.environ, JOB_ENV_VAR: job.to_json()},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    report = json.loads(result.stderr.strip().splitlines()[-1])
    assert report["code"] == 0, result.stderr
    heavy: list[str] = report["heavy"]
    return heavy


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "flows.py").write_text(FLOWS)
    return tmp_path


def test_a_plain_flow_runs_without_pydantic_or_other_heavy_libraries(project: Path) -> None:
    parameters = {"name": "engine", "times": 2, "ratio": 1, "loud": True, "extra": [1]}
    assert engine_imports(project, "flows.py:plain", parameters) == []
    assert engine_imports(project, "flows.py:plain", {"note": None}) == []
    assert engine_imports(project, "flows.py:plain", {"note": "a", "ratio": 0.1}) == []


def test_a_parameter_that_needs_converting_brings_pydantic(project: Path) -> None:
    """The other side of the rule (and proof that the probe sees imports)."""
    assert "pydantic" in engine_imports(project, "flows.py:typed", {"day": "2026-12-06"})
