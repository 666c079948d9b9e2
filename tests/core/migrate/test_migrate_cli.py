"""``shipway migrate`` as a command: files rewritten in place with a diff, ``--check``
for CI, directories, and one clear message per path it cannot migrate."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from shipway.cli import main

# The core installs without libcst (an extra: shipway[migrate]); its tests must pass there.
pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("libcst") is None,
    reason="shipway migrate needs libcst: pip install 'shipway[migrate]'",
)

CASES = Path(__file__).parent / "cases"


def copy_case(name: str, target: Path) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(CASES / f"{name}.py.before", target)
    return target


def after(name: str) -> str:
    return (CASES / f"{name}.py.after").read_text(encoding="utf-8")


def shipway(*args: str) -> int:
    """Run the command line in this process; its exit status."""
    try:
        main(list(args))
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


@pytest.fixture(autouse=True)
def in_tmp_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


def test_rewrites_in_place_and_prints_the_diff(capsys: pytest.CaptureFixture[str]) -> None:
    path = copy_case("seed_subprocess_spec", Path("deployments.py"))
    assert shipway("migrate", "deployments.py") == 0
    assert path.read_text() == after("seed_subprocess_spec")
    out, err = capsys.readouterr()
    assert out.startswith("--- deployments.py\n+++ deployments.py\n@@ ")
    assert "-from prefect.flow_runners import SubprocessFlowRunner\n" in out
    assert "+from shipway.infrastructure import Process\n" in out
    assert '+    infrastructure=Process(conda_env="analytics"),\n' in out
    assert "Rewrote deployments.py" in err
    assert "1 file: 1 rewritten, 0 unchanged." in err


def test_the_printed_diff_applies_to_the_original(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    patch = shutil.which("patch")
    if patch is None:
        pytest.skip("patch(1) is not installed")
    copy_case("comments_and_formatting", Path("etl.py"))
    assert shipway("migrate", "--check", "etl.py") == 1
    diff = capsys.readouterr().out
    subprocess.run([patch, "-p0", "--quiet"], input=diff, text=True, check=True, cwd=tmp_path)
    assert Path("etl.py").read_text() == after("comments_and_formatting")


def test_no_diff(capsys: pytest.CaptureFixture[str]) -> None:
    copy_case("seed_docker_deployment", Path("deployments.py"))
    assert shipway("migrate", "--no-diff", "deployments.py") == 0
    out, err = capsys.readouterr()
    assert out == ""
    assert "Rewrote deployments.py" in err
    assert Path("deployments.py").read_text() == after("seed_docker_deployment")


def test_check_writes_nothing_and_exits_1_when_something_would_change(
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = copy_case("mixed_syntax", Path("deployments.py"))
    before = path.read_bytes()
    assert shipway("migrate", "--check", "deployments.py") == 1
    assert path.read_bytes() == before
    out, err = capsys.readouterr()
    assert "+from shipway.infrastructure import DockerContainer, Process\n" in out
    assert "Would rewrite deployments.py" in err
    assert "1 file: 1 would be rewritten, 0 unchanged." in err


def test_check_passes_once_migrated(capsys: pytest.CaptureFixture[str]) -> None:
    copy_case("mixed_syntax", Path("deployments.py"))
    assert shipway("migrate", "deployments.py") == 0
    capsys.readouterr()
    assert shipway("migrate", "--check", "deployments.py") == 0
    out, err = capsys.readouterr()
    assert out == ""
    assert "deployments.py: nothing to migrate" in err


@pytest.mark.parametrize("name", ["already_new", "unrelated"])
def test_files_needing_nothing_are_reported_unchanged(
    name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = copy_case(name, Path("module.py"))
    modified = path.stat().st_mtime_ns
    assert shipway("migrate", "module.py") == 0
    assert path.stat().st_mtime_ns == modified  # not even rewritten with the same text
    out, err = capsys.readouterr()
    assert out == ""
    assert "module.py: nothing to migrate" in err


def test_directories_are_searched_for_python_files(capsys: pytest.CaptureFixture[str]) -> None:
    copy_case("seed_subprocess_spec", Path("project/deployments.py"))
    copy_case("seed_kubernetes_deployment", Path("project/k8s/deployments.py"))
    copy_case("already_new", Path("project/flows/new.py"))
    copy_case("seed_docker_deployment", Path("project/.venv/lib/old.py"))  # hidden: skipped
    copy_case("seed_docker_deployment", Path("project/env/lib/old.py"))
    Path("project/env/pyvenv.cfg").write_text("home = /usr/bin\n")  # a virtualenv: skipped
    Path("project/notes.txt").write_text("DeploymentSpec(...)\n")  # not Python: ignored
    assert shipway("migrate", "--no-diff", "project") == 0
    err = capsys.readouterr().err
    assert "Rewrote project/deployments.py" in err
    assert "Rewrote project/k8s/deployments.py" in err
    assert "project/flows/new.py: nothing to migrate" in err
    assert "3 files: 2 rewritten, 1 unchanged." in err
    assert "old.py" not in err
    # What needs a look by hand is printed with its place:
    assert (
        "project/k8s/deployments.py:27: note: KubernetesFlowRunner is used here other "
        "than by calling it" in err
    )


def test_a_path_given_twice_is_migrated_once(capsys: pytest.CaptureFixture[str]) -> None:
    copy_case("seed_subprocess_spec", Path("project/deployments.py"))
    assert shipway("migrate", "--no-diff", "project", "project/deployments.py") == 0
    assert "1 file: 1 rewritten" in capsys.readouterr().err


def test_each_bad_path_gets_one_message_and_the_others_are_still_migrated(
    capsys: pytest.CaptureFixture[str],
) -> None:
    Path("notes.txt").write_text("flow_runner=SubprocessFlowRunner()\n")
    Path("broken.py").write_text("from prefect import flow\n\ndef broken(:\n    pass\n")
    Path("cookie.py").write_bytes(b"# -*- coding: no-such-codec -*-\nx = 1\n")
    copy_case("seed_subprocess_spec", Path("good.py"))
    status = shipway(
        "migrate", "--no-diff", "notes.txt", "missing.py", "broken.py", "cookie.py", "good.py"
    )
    assert status == 2
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("Error: ")]
    assert lines[0] == (
        "Error: notes.txt: not a Python or YAML file (shipway migrate rewrites .py files "
        "and Prefect's deployment YAML files); skipped"
    )
    assert lines[1] == "Error: missing.py: no such file or directory"
    assert lines[2] == "Error: broken.py:3:12: not valid Python (invalid syntax); left unchanged"
    assert lines[3].startswith("Error: cookie.py: cannot decode the file: ")
    assert len(lines) == 4
    assert "Rewrote good.py" in err
    assert Path("good.py").read_text() == after("seed_subprocess_spec")
    assert "5 files: 1 rewritten, 0 unchanged, 4 could not be migrated." in err
    assert "Traceback" not in err


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_an_unreadable_file(capsys: pytest.CaptureFixture[str]) -> None:
    path = copy_case("seed_subprocess_spec", Path("secret.py"))
    path.chmod(0)
    assert shipway("migrate", "secret.py") == 2
    assert "Error: secret.py: cannot read: Permission denied" in capsys.readouterr().err


def test_errors_beat_would_change_in_the_exit_status(capsys: pytest.CaptureFixture[str]) -> None:
    copy_case("seed_subprocess_spec", Path("good.py"))
    assert shipway("migrate", "--check", "good.py", "missing.py") == 2


def test_paths_are_required(capsys: pytest.CaptureFixture[str]) -> None:
    assert shipway("migrate") == 2
    assert "Missing argument 'PATHS...'" in capsys.readouterr().err
