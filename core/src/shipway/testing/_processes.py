"""What runs on this machine, as the conformance suite's default hooks see it (Linux's
/proc; nothing where there is none)."""

from __future__ import annotations

import os
from collections.abc import Iterator

__all__ = ["child_pids", "processes_with"]


def processes_with(marker: str) -> frozenset[str]:
    """``"<pid>: <command line>"`` of the other processes on this machine whose command
    line holds ``marker``. Zombies have none."""
    needle = marker.encode()
    found: set[str] = set()
    for pid, cmdline in _read_each("cmdline"):
        words = cmdline.split(b"\0")
        if pid != os.getpid() and any(needle in word for word in words):
            command = " ".join(w.decode(errors="replace") for w in words if w)
            found.add(f"{pid}: {command}")
    return frozenset(found)


def child_pids() -> frozenset[int]:
    """Processes whose parent is this one."""
    children: set[int] = set()
    for pid, stat in _read_each("stat"):
        fields = stat.rpartition(b")")[2].split()  # after "(comm)": state, ppid, ...
        if len(fields) > 1 and int(fields[1]) == os.getpid():
            children.add(pid)
    return frozenset(children)


def _read_each(name: str) -> Iterator[tuple[int, bytes]]:
    """``(pid, content of /proc/<pid>/<name>)`` for every process (none without /proc)."""
    try:
        entries = list(os.scandir("/proc"))
    except OSError:
        return
    for entry in entries:
        if not entry.name.isdigit():
            continue
        try:
            with open(os.path.join(entry.path, name), "rb") as file:
                content = file.read()
        except OSError:  # it exited while we looked
            continue
        yield int(entry.name), content
