"""Which agent holds which run: claiming due runs within the work queues' limits, the
runs an agent holds, and adopting the runs of agents that are gone."""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Sequence
from datetime import datetime, timedelta

import sqlalchemy as sa

from shipway.states import StateType
from shipway.store import _tables as t
from shipway.store._database import Database, utc_now
from shipway.store._flow_runs import ACTIVE_STATES, in_states
from shipway.store._records import FlowRunRecord
from shipway.store._rows import history_values, run_from_row, run_query

__all__ = ["Claims"]


@dataclasses.dataclass(frozen=True)
class Claims:
    db: Database

    def claim_runs(
        self,
        agent_id: str,
        queues: Sequence[str],
        limit: int,
        now: datetime | None,
        infrastructure_types: Collection[str] | None,
        lease: timedelta | None,
    ) -> list[FlowRunRecord]:
        # A run is never handed to two agents: SQLite serialises claims (BEGIN IMMEDIATE),
        # PostgreSQL locks the candidate rows and skips those another claim holds.
        if limit <= 0:
            return []
        now = now or utc_now()
        claimed: list[str] = []
        with self.db.transaction() as connection:
            capacity = self._queue_capacity(connection, queues)
            full = {name for name, free in capacity.items() if free <= 0}
            while len(claimed) < limit:
                query = sa.select(t.flow_runs.c.id, t.flow_runs.c.work_queue).where(
                    t.flow_runs.c.state == StateType.SCHEDULED.value,
                    t.flow_runs.c.scheduled_time <= now,
                )
                if queues:
                    query = query.where(t.flow_runs.c.work_queue.in_(list(queues)))
                if infrastructure_types is not None:
                    types = sorted(infrastructure_types)
                    query = query.where(t.flow_runs.c.infrastructure_type.in_(types))
                if full:
                    query = query.where(t.flow_runs.c.work_queue.not_in(sorted(full)))
                if claimed:
                    query = query.where(t.flow_runs.c.id.not_in(claimed))
                query = query.order_by(t.flow_runs.c.scheduled_time, t.flow_runs.c.created)
                query = self.db.for_update(query.limit(limit - len(claimed)), skip_locked=True)
                candidates = connection.execute(query).all()
                if not candidates:
                    break
                queue_filled = False
                for candidate in candidates:
                    if candidate.work_queue in full:
                        continue  # filled up by an earlier candidate of this batch
                    if candidate.work_queue in capacity:
                        capacity[candidate.work_queue] -= 1
                        if capacity[candidate.work_queue] <= 0:
                            full.add(candidate.work_queue)
                            queue_filled = True
                    claimed.append(candidate.id)
                if not queue_filled:
                    break  # every candidate was taken: the limit is reached or no run is left
            if not claimed:
                return []
            stamp = utc_now()
            updated = connection.execute(
                t.flow_runs.update()
                .where(t.flow_runs.c.id.in_(claimed))
                .values(
                    state=StateType.PENDING.value,
                    state_message="",
                    agent_id=agent_id,
                    lease_expires=_expiry(stamp, lease),
                    updated=stamp,
                )
                .returning(*t.flow_runs.c)
            ).all()
            rows = sorted(updated, key=lambda row: (row.scheduled_time, row.created))
            connection.execute(
                t.flow_run_states.insert(),
                [
                    history_values(
                        row.id,
                        StateType.PENDING,
                        "",
                        stamp,
                        attempt=row.attempt,
                        agent_id=agent_id,
                        identifier=None,
                    )
                    for row in rows
                ],
            )
        return [run_from_row(row) for row in rows]

    def _queue_capacity(self, connection: sa.Connection, queues: Sequence[str]) -> dict[str, int]:
        """Free slots of each limited work queue among ``queues``, their rows locked on
        PostgreSQL so that concurrent claims on a limited queue take turns."""
        query = sa.select(t.work_queues.c.name, t.work_queues.c.concurrency_limit).where(
            t.work_queues.c.concurrency_limit.is_not(None)
        )
        if queues:
            query = query.where(t.work_queues.c.name.in_(list(queues)))
        limits = {
            row.name: row.concurrency_limit
            for row in connection.execute(self.db.for_update(query.order_by(t.work_queues.c.name)))
        }
        if not limits:
            return {}
        active: dict[str, int] = dict(
            connection.execute(
                sa.select(t.flow_runs.c.work_queue, sa.func.count())
                .where(
                    t.flow_runs.c.work_queue.in_(list(limits)),
                    in_states(ACTIVE_STATES),
                )
                .group_by(t.flow_runs.c.work_queue)
            ).all()
        )
        return {name: limit - int(active.get(name, 0)) for name, limit in limits.items()}

    def runs_of_agent(self, agent_id: str, states: Collection[StateType]) -> list[FlowRunRecord]:
        query = sa.select(t.flow_runs).where(t.flow_runs.c.agent_id == agent_id)
        if states:
            query = query.where(in_states(states))
        with self.db.transaction(write=False) as connection:
            return [
                run_from_row(row)
                for row in connection.execute(query.order_by(t.flow_runs.c.created))
            ]

    def count_runs_by_agent(self, states: Collection[StateType]) -> dict[str, int]:
        query = (
            sa.select(t.flow_runs.c.agent_id, sa.func.count())
            .where(t.flow_runs.c.agent_id.is_not(None), in_states(states))
            .group_by(t.flow_runs.c.agent_id)
        )
        with self.db.transaction(write=False) as connection:
            return {agent_id: int(count) for agent_id, count in connection.execute(query)}

    def orphaned_runs(
        self, *, stale_after: timedelta, queues: Sequence[str]
    ) -> list[FlowRunRecord]:
        now = utc_now()
        query = (
            sa.select(t.flow_runs)
            .select_from(t.flow_runs.outerjoin(t.agents, t.agents.c.id == t.flow_runs.c.agent_id))
            .where(
                in_states(ACTIVE_STATES),
                sa.or_(
                    t.agents.c.id.is_(None),
                    t.agents.c.stopped.is_not(None),
                    t.agents.c.last_heartbeat < now - stale_after,
                ),
                _lease_expired(now),
            )
            .order_by(t.flow_runs.c.created)
        )
        if queues:
            query = query.where(t.flow_runs.c.work_queue.in_(list(queues)))
        with self.db.transaction(write=False) as connection:
            return [run_from_row(row) for row in connection.execute(query)]

    def adopt_run(
        self, run_id: str, agent_id: str, previous_agent_id: str | None, lease: timedelta | None
    ) -> FlowRunRecord | None:
        now = utc_now()
        with self.db.transaction() as connection:
            result = connection.execute(
                t.flow_runs.update()
                .where(
                    t.flow_runs.c.id == run_id,
                    _held_by(previous_agent_id),
                    in_states(ACTIVE_STATES),
                    _lease_expired(now),
                )
                .values(agent_id=agent_id, lease_expires=_expiry(now, lease), updated=now)
            )
            if result.rowcount != 1:
                return None
            row = connection.execute(run_query(run_id)).one()
        return run_from_row(row)

    def hand_back_run(self, run_id: str, agent_id: str, to_agent_id: str) -> bool:
        with self.db.transaction() as connection:
            result = connection.execute(
                t.flow_runs.update()
                .where(t.flow_runs.c.id == run_id, _held_by(agent_id), in_states(ACTIVE_STATES))
                .values(agent_id=to_agent_id, lease_expires=None, updated=utc_now())
            )
        return result.rowcount == 1

    def renew_leases(
        self, agent_id: str, lease: timedelta, run_ids: Collection[str] | None
    ) -> list[str]:
        now = utc_now()
        query = t.flow_runs.update().where(_held_by(agent_id), in_states(ACTIVE_STATES))
        if run_ids is not None:
            query = query.where(t.flow_runs.c.id.in_(list(run_ids)))
        with self.db.transaction() as connection:
            renewed = connection.execute(
                query.values(lease_expires=now + lease).returning(t.flow_runs.c.id)
            )
            return list(renewed.scalars())


def _held_by(agent_id: str | None) -> sa.ColumnElement[bool]:
    owner = t.flow_runs.c.agent_id
    return owner.is_(None) if agent_id is None else owner == agent_id


def _lease_expired(now: datetime) -> sa.ColumnElement[bool]:
    """No agent holds a lease on the run (any more): it may be adopted."""
    expires = t.flow_runs.c.lease_expires
    return sa.or_(expires.is_(None), expires < now)


def _expiry(now: datetime, lease: timedelta | None) -> datetime | None:
    return None if lease is None else now + lease
