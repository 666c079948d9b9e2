"""Flow runs: creating one by hand, finding one by id or prefix, listing and counting
them, and reading a run's state history."""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

import sqlalchemy as sa

from shipway.states import StateType
from shipway.store import _tables as t
from shipway.store._database import Database, utc_now
from shipway.store._errors import FlowRunNotFound
from shipway.store._records import DeploymentRecord, FlowRunRecord, StateRecord
from shipway.store._rows import (
    add_history,
    dumps,
    new_run_values,
    run_from_row,
    run_query,
    state_from_row,
)
from shipway.store._sealed import seal
from shipway.store._wakeups import Wakeup

__all__ = ["ACTIVE_STATES", "NEWEST_FIRST", "FlowRuns", "RunPosition", "find_run", "in_states"]

# States in which a run holds a slot on its agent and its work queue.
ACTIVE_STATES = (StateType.PENDING, StateType.RUNNING, StateType.CANCELLING)
MIN_PREFIX = 4


@dataclasses.dataclass(frozen=True)
class FlowRuns:
    db: Database

    def create_flow_run(
        self,
        deployment: DeploymentRecord,
        *,
        parameters: Mapping[str, Any] | None,
        overrides: Mapping[str, Any] | None,
        scheduled_time: datetime | None,
    ) -> FlowRunRecord:
        created = utc_now()
        values = new_run_values(deployment, created, scheduled_time or created)
        values["parameters"] = dumps({**deployment.parameters, **(parameters or {})})
        values["overrides"] = seal(dict(overrides or {}))
        t.check_lengths(t.flow_runs, values)
        with self.db.transaction() as connection:
            connection.execute(t.flow_runs.insert().values(**values))
            add_history(
                connection, values["id"], StateType.SCHEDULED, "", created,
                attempt=1, agent_id=None, identifier=None,
            )  # fmt: skip
            row = connection.execute(run_query(values["id"])).one()
            if scheduled_time is None or scheduled_time <= created:  # due: start it now
                self.db.notify(connection, Wakeup.RUN_CREATED)
        return run_from_row(row)

    def get_flow_run(self, run_id: str) -> FlowRunRecord:
        with self.db.transaction(write=False) as connection:
            return run_from_row(find_run(self.db, connection, run_id))

    def list_flow_runs(
        self,
        *,
        deployment: str | None,
        states: Collection[StateType] | None,
        limit: int,
        work_queue: str | None = None,
        before: RunPosition | None = None,
    ) -> list[FlowRunRecord]:
        query = _filtered(
            sa.select(t.flow_runs), deployment=deployment, states=states, work_queue=work_queue
        )
        if before is not None:
            query = query.where(_before(before))
        # Newest first by when each run is (or was) due: runs a schedule created ahead of
        # time come before older ones, not among them (creation, then id, break ties).
        query = query.order_by(*NEWEST_FIRST).limit(limit)
        with self.db.transaction(write=False) as connection:
            return [run_from_row(row) for row in connection.execute(query)]

    def count_flow_runs(
        self,
        *,
        deployment: str | None,
        states: Collection[StateType] | None,
        work_queue: str | None,
    ) -> int:
        query = _filtered(
            sa.select(sa.func.count()).select_from(t.flow_runs),
            deployment=deployment,
            states=states,
            work_queue=work_queue,
        )
        with self.db.transaction(write=False) as connection:
            return int(connection.execute(query).scalar_one())

    def count_runs_per_hour(self, since: datetime, hours: int) -> dict[StateType, list[int]]:
        """For each state, how many runs are due in each of the ``hours`` whole hours
        from ``since`` (UTC, on the hour): one grouped read of the (state, scheduled_time)
        index over those hours only (no row of the table is read)."""
        c = t.flow_runs.c
        until = since + timedelta(hours=hours)
        if self.db.backend == "sqlite":  # stored as text: 'YYYY-MM-DD HH:MM:SS.ffffff'
            # Literal bounds: the GROUP BY must repeat the very expression it selects.
            hour = sa.func.substr(c.scheduled_time, sa.literal_column("1"), sa.literal_column("13"))
        else:
            hour = sa.func.to_char(c.scheduled_time, "YYYY-MM-DD HH24")
        query = (
            sa.select(c.state, hour.label("hour"), sa.func.count())
            .where(in_states(list(StateType)), c.scheduled_time >= since, c.scheduled_time < until)
            .group_by(c.state, hour)
        )
        counts: dict[StateType, list[int]] = {}
        with self.db.transaction(write=False) as connection:
            for state, label, count in connection.execute(query):
                year, month, day, hour_of_day = label[:4], label[5:7], label[8:10], label[11:13]
                at = datetime(
                    int(year), int(month), int(day), int(hour_of_day), tzinfo=timezone.utc
                )
                index = int((at - since) / timedelta(hours=1))
                if 0 <= index < hours:
                    counts.setdefault(StateType(state), [0] * hours)[index] += int(count)
        return counts

    def state_history(self, run_id: str) -> list[StateRecord]:
        with self.db.transaction(write=False) as connection:
            full_id = find_run(self.db, connection, run_id).id
            rows = connection.execute(
                sa.select(t.flow_run_states)
                .where(t.flow_run_states.c.flow_run_id == full_id)
                .order_by(t.flow_run_states.c.id)
            )
            return [state_from_row(row) for row in rows]


@dataclasses.dataclass(frozen=True)
class RunPosition:
    """Where a run stands in the newest-first order: a page of runs goes on after the
    last run of the previous page (keyset pagination: as fast on page 1,000 as on 1)."""

    scheduled_time: datetime
    created: datetime
    id: str

    @classmethod
    def of(cls, run: FlowRunRecord) -> RunPosition:
        return cls(run.scheduled_time, run.created, run.id)


NEWEST_FIRST = (
    t.flow_runs.c.scheduled_time.desc(),
    t.flow_runs.c.created.desc(),
    t.flow_runs.c.id.desc(),
)


def _before(position: RunPosition) -> sa.ColumnElement[bool]:
    """The runs after ``position`` in the newest-first order. The first condition alone
    lets the database start its index scan there; the rest breaks the ties."""
    c = t.flow_runs.c
    return sa.and_(
        c.scheduled_time <= position.scheduled_time,
        sa.or_(
            c.scheduled_time < position.scheduled_time,
            c.created < position.created,
            sa.and_(c.created == position.created, c.id < position.id),
        ),
    )


def _filtered(
    query: sa.Select[Any],
    *,
    deployment: str | None = None,
    states: Collection[StateType] | None = None,
    work_queue: str | None = None,
) -> sa.Select[Any]:
    """``query`` restricted to the runs of a deployment, in some states, of a queue."""
    if deployment is not None:
        query = query.where(t.flow_runs.c.deployment_name == deployment)
    if states:
        query = query.where(in_states(states))
    if work_queue is not None:
        query = query.where(t.flow_runs.c.work_queue == work_queue)
    return query


def in_states(states: Collection[StateType]) -> sa.ColumnElement[bool]:
    """The condition "the run is in one of ``states``"."""
    return t.flow_runs.c.state.in_([state.value for state in states])


def find_run(db: Database, connection: sa.Connection, run_id: str, *, lock: bool = False) -> Any:
    """The row of the run with that id, or of the only one whose id starts with it
    (>= 4 characters); locked for update with ``lock``."""
    run_id = run_id.strip().lower()
    if len(run_id) < MIN_PREFIX:
        raise FlowRunNotFound(
            f"flow run id {run_id!r} is too short: give at least {MIN_PREFIX} characters"
        )
    query = run_query(run_id)
    if lock:
        query = db.for_update(query)
    row = connection.execute(query).first()
    if row is not None:
        return row
    matches = (
        connection.execute(
            sa.select(t.flow_runs.c.id).where(t.flow_runs.c.id.startswith(run_id)).limit(3)
        )
        .scalars()
        .all()
    )
    if not matches:
        raise FlowRunNotFound(
            f"no flow run with id {run_id!r}",
            hint="`shipway flow-run ls` lists the recent ones.",
        )
    if len(matches) > 1:
        raise FlowRunNotFound(
            f"{run_id!r} matches several flow runs ({', '.join(matches)}, ...); "
            "give more characters"
        )
    query = run_query(matches[0])
    return connection.execute(db.for_update(query) if lock else query).one()
