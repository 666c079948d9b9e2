"""What a push takes from a project (.shipwayignore, the default exclusions) and the
content ref that names it."""

from __future__ import annotations

import os
from pathlib import Path

from shipway.storage import content_ref, project_files


def _project(root: Path) -> Path:
    for relative in (
        "flows/hello.py",
        "flows/__pycache__/hello.cpython-311.pyc",
        ".git/HEAD",
        ".venv/bin/python",
        "data/big.csv",
        "data/keep.csv",
        "notes.log",
        "sub/.git/config",
    ):
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(relative, encoding="utf-8")
    (root / ".shipwayignore").write_text("*.log\ndata/*\n!data/keep.csv\n", encoding="utf-8")
    return root


def test_defaults_and_shipwayignore_exclude(tmp_path: Path) -> None:
    files = [file.relative for file in project_files(_project(tmp_path))]

    assert files == [".shipwayignore", "data/keep.csv", "flows/hello.py"]


def test_the_ref_depends_on_content_and_mode_not_on_time(tmp_path: Path) -> None:
    project = _project(tmp_path)
    first = content_ref(project_files(project))
    os.utime(project / "flows/hello.py", (0, 0))
    assert content_ref(project_files(project)) == first

    (project / "flows/hello.py").chmod(0o755)
    executable = content_ref(project_files(project))
    assert executable != first

    (project / "flows/hello.py").write_text("changed", encoding="utf-8")
    assert content_ref(project_files(project)) not in (first, executable)
    assert len(first) == 64 and int(first, 16) >= 0
