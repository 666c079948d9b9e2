"""The run's stdout and stderr: pipes this process owns and closes when it chooses.

The run ends when its engine exits, not when its pipes reach end-of-file: a process the
flow started inherits them and may keep them open long after (a leftover in the run's
process group until it is stopped, or one that left the group for good). With pipes of
our own, waiting for the engine never waits for them too (asyncio's
``Process.wait()`` does, before Python 3.12, for the pipes it made), and reading stops
when the run is over, whoever still holds the other end.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import AsyncIterator

import anyio
import anyio.lowlevel

from shipway.infrastructure import StreamName

__all__ = ["OutputPipes"]

_CHUNK_BYTES = 65536
_STREAMS: tuple[StreamName, ...] = ("stdout", "stderr")


class OutputPipes:
    """One pipe per stream, or none (``/dev/null``) when output is not streamed."""

    def __init__(self, streamed: bool) -> None:
        self._read: dict[StreamName, int] = {}
        self._write: dict[StreamName, int] = {}
        if streamed:
            for name in _STREAMS:
                self._read[name], self._write[name] = os.pipe()
                os.set_blocking(self._read[name], False)

    def child_end(self, name: StreamName) -> int:
        """What to give the child as ``stdout=`` / ``stderr=``."""
        return self._write.get(name, subprocess.DEVNULL)

    def close_child_ends(self) -> None:
        """Close our copies of the child's ends (once it has started, or failed to):
        until then the pipes could never reach end-of-file."""
        for fd in self._write.values():
            with contextlib.suppress(OSError):
                os.close(fd)
        self._write.clear()

    def readers(self) -> list[tuple[StreamName, AsyncIterator[bytes]]]:
        """An async iterator of chunks per stream, ending at end-of-file."""
        return [(name, _chunks(fd)) for name, fd in self._read.items()]

    def close(self) -> None:
        """Stop reading for good: a writer still holding a pipe gets EPIPE from now on."""
        self.close_child_ends()
        for fd in self._read.values():
            with contextlib.suppress(OSError):
                os.close(fd)
        self._read.clear()


async def _chunks(fd: int) -> AsyncIterator[bytes]:
    while True:
        try:
            chunk = os.read(fd, _CHUNK_BYTES)
        except BlockingIOError:
            await anyio.wait_readable(fd)
            continue
        if not chunk:
            return
        yield chunk
        # A writer that never pauses must not keep the event loop from other work.
        await anyio.lowlevel.checkpoint()
