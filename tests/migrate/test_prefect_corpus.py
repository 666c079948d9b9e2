"""A corpus of Prefect 2 deployment files, written the ways Prefect 2 projects and
Prefect's 2.x documentation write them (corpus/<case>/: the flows, the deployment file,
and case.json saying what each case must do after migration).

For each case, on a copy: ``shipway migrate`` rewrites it (``--check`` fails before and
passes after, and no Prefect import is left); then, with prefect not installed, the
deployment file loads (``shipway deployment ls -f``), process deployments run with
``shipway run`` and print what the flow prints, Docker and Kubernetes ones preview."""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from _cli import shipway_main
from e2e._e2e_helpers import run_shipway

CORPUS = Path(__file__).parent / "corpus"
CASES = sorted(path.name for path in CORPUS.iterdir() if (path / "case.json").exists())

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("libcst") is None,
    reason="shipway migrate needs libcst: pip install 'shipway[migrate]'",
)


def test_prefect_is_not_installed() -> None:
    """What the corpus proves holds only if nothing can import prefect."""
    assert importlib.util.find_spec("prefect") is None


def test_the_corpus_covers_every_style() -> None:
    assert len(CASES) >= 20
    prefixes = {name.split("_")[0] for name in CASES}
    assert {"beta", "ga", "tasks", "yaml", "schedules", "flow"} <= prefixes
    kinds = [_spec(name) for name in CASES]
    assert sum("run" in spec for spec in kinds) >= 15
    assert sum("preview" in spec for spec in kinds) >= 5


def _spec(name: str) -> dict[str, Any]:
    return dict(json.loads((CORPUS / name / "case.json").read_text()))


def _migrate(*args: str) -> Result:
    """`shipway migrate` in this process (it imports none of the project's code)."""
    return CliRunner().invoke(shipway_main, ["migrate", *args])


_PREFECT_IMPORT = re.compile(r"^\s*(from prefect[\w.]* import|import prefect)", re.MULTILINE)


@pytest.mark.parametrize("name", CASES)
def test_a_prefect_project_migrates_loads_and_runs(name: str, tmp_path: Path) -> None:
    spec = _spec(name)
    project = tmp_path / name
    shutil.copytree(CORPUS / name, project, ignore=shutil.ignore_patterns("case.json"))

    before = _migrate("--check", str(project))
    assert before.exit_code == 1, before.output
    migrated = _migrate(str(project))
    assert migrated.exit_code == 0, migrated.output
    for expected in spec.get("notes", []):
        assert expected in migrated.stderr, migrated.stderr
    after = _migrate("--check", str(project))
    assert after.exit_code == 0, after.output  # nothing left to change

    for path in project.rglob("*.py"):
        assert not _PREFECT_IMPORT.search(path.read_text()), f"{path}:\n{path.read_text()}"
    file = spec["file"]
    text = (project / file).read_text()
    for expected in spec.get("migrated", []):
        assert expected in text, text

    listed = run_shipway("deployment", "ls", "-f", file, "--json", cwd=project)
    assert listed.returncode == 0, listed.stderr
    deployments = {d["name"]: d for d in json.loads(listed.stdout)}
    wanted = {*spec.get("run", {}), *spec.get("preview", {}), *spec.get("schedules", {})}
    assert wanted <= set(deployments), sorted(deployments)
    for deployment, schedule in spec.get("schedules", {}).items():
        assert deployments[deployment]["schedule"] == schedule

    for deployment, printed in spec.get("run", {}).items():
        ran = run_shipway("run", deployment, "-f", file, cwd=project)
        assert ran.returncode == spec.get("exit_status", 0), ran.stdout + ran.stderr
        assert printed in ran.stdout + ran.stderr
        for expected in spec.get("run_output", []):
            assert expected in ran.stdout + ran.stderr, ran.stderr

    for deployment, shown in spec.get("preview", {}).items():
        preview = run_shipway("infra", "preview", deployment, "-f", file, cwd=project)
        assert preview.returncode == 0, preview.stderr
        assert shown in preview.stdout
