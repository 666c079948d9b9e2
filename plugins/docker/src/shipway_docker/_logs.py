"""Stream a container's stdout and stderr, line by line, while it runs.

The engine's attach stream is read in a worker thread (docker-py blocks); each batch
of complete lines is handed to the event loop, where the infrastructure's
``write_output`` passes it on. Attaching before the container starts (with the
engine's log replay on) means no line is ever missed, however short the run.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING

import anyio
import anyio.from_thread
import anyio.to_thread

from shipway.infrastructure import LineSplitter, StreamName

if TYPE_CHECKING:
    import docker

__all__ = ["ContainerOutput", "attach"]

Frames = Iterable[tuple[bytes | None, bytes | None]]
Write = Callable[[StreamName, bytes], None]


def attach(api: docker.APIClient, container_id: str) -> Frames:
    """Open the container's output stream (stdout and stderr kept apart). Blocks;
    call it before ``start`` so that the first line is caught."""
    frames: Frames = api.attach(
        container_id, stdout=True, stderr=True, stream=True, logs=True, demux=True
    )
    return frames


class ContainerOutput:
    """Pump ``frames`` to ``write`` until the container's output ends.

    :meth:`pump` runs the reader thread; if the task is cancelled the thread is left
    to finish on its own (it ends when the container stops) and :meth:`drain` waits
    for it, so what the container prints while it is being stopped is not lost.
    """

    def __init__(self, frames: Frames, write: Write) -> None:
        self._frames = frames
        self._write = write
        self._finished = anyio.Event()

    async def pump(self) -> None:
        """Read to the end of the output; never raises (a broken stream is reported
        as a line on stderr: the exit status still tells how the run ended)."""
        await anyio.to_thread.run_sync(self._read, abandon_on_cancel=True)

    async def drain(self, seconds: float) -> bool:
        """Wait up to ``seconds`` for the output to end; True if it did."""
        with anyio.move_on_after(seconds):
            await self._finished.wait()
            return True
        return False

    def _read(self) -> None:  # in the worker thread
        try:
            for batch in _lines(self._frames):
                anyio.from_thread.run_sync(self._deliver, batch)
        except Exception as exc:  # the run goes on without its output; its result still counts
            message = f"shipway-docker: lost the container's output: {type(exc).__name__}: {exc}\n"
            with contextlib.suppress(RuntimeError):
                anyio.from_thread.run_sync(self._write, "stderr", message.encode())
        finally:
            # RuntimeError: the event loop has finished (anyio's RunFinishedError);
            # nobody is listening any more.
            with contextlib.suppress(RuntimeError):
                anyio.from_thread.run_sync(self._finished.set)

    def _deliver(self, batch: list[tuple[StreamName, bytes]]) -> None:  # in the event loop
        for stream, line in batch:
            self._write(stream, line)


def _lines(frames: Frames) -> Iterator[list[tuple[StreamName, bytes]]]:
    """Each frame's complete lines, then whatever was left without a newline."""
    splitters: dict[StreamName, LineSplitter] = {"stdout": LineSplitter(), "stderr": LineSplitter()}
    for out, err in frames:
        batch: list[tuple[StreamName, bytes]] = []
        if out:
            batch.extend(("stdout", line) for line in splitters["stdout"].feed(out))
        if err:
            batch.extend(("stderr", line) for line in splitters["stderr"].feed(err))
        if batch:
            yield batch
    rest = [(name, line) for name, splitter in splitters.items() for line in splitter.flush()]
    if rest:
        yield rest
