"""Wake-ups between processes on one machine, for a SQLite store: every listening agent
binds a Unix datagram socket in a folder beside the database file, and whoever changes
the store (``deployment run``, ``flow-run cancel``, ``deployment apply``) sends each of
them one datagram naming the reasons.

A socket whose agent died without removing it refuses the datagram: the sender removes
it. A full socket buffer drops the datagram: its agent has wake-ups waiting already.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import socket
import tempfile
import uuid
from collections.abc import AsyncIterator, Collection
from pathlib import Path

import anyio

from shipway.store._wakeups import Inbox, Wakeup, WakeupListener, log, receiving

__all__ = ["poke_sockets", "socket_directory", "socket_listener"]

SOCKET_SUFFIX = ".sock"
_SOCKET_NAME_LENGTH = 12 + len(SOCKET_SUFFIX)
# sun_path holds 108 bytes on Linux (104 on macOS), its terminating NUL included.
_MAX_SOCKET_PATH = 103
_MESSAGE_BYTES = 256


def socket_directory(database: Path) -> Path:
    """``<database>-wakeup`` beside the file (in SHIPWAY_HOME for the default store);
    when that path is too long for a socket address, a private folder in the temporary
    directory named after the database's path, which every process computes alike."""
    beside = database.with_name(f"{database.name}-wakeup")
    if len(os.fsencode(beside)) + 1 + _SOCKET_NAME_LENGTH <= _MAX_SOCKET_PATH:
        return beside
    digest = hashlib.sha256(os.fsencode(database.resolve())).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"shipway-{os.getuid()}-{digest}-wakeup"


def poke_sockets(directory: Path, wakeups: Collection[Wakeup]) -> None:
    """Send ``wakeups`` to every agent listening in ``directory``; never raises (the
    store's change is made, and the agents poll anyway)."""
    try:
        names = [name for name in os.listdir(directory) if name.endswith(SOCKET_SUFFIX)]
    except OSError:  # no folder: no agent listens
        return
    if not names:
        return
    message = Wakeup.join(set(wakeups)).encode()
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sender:
        sender.setblocking(False)
        for name in names:
            path = directory / name
            try:
                sender.sendto(message, os.fsencode(path))
            except (ConnectionRefusedError, FileNotFoundError):  # its agent is gone
                with contextlib.suppress(OSError):
                    path.unlink()
            except BlockingIOError:  # its buffer is full: it has wake-ups waiting
                pass
            except OSError as exc:
                log.debug("cannot wake the agent listening on %s: %s", path, exc)


@contextlib.asynccontextmanager
async def socket_listener(directory: Path) -> AsyncIterator[WakeupListener]:
    """Listen on a new socket in ``directory`` until the block ends; without one (a
    folder that cannot be made), a listener that never wakes."""
    bound = _bind(directory)
    if bound is None:
        yield Inbox()
        return
    receiver, path = bound
    try:
        async with receiving(functools.partial(_receive, receiver)) as listener:
            yield listener
    finally:
        receiver.close()
        with contextlib.suppress(OSError):
            path.unlink()


def _bind(directory: Path) -> tuple[socket.socket, Path] | None:
    path = directory / f"{uuid.uuid4().hex[:12]}{SOCKET_SUFFIX}"
    receiver = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        if directory.stat().st_uid != os.getuid():  # someone else's folder: do not trust it
            raise PermissionError(f"{directory} belongs to another user")
        receiver.setblocking(False)
        receiver.bind(os.fsencode(path))
    except OSError as exc:
        receiver.close()
        log.warning("cannot listen for wake-ups in %s (%s): polling only", directory, exc)
        return None
    return receiver, path


async def _receive(receiver: socket.socket, inbox: Inbox) -> None:
    inbox.listening.set()  # bound already: a datagram sent from now on waits for us
    while True:
        await anyio.wait_readable(receiver)
        while True:
            try:
                message = receiver.recv(_MESSAGE_BYTES)
            except BlockingIOError:
                break
            inbox.deliver(Wakeup.parse(message.decode(errors="replace")))
