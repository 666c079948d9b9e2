"""Deployments: registering one (create or update, by name), reading them back."""

from __future__ import annotations

import dataclasses
import uuid

import sqlalchemy as sa

from shipway.states import StateType
from shipway.store import _tables as t
from shipway.store._database import Database, utc_now
from shipway.store._errors import StoredDeploymentNotFound
from shipway.store._records import DeploymentRecord, DeploymentSpec
from shipway.store._rows import deployment_from_row, deployment_values
from shipway.store._work_queues import ensure_work_queues

__all__ = ["Deployments"]


@dataclasses.dataclass(frozen=True)
class Deployments:
    db: Database

    def apply_deployment(self, spec: DeploymentSpec) -> tuple[DeploymentRecord, str]:
        try:
            return self._apply(spec)
        except sa.exc.IntegrityError:
            # Another process created it between our look and our insert: now it exists.
            return self._apply(spec)

    def _apply(self, spec: DeploymentSpec) -> tuple[DeploymentRecord, str]:
        values = deployment_values(spec)
        stamp = utc_now()
        with self.db.transaction() as connection:
            row = connection.execute(
                self.db.for_update(
                    sa.select(t.deployments).where(t.deployments.c.name == spec.name)
                )
            ).first()
            if row is None:
                deployment_id = str(uuid.uuid4())
                connection.execute(
                    t.deployments.insert().values(
                        id=deployment_id, created=stamp, updated=stamp, **values
                    )
                )
                outcome = "created"
            else:
                deployment_id = row.id
                current = {key: getattr(row, key) for key in values}
                if current == values:
                    outcome = "unchanged"
                else:
                    connection.execute(
                        t.deployments.update()
                        .where(t.deployments.c.id == deployment_id)
                        .values(updated=stamp, **values)
                    )
                    outcome = "updated"
                    if current["schedule"] != values["schedule"]:
                        _drop_planned_runs(connection, deployment_id)
            ensure_work_queues(self.db, connection, [spec.work_queue])
            stored = connection.execute(
                sa.select(t.deployments).where(t.deployments.c.id == deployment_id)
            ).one()
        return deployment_from_row(stored), outcome

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
