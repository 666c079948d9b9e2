"""The engine pulls a run's code before it imports the flow; every failure ends the run
before it starts, with one line naming the storage and the ref."""

from __future__ import annotations

import subprocess
from pathlib import Path

from _engine_runs import run_engine
from shipway.exit_status import ExitStatus
from shipway.jobs import Job
from shipway.storage import LocalFileSystem

FLOW = "from shipway import flow\n\n@flow\ndef hello():\n    print('hello from', __file__)\n"


def _run(job: Job, cache: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return run_engine(job, cwd=cwd, cache=cache)


def _pushed(tmp_path: Path) -> tuple[LocalFileSystem, str]:
    project = tmp_path / "project"
    (project / "flows").mkdir(parents=True)
    (project / "flows" / "hello.py").write_text(FLOW, encoding="utf-8")
    storage = LocalFileSystem(basepath=str(tmp_path / "shared"))
    return storage, storage.push(project)


def test_the_flow_runs_from_the_pulled_code(tmp_path: Path) -> None:
    storage, ref = _pushed(tmp_path)
    job = Job(entrypoint="flows/hello.py:hello", storage=storage.block(), storage_ref=ref)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()

    result = _run(job, tmp_path / "cache", elsewhere)

    assert result.returncode == 0, result.stderr
    assert f"hello from {tmp_path / 'cache'}" in result.stdout


def test_a_missing_ref_cannot_start_and_says_which(tmp_path: Path) -> None:
    storage, _ = _pushed(tmp_path)
    job = Job(entrypoint="flows/hello.py:hello", storage=storage.block(), storage_ref="f00d")

    result = _run(job, tmp_path / "cache", tmp_path)

    assert result.returncode == ExitStatus.CANNOT_START
    assert "Traceback" not in result.stderr
    line = result.stderr.splitlines()[0]
    assert line.startswith("shipway.engine: cannot start flow run")
    assert f"storage local-file-system {tmp_path / 'shared'} (ref f00d)" in line
    assert "no project was pushed with this ref" in line
    assert [p for p in (tmp_path / "cache").iterdir() if not p.name.endswith(".lock")] == []


def test_a_storage_type_not_installed_here_says_so(tmp_path: Path) -> None:
    job = Job(
        entrypoint="flows/hello.py:hello",
        storage={"type": "git-repository", "url": "https://example.invalid/r.git"},
        storage_ref="abc",
    )
    # Blocked: as if the plugin were not installed where the run executes.
    result = run_engine(job, cwd=tmp_path, env={"SHIPWAY_PLUGINS_BLOCK": "shipway-git"})

    assert result.returncode == ExitStatus.CANNOT_START
    assert "storage git-repository (ref abc)" in result.stderr
    assert "git" in result.stderr and "Traceback" not in result.stderr


def test_a_cached_ref_starts_without_loading_the_storage_plugin(tmp_path: Path) -> None:
    storage, ref = _pushed(tmp_path)
    job = Job(entrypoint="flows/hello.py:hello", storage=storage.block(), storage_ref=ref)
    cache = tmp_path / "cache"
    assert _run(job, cache, tmp_path).returncode == 0

    second = run_engine(
        job,
        cwd=tmp_path,
        cache=cache,
        env={"SHIPWAY_PLUGINS_BLOCK": "local-file-system"},  # loading it would fail the run
        python_options=["-X", "importtime"],  # lists every module imported, on stderr
    )

    assert second.returncode == 0, second.stderr
    assert f"hello from {cache}" in second.stdout
    assert "pydantic" not in second.stderr
