"""Migrate files: expand the paths given, rewrite each Python file, describe the change."""

from __future__ import annotations

import difflib
import enum
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from shipway.migrate._notes import Note
from shipway.migrate._source import NotPython, Undecodable, migrate_source

__all__ = ["FileOutcome", "Status", "migrate_paths"]

#: Directories never searched when a directory is given: tools' and environments' own.
_SKIPPED_DIRECTORIES = frozenset({"__pycache__", "node_modules", "site-packages"})


class Status(enum.Enum):
    CHANGED = "changed"
    UNCHANGED = "unchanged"
    ERROR = "error"


@dataclass
class FileOutcome:
    """What happened to one file: ``diff`` when it changed, ``error`` when it could not
    be migrated (other files are still processed)."""

    display: str
    status: Status
    diff: str = ""
    notes: list[Note] = field(default_factory=list)
    error: str | None = None


def migrate_paths(paths: Iterable[str | Path], *, write: bool) -> Iterator[FileOutcome]:
    """Migrate every Python file named, or found under a directory named, in order.
    With ``write=False`` nothing is written (``--check``)."""
    seen: set[Path] = set()
    for given in paths:
        for display, path, problem in _expand(Path(given)):
            if problem is not None or path is None:
                yield FileOutcome(display, Status.ERROR, error=problem)
                continue
            if path.resolve() in seen:
                continue
            seen.add(path.resolve())
            yield _migrate_file(path, display, write=write)


def _expand(given: Path) -> Iterator[tuple[str, Path | None, str | None]]:
    display = str(given)
    if given.is_dir():
        found = sorted(_python_files_under(given))
        if not found:
            yield display, None, f"{display}: no Python files in this directory"
        for path in found:
            yield str(path), path, None
    elif not given.exists():
        yield display, None, f"{display}: no such file or directory"
    elif given.suffix != ".py":
        yield (
            display,
            None,
            (f"{display}: not a Python file (shipway migrate rewrites .py files); skipped"),
        )
    else:
        yield display, given, None


def _python_files_under(directory: Path) -> Iterator[Path]:
    for root, directories, files in os.walk(directory):
        directories[:] = sorted(
            d
            for d in directories
            if not d.startswith(".")
            and d not in _SKIPPED_DIRECTORIES
            and not (Path(root, d) / "pyvenv.cfg").exists()  # a virtual environment
        )
        yield from (Path(root, name) for name in files if name.endswith(".py"))


def _migrate_file(path: Path, display: str, *, write: bool) -> FileOutcome:
    try:
        source = path.read_bytes()
    except OSError as exc:
        return FileOutcome(display, Status.ERROR, error=f"{display}: cannot read: {exc.strerror}")
    try:
        migration = migrate_source(source)
    except NotPython as exc:
        return FileOutcome(
            display,
            Status.ERROR,
            error=f"{display}:{exc.line}:{exc.column}: not valid Python ({exc.message}); "
            "left unchanged",
        )
    except Undecodable as exc:
        return FileOutcome(
            display, Status.ERROR, error=f"{display}: cannot decode the file: {exc.message}"
        )
    if not migration.changed:
        return FileOutcome(display, Status.UNCHANGED, notes=migration.notes)
    if write:
        try:
            _replace_atomically(path, migration.code.encode(migration.encoding))
        except OSError as exc:
            return FileOutcome(
                display, Status.ERROR, error=f"{display}: cannot write: {exc.strerror}"
            )
    return FileOutcome(
        display,
        Status.CHANGED,
        diff=unified_diff(migration.original, migration.code, display),
        notes=migration.notes,
    )


def unified_diff(before: str, after: str, display: str) -> str:
    """A unified diff that ``patch -p0`` applies; a missing final newline is marked
    as diff(1) marks it."""
    lines = difflib.unified_diff(
        before.splitlines(keepends=True),
        after.splitlines(keepends=True),
        fromfile=display,
        tofile=display,
    )
    out = []
    for line in lines:
        out.append(line)
        if not line.endswith("\n"):
            out.append("\n\\ No newline at end of file\n")
    return "".join(out)


def _replace_atomically(path: Path, content: bytes) -> None:
    """Write beside the file, then rename over it: a failed write (a full disk) leaves
    the original untouched instead of truncated. Keeps the file's permission bits."""
    temporary = path.with_name(f".{path.name}.shipway-migrate.tmp")
    try:
        temporary.write_bytes(content)
        os.chmod(temporary, path.stat().st_mode & 0o7777)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
