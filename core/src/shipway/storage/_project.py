"""What a push takes from a project directory, and the content ref that names it.

Excluded: ``.git``, ``__pycache__`` and ``.venv`` wherever they are, and whatever the
project's ``.shipwayignore`` says (gitignore syntax, read with ``pathspec``). The ref is
a SHA-256 over every file's path, executable bit and content: the same files give the
same ref on any machine, whatever their timestamps.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
from pathlib import Path

import pathspec

__all__ = ["ALWAYS_EXCLUDED", "IGNORE_FILE", "ProjectFile", "content_ref", "project_files"]

IGNORE_FILE = ".shipwayignore"
ALWAYS_EXCLUDED = frozenset({".git", "__pycache__", ".venv"})
_CHUNK = 1024 * 1024


@dataclasses.dataclass(frozen=True)
class ProjectFile:
    """One file of a push: its path relative to the project (``/``-separated)."""

    relative: str
    path: Path
    executable: bool


def project_files(project_dir: Path) -> list[ProjectFile]:
    """The files a push of ``project_dir`` takes, sorted by path. A symbolic link to a
    file is taken as the file it points to; links to directories are not followed."""
    root = Path(project_dir)
    ignored = _ignore_spec(root)
    found: list[ProjectFile] = []
    for directory, subdirectories, files in os.walk(root):
        base = Path(directory)
        relative_dir = base.relative_to(root).as_posix()
        prefix = "" if relative_dir == "." else f"{relative_dir}/"
        subdirectories[:] = sorted(
            name
            for name in subdirectories
            if name not in ALWAYS_EXCLUDED and not ignored.match_file(f"{prefix}{name}/")
        )
        for name in sorted(files):
            relative = f"{prefix}{name}"
            path = base / name
            if ignored.match_file(relative) or not path.is_file():  # broken links, sockets
                continue
            executable = os.access(path, os.X_OK)
            found.append(ProjectFile(relative, path, executable))
    return sorted(found, key=lambda file: file.relative)


def content_ref(files: list[ProjectFile]) -> str:
    """The SHA-256 (hex) naming exactly these files' paths, modes and contents."""
    digest = hashlib.sha256()
    for file in files:
        content = hashlib.sha256()
        with open(file.path, "rb") as stream:
            while chunk := stream.read(_CHUNK):
                content.update(chunk)
        mode = "x" if file.executable else "-"
        digest.update(f"{file.relative}\0{mode}\0{content.hexdigest()}\n".encode())
    return digest.hexdigest()


def _ignore_spec(root: Path) -> pathspec.GitIgnoreSpec:
    ignore_file = root / IGNORE_FILE
    lines = ignore_file.read_text(encoding="utf-8").splitlines() if ignore_file.is_file() else []
    return pathspec.GitIgnoreSpec.from_lines(lines)
