"""Signal and watch a flow run's process group (POSIX), from any process on this host."""

from __future__ import annotations

import os
import signal

import anyio

from shipway.infrastructure import InfrastructureNotFound

__all__ = ["ensure_group_leader", "group_exists", "stop_group"]

# How long to wait for the group to vanish after SIGKILL before giving up on it
# (a leader left unreaped by a parent that is gone stays as a zombie until init reaps it).
_AFTER_KILL_SECONDS = 5.0
_POLL_SECONDS = 0.05


def group_exists(pgid: int) -> bool:
    """Whether any process of the group still runs. Zombies do not count: a leader
    whose parent has gone away may stay a zombie until PID 1 reaps it (which some
    container init processes never do), and waiting for it would only waste the grace."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, but belongs to someone else
        return True
    return _has_live_member(pgid)


def _has_live_member(pgid: int) -> bool:
    if not os.path.isdir("/proc/self"):  # not Linux: cannot tell zombies apart
        return True
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(os.path.join(entry.path, "stat"), "rb") as stat:
                fields = stat.read().rpartition(b")")[2].split()
        except OSError:  # it exited while we looked
            continue
        # After "(comm)": state, ppid, pgrp, ...
        if len(fields) > 2 and int(fields[2]) == pgid and fields[0] != b"Z":
            return True
    return False


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
