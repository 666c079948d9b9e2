"""Work queues: their concurrency limits and how many runs each holds or has waiting."""

from __future__ import annotations

import dataclasses
from collections.abc import Collection

import sqlalchemy as sa

from shipway.states import StateType
from shipway.store import _tables as t
from shipway.store._database import Database, utc_now
from shipway.store._errors import StoreError
from shipway.store._flow_runs import ACTIVE_STATES, in_states
from shipway.store._records import WorkQueueRecord

__all__ = ["WorkQueues", "ensure_work_queues"]


def ensure_work_queues(db: Database, connection: sa.Connection, names: Collection[str]) -> None:
    """Record the queues a deployment or an agent names (without a limit) if they are new."""
    if not names:
        return
    for name in names:
        t.check_lengths(t.work_queues, {"name": name})
    created = utc_now()
    connection.execute(
        db.insert(t.work_queues)
        .values([{"name": n, "concurrency_limit": None, "created": created} for n in names])
        .on_conflict_do_nothing(index_elements=["name"])
    )


@dataclasses.dataclass(frozen=True)
class WorkQueues:
    db: Database

    def set_work_queue_limit(self, name: str, limit: int | None) -> WorkQueueRecord:
        if limit is not None and limit < 0:
            raise StoreError(f"a work queue limit must be 0 or more, not {limit}")
        t.check_lengths(t.work_queues, {"name": name})
        with self.db.transaction() as connection:
            connection.execute(
                self.db.insert(t.work_queues)
                .values(name=name, concurrency_limit=limit, created=utc_now())
                .on_conflict_do_update(index_elements=["name"], set_={"concurrency_limit": limit})
            )
        return next(q for q in self.list_work_queues() if q.name == name)

    def list_work_queues(self) -> list[WorkQueueRecord]:
        with self.db.transaction(write=False) as connection:
            limits = dict(
                connection.execute(
                    sa.select(t.work_queues.c.name, t.work_queues.c.concurrency_limit)
                ).all()
            )
            counts = connection.execute(
                sa.select(t.flow_runs.c.work_queue, t.flow_runs.c.state, sa.func.count())
                .where(in_states([StateType.SCHEDULED, *ACTIVE_STATES]))
                .group_by(t.flow_runs.c.work_queue, t.flow_runs.c.state)
            ).all()
            active: dict[str, int] = {}
            waiting: dict[str, int] = {}
            for queue, state, count in counts:
                limits.setdefault(queue, None)
                target = waiting if state == StateType.SCHEDULED.value else active
                target[queue] = target.get(queue, 0) + int(count)
        return [
            WorkQueueRecord(
                name=name,
                concurrency_limit=limits[name],
                active_runs=active.get(name, 0),
                scheduled_runs=waiting.get(name, 0),
            )
            for name in sorted(limits)
        ]
