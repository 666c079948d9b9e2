"""Captured output of flow runs: appended in batches, read back in order."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import sqlalchemy as sa

from shipway.names import MAX_NAME_LENGTH
from shipway.store import _tables as t
from shipway.store._database import Database
from shipway.store._errors import FlowRunNotFound
from shipway.store._records import LogLine, StoredLogLine
from shipway.store._rows import log_from_row

__all__ = ["Logs"]


@dataclasses.dataclass(frozen=True)
class Logs:
    db: Database

    def append_logs(self, run_id: str, lines: Sequence[LogLine]) -> None:
        if not lines:
            return
        with self.db.transaction() as connection:
            # The run's line counter hands out the sequence numbers: batches written at
            # the same time each get a contiguous range.
            last = connection.execute(
                t.flow_runs.update()
                .where(t.flow_runs.c.id == run_id)
                .values(log_count=t.flow_runs.c.log_count + len(lines))
                .returning(t.flow_runs.c.log_count)
            ).scalar()
            if last is None:
                raise FlowRunNotFound(f"no flow run with id {run_id!r}")
            first = last - len(lines) + 1
            connection.execute(
                t.logs.insert(),
                [
                    {
                        "flow_run_id": run_id,
                        "seq": first + offset,
                        "timestamp": line.timestamp,
                        "stream": line.stream,
                        "text": line.text,
                        "attempt": line.attempt,
                        "level": line.level,
                        "source": line.source[:MAX_NAME_LENGTH],
                    }
                    for offset, line in enumerate(lines)
                ],
            )

    def read_logs(
        self, run_id: str, *, after: int, limit: int, min_level: int | None = None
    ) -> list[StoredLogLine]:
        conditions = [t.logs.c.flow_run_id == run_id, t.logs.c.seq > after]
        if min_level is not None:  # plain output has no level: left out
            conditions.append(t.logs.c.level >= min_level)
        with self.db.transaction(write=False) as connection:
            rows = connection.execute(
                sa.select(t.logs)
                .where(*conditions)
                .order_by(t.logs.c.seq)
                .limit(limit)
            )
            return [log_from_row(row) for row in rows]
