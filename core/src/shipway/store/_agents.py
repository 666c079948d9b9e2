"""Agents: registration, heartbeats, deregistration, and who is alive."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa

from shipway.store import _tables as t
from shipway.store._database import Database, utc_now
from shipway.store._flow_runs import ACTIVE_STATES, in_states
from shipway.store._records import AgentRecord
from shipway.store._rows import agent_from_row, dumps
from shipway.store._work_queues import ensure_work_queues

__all__ = ["Agents"]


@dataclasses.dataclass(frozen=True)
class Agents:
    db: Database

    def register_agent(
        self,
        name: str,
        queues: Sequence[str],
        limit: int | None,
        infrastructure_types: Sequence[str] | None,
    ) -> AgentRecord:
        t.check_lengths(t.agents, {"name": name})
        stamp = utc_now()
        record = AgentRecord(
            id=str(uuid.uuid4()),
            name=name,
            queues=tuple(queues),
            limit=limit,
            started=stamp,
            last_heartbeat=stamp,
            stopped=None,
            infrastructure_types=(
                None if infrastructure_types is None else tuple(infrastructure_types)
            ),
        )
        with self.db.transaction() as connection:
            connection.execute(
                t.agents.insert().values(
                    id=record.id,
                    name=name,
                    queues=dumps(list(queues)),
                    concurrency_limit=limit,
                    infrastructure_types=(
                        None if infrastructure_types is None else dumps(list(infrastructure_types))
                    ),
                    started=stamp,
                    last_heartbeat=stamp,
                )
            )
            ensure_work_queues(self.db, connection, list(queues))
        return record

    def heartbeat(self, agent_id: str) -> None:
        with self.db.transaction() as connection:
            connection.execute(
                t.agents.update().where(t.agents.c.id == agent_id).values(last_heartbeat=utc_now())
            )

    def deregister_agent(self, agent_id: str) -> None:
        with self.db.transaction() as connection:
            connection.execute(
                t.agents.update().where(t.agents.c.id == agent_id).values(stopped=utc_now())
            )
            # It watches nothing any more: whatever it left may be adopted at once.
            connection.execute(
                t.flow_runs.update()
                .where(t.flow_runs.c.agent_id == agent_id, in_states(ACTIVE_STATES))
                .values(lease_expires=None)
            )

    def list_agents(self, *, alive_since: datetime | None) -> list[AgentRecord]:
        query = sa.select(t.agents).order_by(t.agents.c.started.desc())
        if alive_since is not None:
            query = query.where(
                t.agents.c.stopped.is_(None), t.agents.c.last_heartbeat >= alive_since
            )
        with self.db.transaction(write=False) as connection:
            return [agent_from_row(row) for row in connection.execute(query)]

    def get_agent(self, agent_id: str) -> AgentRecord | None:
        with self.db.transaction(write=False) as connection:
            row = connection.execute(sa.select(t.agents).where(t.agents.c.id == agent_id)).first()
        return None if row is None else agent_from_row(row)
