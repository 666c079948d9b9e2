"""Migrate files: expand the paths given, rewrite each Python file, describe the change."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path

from shipway.migrate._results import FileOutcome, Status, replace_atomically, unified_diff
from shipway.migrate._source import NotPython, Undecodable, migrate_source
from shipway.migrate._yaml_files import is_prefect_yaml_name, migrate_yaml_files

__all__ = ["FileOutcome", "Status", "migrate_paths", "unified_diff"]

#: Directories never searched when a directory is given: tools' and environments' own.
_SKIPPED_DIRECTORIES = frozenset({"__pycache__", "node_modules", "site-packages"})


def migrate_paths(paths: Iterable[str | Path], *, write: bool) -> Iterator[FileOutcome]:
    """Migrate every Python file and Prefect YAML file named, or found under a directory
    named, in order (the YAML files last: each directory's go into one shipway.yaml).
    With ``write=False`` nothing is written (``--check``)."""
    seen: set[Path] = set()
    yaml_files: list[tuple[str, Path, bool]] = []
    for given in paths:
        named = not Path(given).is_dir()
        for display, path, problem in _expand(Path(given)):
            if problem is not None or path is None:
                yield FileOutcome(display, Status.ERROR, error=problem)
                continue
            if path.resolve() in seen:
                continue
            seen.add(path.resolve())
            if path.suffix in (".yaml", ".yml"):
                yaml_files.append((display, path, named))
            else:
                yield _migrate_file(path, display, write=write)
    yield from migrate_yaml_files(yaml_files, write=write)


def _expand(given: Path) -> Iterator[tuple[str, Path | None, str | None]]:
    display = str(given)
    if given.is_dir():
        found = sorted(_files_under(given))
        if not found:
            yield display, None, f"{display}: no Python or Prefect YAML files in this directory"
        for path in found:
            yield str(path), path, None
    elif not given.exists():
        yield display, None, f"{display}: no such file or directory"
    elif given.suffix not in (".py", ".yaml", ".yml"):
        yield (
            display,
            None,
            f"{display}: not a Python or YAML file (shipway migrate rewrites .py files "
            "and Prefect's deployment YAML files); skipped",
        )
    else:
        yield display, given, None


def _files_under(directory: Path) -> Iterator[Path]:
    """Python files, and Prefect's YAML files by their names (prefect.yaml, *deployment.yaml)."""
    for root, directories, files in os.walk(directory):
        directories[:] = sorted(
            d
            for d in directories
            if not d.startswith(".")
            and d not in _SKIPPED_DIRECTORIES
            and not (Path(root, d) / "pyvenv.cfg").exists()  # a virtual environment
        )
        yield from (
            Path(root, name)
            for name in files
            if name.endswith(".py") or is_prefect_yaml_name(name)
        )


def _migrate_file(path: Path, display: str, *, write: bool) -> FileOutcome:
    try:
        source = path.read_bytes()
    except OSError as exc:
        return FileOutcome(display, Status.ERROR, error=f"{display}: cannot read: {exc.strerror}")
    try:
        migration = migrate_source(source, path)
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
            replace_atomically(path, migration.code.encode(migration.encoding))
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


