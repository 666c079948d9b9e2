"""A run's output on its way to the store: buffered, then written in batches.

One INSERT per line would cap an agent at a few hundred lines a second (and block
the run on every one); batches flush every ``interval`` or when ``batch_size`` lines
wait. While the store is unreachable the lines stay here and go out when it is back.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Literal

import anyio

from shipway.agent._store_calls import StoreCalls
from shipway.infrastructure import StreamName
from shipway.log_lines import decode_log_line
from shipway.secrets import Masker
from shipway.store import LogLine, StoreInterface

__all__ = ["LogBuffer", "RunOutput"]


class LogBuffer:
    def __init__(
        self,
        store: StoreInterface,
        calls: StoreCalls,
        *,
        interval: float = 0.25,
        batch_size: int = 200,
    ) -> None:
        self._store = store
        self._calls = calls
        self._interval = interval
        self._batch_size = batch_size
        self._pending: dict[str, list[LogLine]] = {}
        self._full = anyio.Event()
        self._writing = anyio.Lock()  # one writer at a time keeps each run's lines in order

    def add(self, run_id: str, line: LogLine) -> None:
        lines = self._pending.setdefault(run_id, [])
        lines.append(line)
        if len(lines) >= self._batch_size:
            self._full.set()

    async def flush(self, run_id: str | None = None) -> None:
        """Write what waits (for one run, or all): called before a run's final state."""
        async with self._writing:
            for key in [run_id] if run_id is not None else list(self._pending):
                lines = self._pending.pop(key, None)
                if lines:
                    await self._calls(self._store.append_logs, key, lines)

    async def run(self) -> None:
        """Flush in the background until cancelled."""
        while True:
            with anyio.move_on_after(self._interval):
                await self._full.wait()
            self._full = anyio.Event()
            await self.flush()


class RunOutput:
    """The output sink of one attempt of one run (see ``shipway.infrastructure.output_sink``).

    Every line is masked with the run's secrets before it is kept: what its references
    resolved to, its ``SecretStr`` values and its secret-named variables (the attempt adds
    them to ``masker`` before the run starts), and URL passwords."""

    location = "in the run's logs"
    """Where this output can be read, for the run's final message."""

    def __init__(
        self, buffer: LogBuffer, run_id: str, attempt: int, masker: Masker | None = None
    ) -> None:
        self._buffer = buffer
        self._run_id = run_id
        self._attempt = attempt
        self.masker = masker or Masker()

    def write(self, stream: StreamName, data: bytes) -> None:
        record = decode_log_line(data)
        if record is None:
            self.note(stream, data.decode("utf-8", errors="replace").rstrip("\r\n"))
            return
        # A run logger's record: kept with its own time and level (`flow-run logs --level`).
        self._buffer.add(
            self._run_id,
            LogLine(
                timestamp=record.time,
                stream=stream,
                text=self.masker.text(record.message),
                attempt=self._attempt,
                level=record.level,
                source=record.source,
            ),
        )

    def note(self, stream: Literal["stdout", "stderr", "shipway"], text: str) -> None:
        """A line of the run's output, or the agent's own remark on it (``shipway``)."""
        self._buffer.add(
            self._run_id,
            LogLine(
                timestamp=datetime.now(timezone.utc),
                stream=stream,
                text=self.masker.text(text),
                attempt=self._attempt,
            ),
        )
