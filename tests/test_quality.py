"""The lint and type checks are part of the one test command, and .pre-commit-config.yaml
runs the same ones before each commit."""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
PRE_COMMIT_CONFIG = ROOT / ".pre-commit-config.yaml"

# What ruff checks, by pre-commit hook id. The code under docs/ (the site's generators and
# the tutorial's package, which has its own settings, as a plugin author would have them)
# is a run of its own.
RUFF_RUNS = {
    "ruff": ("core/src", "plugins", "tests", "bench"),
    "ruff-docs": ("docs/_hooks", "docs/tutorial/code", "tests/docs"),
}


def _tool(name: str) -> str:
    path = Path(sys.executable).parent / name
    found = str(path) if path.exists() else shutil.which(name)
    if found is None:
        pytest.skip(f"{name} is not installed: pip install -r requirements-dev.txt")
    return found


@pytest.mark.parametrize("paths", RUFF_RUNS.values(), ids=RUFF_RUNS.keys())
def test_ruff_finds_nothing(paths: tuple[str, ...]) -> None:
    result = subprocess.run(
        [_tool("ruff"), "check", "--no-cache", *paths],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_strict_passes_on_the_packages() -> None:
    result = subprocess.run([_tool("mypy")], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr


# -- the same checks before each commit ----------------------------------------------------


def _local_hooks() -> dict[str, list[str]]:
    """Hook id -> its command line, for the hooks of ``repo: local``."""
    config = yaml.safe_load(PRE_COMMIT_CONFIG.read_text(encoding="utf-8"))
    return {
        hook["id"]: shlex.split(hook["entry"]) + list(hook.get("args", []))
        for repo in config["repos"]
        if repo["repo"] == "local"
        for hook in repo["hooks"]
    }


def test_pre_commit_runs_the_suites_checks_and_nothing_else() -> None:
    expected = {hook: [".venv/bin/ruff", "check", *paths] for hook, paths in RUFF_RUNS.items()}
    expected["mypy"] = [".venv/bin/mypy"]

    assert _local_hooks() == expected


def test_pre_commit_hooks_are_local_and_check_the_whole_tree() -> None:
    """No hook repository to download (so no registry address in the repository), and
    each check runs on its paths rather than on the files a commit happens to touch."""
    config = yaml.safe_load(PRE_COMMIT_CONFIG.read_text(encoding="utf-8"))

    assert [repo["repo"] for repo in config["repos"]] == ["local"]
    for hook in config["repos"][0]["hooks"]:
        assert hook["language"] == "system", hook["id"]
        assert hook["pass_filenames"] is False, hook["id"]


def test_pre_commit_accepts_the_configuration() -> None:
    result = subprocess.run(
        [_tool("pre-commit"), "validate-config", str(PRE_COMMIT_CONFIG)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
