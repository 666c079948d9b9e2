"""What migrating one file gave: its status, the diff, the notes; and the two ways a
change is written and shown (atomically; as a unified diff)."""

from __future__ import annotations

import difflib
import enum
import os
from dataclasses import dataclass, field
from pathlib import Path

from shipway.migrate._notes import Note

__all__ = ["FileOutcome", "Status", "replace_atomically", "unified_diff"]


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
    written: str | None = None
    """For a Prefect YAML file: the shipway.yaml it was migrated into."""


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


def replace_atomically(path: Path, content: bytes) -> None:
    """Write beside the file, then rename over it: a failed write (a full disk) leaves
    the original untouched instead of truncated. Keeps the file's permission bits."""
    temporary = path.with_name(f".{path.name}.shipway-migrate.tmp")
    try:
        temporary.write_bytes(content)
        if path.exists():  # a new file (a shipway.yaml) gets the default mode
            os.chmod(temporary, path.stat().st_mode & 0o7777)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
