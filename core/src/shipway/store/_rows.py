"""Rows to records and records to rows: the one place that knows how each value is
stored (JSON in TEXT columns, states as their names, the secrets of infrastructure and
overrides encrypted: see ``_sealed``)."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from shipway.states import StateType
from shipway.store import _tables as t
from shipway.store._records import (
    AgentRecord,
    DeploymentRecord,
    DeploymentSpec,
    FlowRunRecord,
    StateRecord,
    StoredLogLine,
)
from shipway.store._schedules import schedule_from_json, schedule_to_json
from shipway.store._sealed import seal, unseal

__all__ = [
    "add_history",
    "agent_from_row",
    "deployment_from_row",
    "deployment_values",
    "dumps",
    "history_values",
    "log_from_row",
    "new_run_values",
    "run_from_row",
    "run_query",
    "state_from_row",
]


def dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def deployment_values(spec: DeploymentSpec) -> dict[str, Any]:
    return {
        "name": spec.name,
        "entrypoint": spec.entrypoint,
        "flow_name": spec.flow_name,
        "working_dir": spec.working_dir,
        "parameters": dumps(spec.parameters),
        "infrastructure": seal(spec.infrastructure),
        "work_queue": spec.work_queue,
        "tags": dumps(list(spec.tags)),
        "description": spec.description,
        "version": spec.version,
        "schedule": schedule_to_json(spec.schedule),
        "retries": spec.retries,
        "retry_delay_seconds": float(spec.retry_delay_seconds),
        "storage": None if spec.storage is None else seal(spec.storage),
        "storage_ref": spec.storage_ref,
    }


def deployment_from_row(row: Any) -> DeploymentRecord:
    return DeploymentRecord(
        id=row.id,
        name=row.name,
        entrypoint=row.entrypoint,
        flow_name=row.flow_name,
        working_dir=row.working_dir,
        parameters=json.loads(row.parameters),
        infrastructure=unseal(row.infrastructure, f"the infrastructure of deployment {row.name!r}"),
        work_queue=row.work_queue,
        tags=tuple(json.loads(row.tags)),
        description=row.description,
        version=row.version,
        schedule=schedule_from_json(row.schedule),
        retries=row.retries,
        retry_delay_seconds=row.retry_delay_seconds,
        created=row.created,
        updated=row.updated,
        storage=_unsealed_storage(row.storage, f"the storage of deployment {row.name!r}"),
        storage_ref=row.storage_ref,
    )


def new_run_values(
    record: DeploymentRecord, now: datetime, scheduled_time: datetime
) -> dict[str, Any]:
    """A Scheduled first attempt of the deployment, with its defaults."""
    return {
        "id": str(uuid.uuid4()),
        "deployment_id": record.id,
        "deployment_name": record.name,
        "flow_name": record.flow_name,
        "entrypoint": record.entrypoint,
        "working_dir": record.working_dir,
        "parameters": dumps(record.parameters),
        "overrides": dumps({}),
        "infrastructure": seal(record.infrastructure),
        "infrastructure_type": record.infrastructure.get("type"),
        "work_queue": record.work_queue,
        "state": StateType.SCHEDULED.value,
        "state_message": "",
        "scheduled_time": scheduled_time,
        "schedule_key": None,
        "created": now,
        "updated": now,
        "attempt": 1,
        "retries": record.retries,
        "retry_delay_seconds": record.retry_delay_seconds,
        "log_count": 0,
        "storage": None if record.storage is None else seal(record.storage),
        "storage_ref": record.storage_ref,
    }


def run_query(run_id: str) -> sa.Select[Any]:
    return sa.select(t.flow_runs).where(t.flow_runs.c.id == run_id)


def run_from_row(row: Any) -> FlowRunRecord:
    return FlowRunRecord(
        id=row.id,
        deployment_id=row.deployment_id,
        deployment_name=row.deployment_name,
        flow_name=row.flow_name,
        entrypoint=row.entrypoint,
        working_dir=row.working_dir,
        parameters=json.loads(row.parameters),
        overrides=unseal(row.overrides, f"the overrides of flow run {row.id}"),
        infrastructure=unseal(row.infrastructure, f"the infrastructure of flow run {row.id}"),
        work_queue=row.work_queue,
        state=StateType(row.state),
        state_message=row.state_message,
        scheduled_time=row.scheduled_time,
        created=row.created,
        start_time=row.start_time,
        end_time=row.end_time,
        agent_id=row.agent_id,
        identifier=row.identifier,
        exit_code=row.exit_code,
        attempt=row.attempt,
        retries=row.retries,
        retry_delay_seconds=row.retry_delay_seconds,
        auto_scheduled=row.schedule_key is not None,
        lease_expires=row.lease_expires,
        storage=_unsealed_storage(row.storage, f"the storage of flow run {row.id}"),
        storage_ref=row.storage_ref,
    )


def _unsealed_storage(text: str | None, what: str) -> dict[str, Any] | None:
    if text is None:
        return None
    storage: dict[str, Any] = unseal(text, what)
    return storage


def history_values(
    run_id: str,
    state: StateType,
    message: str,
    timestamp: datetime,
    *,
    attempt: int,
    agent_id: str | None,
    identifier: str | None,
) -> dict[str, Any]:
    """One line of a run's state history (``flow_run_states``)."""
    return {
        "flow_run_id": run_id,
        "type": state.value,
        "message": message,
        "timestamp": timestamp,
        "attempt": attempt,
        "agent_id": agent_id,
        "identifier": identifier,
    }


def add_history(
    connection: sa.Connection,
    run_id: str,
    state: StateType,
    message: str,
    timestamp: datetime,
    *,
    attempt: int,
    agent_id: str | None,
    identifier: str | None,
) -> None:
    connection.execute(
        t.flow_run_states.insert().values(
            history_values(
                run_id,
                state,
                message,
                timestamp,
                attempt=attempt,
                agent_id=agent_id,
                identifier=identifier,
            )
        )
    )


def state_from_row(row: Any) -> StateRecord:
    return StateRecord(
        type=StateType(row.type),
        message=row.message,
        timestamp=row.timestamp,
        attempt=row.attempt,
        agent_id=row.agent_id,
        identifier=row.identifier,
    )


def log_from_row(row: Any) -> StoredLogLine:
    return StoredLogLine(
        timestamp=row.timestamp,
        stream=row.stream,
        text=row.text,
        attempt=row.attempt,
        level=row.level,
        source=row.source,
        seq=row.seq,
    )


def agent_from_row(row: Any) -> AgentRecord:
    return AgentRecord(
        id=row.id,
        name=row.name,
        queues=tuple(json.loads(row.queues)),
        limit=row.concurrency_limit,
        started=row.started,
        last_heartbeat=row.last_heartbeat,
        stopped=row.stopped,
        infrastructure_types=(
            None
            if row.infrastructure_types is None
            else tuple(json.loads(row.infrastructure_types))
        ),
    )
