"""Deployments: registering one (create or update, by name), reading them back."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from shipway.states import StateType
from shipway.store import _tables as t
from shipway.store._database import Database, utc_now
from shipway.store._errors import StoredDeploymentNotFound
from shipway.store._records import DeploymentRecord, DeploymentSpec
from shipway.store._rows import deployment_from_row, deployment_values
from shipway.store._sealed import sealed_equal
from shipway.store._wakeups import Wakeup
from shipway.store._work_queues import ensure_work_queues

__all__ = ["Deployments"]


@dataclasses.dataclass(frozen=True)
class Deployments:
    db: Database

    def apply_deployments(
        self, specs: Sequence[DeploymentSpec]
    ) -> list[tuple[DeploymentRecord, str]]:
        # Every value is checked before anything is written, and all go in one
        # transaction: a failure on the last leaves none applied.
        values = [deployment_values(spec) for spec in specs]
        for row in values:
            t.check_lengths(t.deployments, row)
        with self.db.transaction() as connection:
            applied = [self._apply_one(connection, row) for row in values]
            ensure_work_queues(self.db, connection, sorted({v["work_queue"] for v in values}))
            rows = {
                row.id: row
                for row in connection.execute(
                    sa.select(t.deployments).where(
                        t.deployments.c.id.in_([deployment_id for deployment_id, _ in applied])
                    )
                )
            }
        return [(deployment_from_row(rows[d]), outcome) for d, outcome in applied]

    def _apply_one(self, connection: sa.Connection, values: dict[str, Any]) -> tuple[str, str]:
        """Create or update one deployment: its id, and "created", "updated" or "unchanged"."""
        stamp = utc_now()
        query = self.db.for_update(
            sa.select(t.deployments).where(t.deployments.c.name == values["name"])
        )
        row = connection.execute(query).first()
        if row is None:
            deployment_id = str(uuid.uuid4())
            inserted = connection.execute(
                self.db.insert(t.deployments)
                .values(id=deployment_id, created=stamp, updated=stamp, **values)
                .on_conflict_do_nothing(index_elements=["name"])
                .returning(t.deployments.c.id)
            ).first()
            if inserted is not None:
                if values["schedule"] is not None:  # its first runs are to be created
                    self.db.notify(connection, Wakeup.SCHEDULE)
                return deployment_id, "created"
            # Another process created it between our look and our insert: update that one.
            row = connection.execute(query).one()
        current = {key: getattr(row, key) for key in values}
        if _same(current, values):
            return row.id, "unchanged"
        connection.execute(
            t.deployments.update()
            .where(t.deployments.c.id == row.id)
            .values(updated=stamp, **values)
        )
        if current["schedule"] != values["schedule"]:
            _drop_planned_runs(connection, row.id)
            self.db.notify(connection, Wakeup.SCHEDULE)
        return row.id, "updated"

    def get_deployment(self, name: str) -> DeploymentRecord:
        with self.db.transaction(write=False) as connection:
            row = connection.execute(
                sa.select(t.deployments).where(t.deployments.c.name == name)
            ).first()
            if row is None:
                known = connection.execute(
                    sa.select(t.deployments.c.name).order_by(t.deployments.c.name)
                ).scalars()
                names = ", ".join(known) or "none"
                raise StoredDeploymentNotFound(
                    f"no deployment named {name!r} in the store ({self.db.url}). "
                    f"Known deployments: {names}.",
                    hint="Register it with `shipway deployment apply`.",
                )
        return deployment_from_row(row)

    def list_deployments(self) -> list[DeploymentRecord]:
        with self.db.transaction(write=False) as connection:
            rows = connection.execute(sa.select(t.deployments).order_by(t.deployments.c.name))
            return [deployment_from_row(row) for row in rows]


def _same(current: dict[str, Any], new: dict[str, Any]) -> bool:
    """Whether a stored deployment's values are the new ones (sealed secrets compared by
    value: each encryption gives another text)."""
    sealed = ("infrastructure", "storage")
    return all(
        current[key] == new[key]
        or (
            current[key] is not None
            and new[key] is not None
            and sealed_equal(current[key], new[key])
        )
        for key in sealed
    ) and all(current[key] == value for key, value in new.items() if key not in sealed)


def _drop_planned_runs(connection: sa.Connection, deployment_id: str) -> None:
    """The runs the old schedule created that have not started (nor been retried)."""
    connection.execute(
        t.flow_runs.delete().where(
            t.flow_runs.c.deployment_id == deployment_id,
            t.flow_runs.c.schedule_key.is_not(None),
            t.flow_runs.c.state == StateType.SCHEDULED.value,
            t.flow_runs.c.attempt == 1,
        )
    )
