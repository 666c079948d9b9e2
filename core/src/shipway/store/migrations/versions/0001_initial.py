"""The initial schema: deployments, flow runs with their state history and logs,
agents and work queues.

Revision ID: 0001_initial
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_initial"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "deployments",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False, unique=True),
        sa.Column("entrypoint", sa.Text, nullable=False),
        sa.Column("flow_name", sa.String(200), nullable=False),
        sa.Column("working_dir", sa.Text),
        sa.Column("parameters", sa.Text, nullable=False),
        sa.Column("infrastructure", sa.Text, nullable=False),
        sa.Column("work_queue", sa.String(200), nullable=False),
        sa.Column("tags", sa.Text, nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("version", sa.String(200)),
        sa.Column("schedule", sa.Text),
        sa.Column("retries", sa.Integer, nullable=False),
        sa.Column("retry_delay_seconds", sa.Float, nullable=False),
        sa.Column("created", sa.DateTime, nullable=False),
        sa.Column("updated", sa.DateTime, nullable=False),
    )
    op.create_table(
        "flow_runs",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("deployment_id", sa.String(36), nullable=False),
        sa.Column("deployment_name", sa.String(200), nullable=False),
        sa.Column("flow_name", sa.String(200), nullable=False),
        sa.Column("entrypoint", sa.Text, nullable=False),
        sa.Column("working_dir", sa.Text),
        sa.Column("parameters", sa.Text, nullable=False),
        sa.Column("overrides", sa.Text, nullable=False),
        sa.Column("infrastructure", sa.Text, nullable=False),
        sa.Column("work_queue", sa.String(200), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("state_message", sa.Text, nullable=False),
        sa.Column("scheduled_time", sa.DateTime, nullable=False),
        sa.Column("schedule_key", sa.String(40)),
        sa.Column("created", sa.DateTime, nullable=False),
        sa.Column("updated", sa.DateTime, nullable=False),
        sa.Column("start_time", sa.DateTime),
        sa.Column("end_time", sa.DateTime),
        sa.Column("agent_id", sa.String(36)),
        sa.Column("identifier", sa.Text),
        sa.Column("exit_code", sa.Integer),
        sa.Column("attempt", sa.Integer, nullable=False),
        sa.Column("retries", sa.Integer, nullable=False),
        sa.Column("retry_delay_seconds", sa.Float, nullable=False),
        sa.Column("log_count", sa.Integer, nullable=False),
        sa.UniqueConstraint("deployment_id", "schedule_key", name="uq_flow_runs_schedule"),
    )
    op.create_index("ix_flow_runs_claim", "flow_runs", ["state", "scheduled_time"])
    op.create_index("ix_flow_runs_queue_state", "flow_runs", ["work_queue", "state"])
    op.create_index("ix_flow_runs_agent_state", "flow_runs", ["agent_id", "state"])
    op.create_index("ix_flow_runs_deployment_created", "flow_runs", ["deployment_id", "created"])
    op.create_index("ix_flow_runs_created", "flow_runs", ["created"])
    op.create_table(
        "flow_run_states",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("flow_run_id", sa.String(36), nullable=False),
        sa.Column("type", sa.String(20), nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("timestamp", sa.DateTime, nullable=False),
        sa.Column("attempt", sa.Integer, nullable=False),
        sa.Column("agent_id", sa.String(36)),
        sa.Column("identifier", sa.Text),
    )
    op.create_index("ix_flow_run_states_run", "flow_run_states", ["flow_run_id", "id"])
    op.create_table(
        "logs",
        sa.Column("flow_run_id", sa.String(36), primary_key=True),
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("timestamp", sa.DateTime, nullable=False),
        sa.Column("stream", sa.String(10), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("attempt", sa.Integer, nullable=False),
    )
    op.create_table(
        "agents",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("queues", sa.Text, nullable=False),
        sa.Column("concurrency_limit", sa.Integer),
        sa.Column("started", sa.DateTime, nullable=False),
        sa.Column("last_heartbeat", sa.DateTime, nullable=False),
        sa.Column("stopped", sa.DateTime),
    )
    op.create_table(
        "work_queues",
        sa.Column("name", sa.String(200), primary_key=True),
        sa.Column("concurrency_limit", sa.Integer),
        sa.Column("created", sa.DateTime, nullable=False),
    )


def downgrade() -> None:
    for table in ("work_queues", "agents", "logs", "flow_run_states", "flow_runs", "deployments"):
        op.drop_table(table)
