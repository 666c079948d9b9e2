"""Where a run's output goes: the terminal by default, a log store for an agent.

Plugins call :meth:`Infrastructure.write_output`; whoever runs the infrastructure
chooses the sink with :func:`output_sink`, so the ``run`` signature never changes.
"""

from __future__ import annotations

import contextlib
import contextvars
import sys
from collections.abc import Iterator
from typing import Literal, Protocol

from shipway.log_lines import decode_log_line, encode_log_line, render_log_line
from shipway.secrets import Masker

__all__ = [
    "LineSplitter",
    "MaskedSink",
    "OutputSink",
    "StreamName",
    "TerminalSink",
    "current_output_sink",
    "output_sink",
]

StreamName = Literal["stdout", "stderr"]


class OutputSink(Protocol):
    def write(self, stream: StreamName, data: bytes) -> None:
        """Receive one line (with its newline, when it had one) as raw bytes."""


class TerminalSink:
    """Write output bytes unchanged to this process's stdout/stderr (non-UTF-8 included);
    a run logger's record (a log line, see ``shipway.log_lines``) as its time, level and
    message."""

    def write(self, stream: StreamName, data: bytes) -> None:
        record = decode_log_line(data)
        if record is not None:
            text = render_log_line(record.level, record.time, record.message, record.source)
            data = (text + "\n").encode("utf-8", errors="replace")
        target = sys.stdout if stream == "stdout" else sys.stderr
        buffer = getattr(target, "buffer", None)
        if buffer is not None:
            target.flush()
            buffer.write(data)
            buffer.flush()
        else:  # a text-only stream (pytest capture, IDE consoles)
            target.write(data.decode("utf-8", errors="replace"))
            target.flush()


class MaskedSink:
    """Pass each line on to ``inner`` with the run's secrets masked (see ``shipway.secrets``)."""

    def __init__(self, inner: OutputSink, masker: Masker) -> None:
        self.inner = inner
        self.masker = masker

    def write(self, stream: StreamName, data: bytes) -> None:
        record = decode_log_line(data)
        if record is not None:  # mask the message itself, not its JSON spelling
            message = self.masker.text(record.message)
            line = encode_log_line(record.level, record.time.timestamp(), message, record.source)
            self.inner.write(stream, line.encode("utf-8"))
            return
        self.inner.write(stream, self.masker.line(data))


_TERMINAL = TerminalSink()
_sink: contextvars.ContextVar[OutputSink | None] = contextvars.ContextVar(
    "shipway_output_sink", default=None
)


def current_output_sink() -> OutputSink:
    return _sink.get() or _TERMINAL


@contextlib.contextmanager
def output_sink(sink: OutputSink) -> Iterator[OutputSink]:
    """Send run output written inside this block (and tasks it starts) to ``sink``."""
    token = _sink.set(sink)
    try:
        yield sink
    finally:
        _sink.reset(token)


class LineSplitter:
    """Cut a byte stream into lines as chunks arrive.

    A line longer than ``max_line`` is passed on in pieces so a progress bar with
    no newline still shows up.
    """

    def __init__(self, max_line: int = 65536) -> None:
        self._pending = bytearray()
        self._max_line = max_line

    def feed(self, chunk: bytes) -> list[bytes]:
        """The lines ``chunk`` completes, each with its newline, in order (often none).
        A line longer than ``max_line`` comes out in pieces of that size."""
        self._pending += chunk
        lines: list[bytes] = []
        while True:
            end = self._pending.find(b"\n")
            if end < 0:
                break
            lines.append(bytes(self._pending[: end + 1]))
            del self._pending[: end + 1]
        while len(self._pending) >= self._max_line:
            lines.append(bytes(self._pending[: self._max_line]))
            del self._pending[: self._max_line]
        return lines

    def flush(self) -> list[bytes]:
        """At the end of the stream: what is left, an unfinished last line without a
        newline, as a list like :meth:`feed` returns (empty when nothing is left), so
        both read alike: ``for line in [*splitter.feed(chunk), *splitter.flush()]``."""
        rest, self._pending = bytes(self._pending), bytearray()
        return [rest] if rest else []
