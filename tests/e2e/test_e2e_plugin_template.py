"""``shipway plugin new``: the generated package installs into a fresh environment,
shows up as a loaded plugin, and its own tests (the conformance suite) pass at once."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from _e2e_helpers import REPO, run_shipway
from _plugin_venv import FreshVenv

from shipway.testing import InfrastructureConformance

pytestmark = pytest.mark.slow

TYPE_NAME = "acme-cloud"


def test_generated_plugin_installs_loads_and_passes_its_own_tests(tmp_path: Path) -> None:
    created = run_shipway("plugin", "new", TYPE_NAME, "--path", str(tmp_path), cwd=tmp_path)

    assert created.returncode == 0, created.stderr
    package = tmp_path / "shipway-acme-cloud"
    assert f"Created shipway-acme-cloud in {package}" in created.stderr
    files = sorted(p.relative_to(package).as_posix() for p in package.rglob("*") if p.is_file())
    assert files == [
        "README.md",
        "pyproject.toml",
        "src/shipway_acme_cloud/__init__.py",
        "src/shipway_acme_cloud/_infrastructure.py",
        "src/shipway_acme_cloud/plugin.py",
        "src/shipway_acme_cloud/py.typed",
        "tests/conftest.py",
        "tests/test_conformance.py",
        "tests/test_plugin.py",
    ]
    pyproject = (package / "pyproject.toml").read_text()
    assert 'name = "shipway-acme-cloud"' in pyproject
    assert (
        '[project.entry-points."shipway.infrastructure"]\nacme-cloud = "shipway_acme_cloud.plugin"'
    ) in pyproject
    texts = [p.read_text() for p in package.rglob("*") if p.suffix in {".py", ".md", ".toml"}]
    assert not [text for text in texts if "${" in text], "a placeholder was left unfilled"

    environment = FreshVenv(tmp_path / "venv")
    environment.pip_install(str(REPO / "core"), str(package), "pytest", cwd=tmp_path)

    listed = environment.run(environment.bin("shipway"), "plugins", "--json", cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    rows = {row["name"]: row for row in json.loads(listed.stdout)}
    # Nothing from the development environment: the plugin and the core's storage type.
    assert set(rows) == {TYPE_NAME, "local-file-system"}, rows
    assert rows[TYPE_NAME]["status"] == "loaded"
    assert rows[TYPE_NAME]["distribution"] == "shipway-acme-cloud"
    assert rows[TYPE_NAME]["class_name"] == "AcmeCloud"

    tests = environment.run(
        environment.bin("python"), "-m", "pytest", "-p", "no:cacheprovider", cwd=package
    )
    assert tests.returncode == 0, tests.stdout[-6000:] + tests.stderr[-3000:]
    passed = re.search(r"(\d+) passed, 1 skipped", tests.stdout)
    # Every check of the conformance suite but the re-attach one (the template does not
    # declare ReattachesRuns), and the template's own two tests.
    checks = [name for name in dir(InfrastructureConformance) if name.startswith("test_")]
    assert passed is not None and int(passed.group(1)) == len(checks) - 1 + 2, (
        tests.stdout[-2000:]
    )
    assert "failed" not in tests.stdout and "error" not in tests.stdout.lower()
    assert f"infrastructure types: {TYPE_NAME}" in tests.stdout  # the plugin's header


def test_generated_code_passes_its_own_ruff_and_mypy_settings(tmp_path: Path) -> None:
    ruff = Path(sys.executable).with_name("ruff")
    mypy = Path(sys.executable).with_name("mypy")
    if not (ruff.exists() and mypy.exists()):
        pytest.skip("ruff or mypy is not installed: pip install -r requirements-dev.txt")
    # A long name: every line must still fit once the names are substituted.
    created = run_shipway("plugin", "new", "acme-regional-batch-cluster", cwd=tmp_path)
    assert created.returncode == 0, created.stderr
    package = tmp_path / "shipway-acme-regional-batch-cluster"
    pyproject = (package / "pyproject.toml").read_text()
    assert "[tool.ruff]" in pyproject and "[tool.mypy]\nstrict = true" in pyproject

    # The settings the package ships with (pyproject.toml), not this project's.
    lint = subprocess.run([str(ruff), "check", "."], cwd=package, capture_output=True, text=True)
    types = subprocess.run([str(mypy)], cwd=package, capture_output=True, text=True)

    assert lint.returncode == 0, lint.stdout + lint.stderr
    assert types.returncode == 0, types.stdout + types.stderr


def test_the_readme_points_at_the_testing_guide(tmp_path: Path) -> None:
    created = run_shipway("plugin", "new", TYPE_NAME, "--path", str(tmp_path), cwd=tmp_path)
    assert created.returncode == 0, created.stderr

    readme = (tmp_path / "shipway-acme-cloud" / "README.md").read_text()

    assert "docs/testing-plugins.md" in readme and "REQUIRED_FIELDS" in readme
    assert (REPO / "docs" / "testing-plugins.md").is_file()


def test_an_existing_target_is_refused_and_left_alone(tmp_path: Path) -> None:
    target = tmp_path / "shipway-acme-cloud"
    target.mkdir()
    (target / "mine.txt").write_text("keep me")

    again = run_shipway("plugin", "new", TYPE_NAME, cwd=tmp_path)

    assert again.returncode == 2
    assert f"{target.relative_to(tmp_path)} already exists; nothing was written" in again.stderr
    assert "Traceback" not in again.stderr
    assert [p.name for p in target.iterdir()] == ["mine.txt"]


def test_a_directory_that_cannot_be_written_is_one_clear_error(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("a file, not a directory")

    refused = run_shipway("plugin", "new", TYPE_NAME, "--path", "notes.txt/plugins", cwd=tmp_path)

    assert refused.returncode == 2, refused.stderr
    assert "Error: cannot create notes.txt/plugins/shipway-acme-cloud: " in refused.stderr
    assert "nothing was written" in refused.stderr
    assert "--path" in refused.stderr
    assert "Traceback" not in refused.stderr and "bug" not in refused.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


@pytest.mark.parametrize(
    ("name", "complaint"),
    [
        ("Acme", "cannot be an infrastructure type name"),
        ("acme_cloud", "cannot be an infrastructure type name"),
        ("-acme", "cannot be an infrastructure type name"),
        ("acme-", "cannot be an infrastructure type name"),
        ("acme--cloud", "cannot be an infrastructure type name"),
        ("1acme", "cannot be an infrastructure type name"),
        ("a" * 64, "cannot be an infrastructure type name"),
        ("docker-container", "first-party plugin shipway-docker"),
    ],
)
def test_a_bad_name_is_refused_with_what_a_name_may_be(
    tmp_path: Path, name: str, complaint: str
) -> None:
    refused = run_shipway("plugin", "new", "--", name, cwd=tmp_path)

    assert refused.returncode == 2, refused.stderr
    assert complaint in refused.stderr
    assert "Traceback" not in refused.stderr
    assert list(tmp_path.iterdir()) == []
