"""Signal and watch a flow run's process group (POSIX), from any process on this host."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections.abc import Iterator

import anyio

from shipway.infrastructure import InfrastructureNotFound

__all__ = [
    "ensure_group_leader",
    "group_exists",
    "leader_alive",
    "leftovers_message",
    "stop_group",
    "stop_leftovers",
]

# How long to wait for the group to vanish after SIGKILL before giving up on it
# (a leader left unreaped by a parent that is gone stays as a zombie until init reaps it).
_AFTER_KILL_SECONDS = 5.0
_POLL_SECONDS = 0.05


def group_exists(pgid: int) -> bool:
    """Whether any process of the group still runs. Zombies do not count: a leader
    whose parent has gone away may stay a zombie until PID 1 reaps it (which some
    container init processes never do), and waiting for it would only waste the grace."""
    if not _has_members(pgid):
        return False
    if not _has_proc():  # not Linux: cannot tell zombies apart
        return True
    return any(group == pgid for _, group in _live_processes())


def _has_members(pgid: int) -> bool:
    """Whether the group has any process, zombies included: one system call, where
    listing every process of the host costs milliseconds."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, but belongs to someone else
        return True
    return True


def leader_alive(pid: int) -> bool:
    """Whether ``pid`` still runs and leads its own process group: a run's engine that
    has not exited yet. A zombie has exited; a pid that no longer leads its group has
    been reused by an unrelated process."""
    try:
        if os.getpgid(pid) != pid:
            return False
    except ProcessLookupError:
        return False
    if not _has_proc():
        return True
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            return stat.read().rpartition(b")")[2].split()[0] != b"Z"
    except (OSError, IndexError):  # it exited while we looked
        return False


def _has_proc() -> bool:
    return os.path.isdir("/proc/self")


def _live_processes() -> Iterator[tuple[int, int]]:
    """(pid, process group) of every process on this host that has not exited
    (zombies left out): from /proc on Linux, else from ``ps``."""
    if not _has_proc():
        yield from _live_processes_from_ps()
        return
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(os.path.join(entry.path, "stat"), "rb") as stat:
                fields = stat.read().rpartition(b")")[2].split()
        except OSError:  # it exited while we looked
            continue
        # After "(comm)": state, ppid, pgrp, ...
        if len(fields) > 2 and fields[0] != b"Z":
            yield int(entry.name), int(fields[2])


def _live_processes_from_ps() -> Iterator[tuple[int, int]]:
    try:
        listing = subprocess.run(
            ["ps", "-A", "-o", "pid=", "-o", "pgid=", "-o", "stat="],
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return
    for line in listing.splitlines():
        fields = line.split()
        live = len(fields) >= 3 and not fields[2].startswith("Z")
        if live and fields[0].isdigit() and fields[1].isdigit():
            yield int(fields[0]), int(fields[1])


def ensure_group_leader(pid: int) -> None:
    """Refuse a pid that is not (or no longer) the leader of its own process group:
    the run has ended and the pid may belong to something else by now."""
    try:
        pgid = os.getpgid(pid)
    except ProcessLookupError:
        raise InfrastructureNotFound(
            f"process {pid} is not running: the flow run has ended"
        ) from None
    if pgid != pid:
        raise InfrastructureNotFound(
            f"process {pid} does not lead a process group: the flow run has ended "
            "and its pid has been reused"
        )


async def _wait_gone(pgid: int, seconds: float) -> bool:
    with anyio.move_on_after(seconds):
        while group_exists(pgid):
            await anyio.sleep(_POLL_SECONDS)
        return True
    return False


async def stop_group(pgid: int, grace_seconds: float) -> None:
    """SIGTERM the whole group, wait up to ``grace_seconds``, then SIGKILL what is left."""
    try:
        os.killpg(pgid, signal.SIGTERM)
    except ProcessLookupError:
        raise InfrastructureNotFound(
            f"process group {pgid} is gone: the flow run has ended"
        ) from None
    if grace_seconds > 0 and await _wait_gone(pgid, grace_seconds):
        return
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        return
    await _wait_gone(pgid, _AFTER_KILL_SECONDS)


async def stop_leftovers(pgid: int, grace_seconds: float) -> list[int]:
    """Stop what a run's engine (the leader of group ``pgid``) left behind in its group
    once the engine has exited: SIGTERM, ``grace_seconds``, then SIGKILL. Returns the
    pids that were left (empty: nothing was).

    Safe against pid reuse: while any process of the group lives, its number cannot be
    given to a new process, and a leader that still runs (the engine, or whatever now
    has its pid) is never touched here.
    """
    if leader_alive(pgid) or not _has_members(pgid):  # the usual case: nothing left
        return []
    leftovers = sorted(pid for pid, group in _live_processes() if group == pgid)
    if not leftovers:
        return []
    with contextlib.suppress(InfrastructureNotFound):  # they ended just now
        await stop_group(pgid, grace_seconds)
    return leftovers


def leftovers_message(pids: list[int]) -> bytes:
    """The warning line a run's output gets when its leftovers were stopped."""
    listed = " ".join(str(pid) for pid in pids)
    return (
        f"shipway: stopped {len(pids)} leftover process(es) of the flow: pids {listed}\n".encode()
    )
