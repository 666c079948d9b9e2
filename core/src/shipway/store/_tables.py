"""The schema as SQLAlchemy Core tables (the migrations create the same thing).

JSON lives in TEXT columns (one behaviour on SQLite and PostgreSQL); datetimes are stored
as naive UTC and come back aware."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

import sqlalchemy as sa

from shipway.names import MAX_NAME_LENGTH, too_long
from shipway.store._errors import StoreError

__all__ = [
    "agents",
    "check_lengths",
    "deployments",
    "flow_run_states",
    "flow_runs",
    "logs",
    "metadata",
    "work_queues",
]


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out; naive UTC in the database."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r} given to the store; use an aware one")
        return value.astimezone(timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):  # pragma: no cover - defensive, SQLite returns datetimes
            value = datetime.fromisoformat(value)
        assert isinstance(value, datetime)
        return value.replace(tzinfo=timezone.utc)


metadata = sa.MetaData()

deployments = sa.Table(
    "deployments",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("name", sa.String(MAX_NAME_LENGTH), nullable=False, unique=True),
    sa.Column("entrypoint", sa.Text, nullable=False),
    sa.Column("flow_name", sa.String(MAX_NAME_LENGTH), nullable=False),
    sa.Column("working_dir", sa.Text),
    sa.Column("parameters", sa.Text, nullable=False),
    sa.Column("infrastructure", sa.Text, nullable=False),
    sa.Column("work_queue", sa.String(MAX_NAME_LENGTH), nullable=False),
    sa.Column("tags", sa.Text, nullable=False),
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("version", sa.String(MAX_NAME_LENGTH)),
    sa.Column("schedule", sa.Text),
    sa.Column("retries", sa.Integer, nullable=False),
    sa.Column("retry_delay_seconds", sa.Float, nullable=False),
    sa.Column("created", UTCDateTime, nullable=False),
    sa.Column("updated", UTCDateTime, nullable=False),
    # Where runs get the code (sealed JSON like infrastructure; NULL: no storage), and
    # the content ref last pushed to it.
    sa.Column("storage", sa.Text),
    sa.Column("storage_ref", sa.Text),
)

flow_runs = sa.Table(
    "flow_runs",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("deployment_id", sa.String(36), nullable=False),
    sa.Column("deployment_name", sa.String(MAX_NAME_LENGTH), nullable=False),
    sa.Column("flow_name", sa.String(MAX_NAME_LENGTH), nullable=False),
    sa.Column("entrypoint", sa.Text, nullable=False),
    sa.Column("working_dir", sa.Text),
    sa.Column("parameters", sa.Text, nullable=False),
    sa.Column("overrides", sa.Text, nullable=False),
    sa.Column("infrastructure", sa.Text, nullable=False),
    # The "type" of ``infrastructure``, on its own so that a claim can filter on it.
    sa.Column("infrastructure_type", sa.String(MAX_NAME_LENGTH)),
    sa.Column("work_queue", sa.String(MAX_NAME_LENGTH), nullable=False),
    sa.Column("state", sa.String(20), nullable=False),
    sa.Column("state_message", sa.Text, nullable=False),
    sa.Column("scheduled_time", UTCDateTime, nullable=False),
    # Set only on runs a schedule created: unique per deployment, so that any number of
    # agents creating the same scheduled run end up with one. Manual runs leave it NULL.
    sa.Column("schedule_key", sa.String(40)),
    sa.Column("created", UTCDateTime, nullable=False),
    sa.Column("updated", UTCDateTime, nullable=False),
    sa.Column("start_time", UTCDateTime),
    sa.Column("end_time", UTCDateTime),
    sa.Column("agent_id", sa.String(36)),
    # Until when the agent holding the run may write its state (it renews it with its
    # heartbeat); another agent adopts the run only after it. NULL: no lease.
    sa.Column("lease_expires", UTCDateTime),
    sa.Column("identifier", sa.Text),
    sa.Column("exit_code", sa.Integer),
    sa.Column("attempt", sa.Integer, nullable=False),
    sa.Column("retries", sa.Integer, nullable=False),
    sa.Column("retry_delay_seconds", sa.Float, nullable=False),
    sa.Column("log_count", sa.Integer, nullable=False),
    # The deployment's storage and ref when the run was created: what it pulls.
    sa.Column("storage", sa.Text),
    sa.Column("storage_ref", sa.Text),
    sa.UniqueConstraint("deployment_id", "schedule_key", name="uq_flow_runs_schedule"),
    sa.Index("ix_flow_runs_claim", "state", "scheduled_time"),
    sa.Index("ix_flow_runs_queue_state", "work_queue", "state"),
    sa.Index("ix_flow_runs_agent_state", "agent_id", "state"),
    sa.Index("ix_flow_runs_deployment_created", "deployment_id", "created"),
    sa.Index("ix_flow_runs_created", "created"),
    # Listing runs newest first, a page at a time, unfiltered or by deployment or queue.
    sa.Index("ix_flow_runs_newest", "scheduled_time", "created", "id"),
    sa.Index(
        "ix_flow_runs_deployment_newest", "deployment_name", "scheduled_time", "created", "id"
    ),
    sa.Index("ix_flow_runs_queue_newest", "work_queue", "scheduled_time", "created", "id"),
)

flow_run_states = sa.Table(
    "flow_run_states",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("flow_run_id", sa.String(36), nullable=False),
    sa.Column("type", sa.String(20), nullable=False),
    sa.Column("message", sa.Text, nullable=False),
    sa.Column("timestamp", UTCDateTime, nullable=False),
    sa.Column("attempt", sa.Integer, nullable=False),
    sa.Column("agent_id", sa.String(36)),
    sa.Column("identifier", sa.Text),
    sa.Index("ix_flow_run_states_run", "flow_run_id", "id"),
)

logs = sa.Table(
    "logs",
    metadata,
    sa.Column("flow_run_id", sa.String(36), primary_key=True),
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("timestamp", UTCDateTime, nullable=False),
    sa.Column("stream", sa.String(10), nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("attempt", sa.Integer, nullable=False),
    # A run logger record's level (logging's numbers) and where it came from; NULL/''
    # for plain output, which has no level.
    sa.Column("level", sa.Integer),
    sa.Column("source", sa.String(MAX_NAME_LENGTH), nullable=False, server_default=""),
)

agents = sa.Table(
    "agents",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("name", sa.String(MAX_NAME_LENGTH), nullable=False),
    sa.Column("queues", sa.Text, nullable=False),
    sa.Column("concurrency_limit", sa.Integer),
    # JSON: the infrastructure types the agent can run (NULL: registered by an older shipway).
    sa.Column("infrastructure_types", sa.Text),
    sa.Column("started", UTCDateTime, nullable=False),
    sa.Column("last_heartbeat", UTCDateTime, nullable=False),
    sa.Column("stopped", UTCDateTime),
)

work_queues = sa.Table(
    "work_queues",
    metadata,
    sa.Column("name", sa.String(MAX_NAME_LENGTH), primary_key=True),
    sa.Column("concurrency_limit", sa.Integer),
    sa.Column("created", UTCDateTime, nullable=False),
)


def check_lengths(table: sa.Table, values: Mapping[str, Any]) -> None:
    """Refuse a value longer than its column before it reaches the database (PostgreSQL
    would fail on it, SQLite would keep it): one message naming what is too long."""
    for key, value in values.items():
        column = table.columns.get(key)
        length = getattr(column.type, "length", None) if column is not None else None
        if isinstance(value, str) and length is not None:
            owner = table.name.replace("_", " ").removesuffix("s")  # "work queue"
            label = key.replace("_", " ")
            what = f"the {owner} name" if key == "name" else f"the {owner}'s {label}"
            problem = too_long(what, value, length)
            if problem is not None:
                raise StoreError(problem)
