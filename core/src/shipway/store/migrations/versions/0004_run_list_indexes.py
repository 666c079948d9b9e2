"""Indexes for listing runs a page at a time, newest first (the server's API and UI):
one per filter, each in the order of the list (scheduled time, creation, id), so that a
page of 50 among 100,000 runs reads 50 index entries and sorts nothing. The index on
(scheduled_time, created) becomes (scheduled_time, created, id): the same, with the tie
broken too.

Revision ID: 0004_run_list_indexes
Revises: 0003_run_leases
"""

from __future__ import annotations

from alembic import op

revision = "0004_run_list_indexes"
down_revision = "0003_run_leases"
branch_labels = None
depends_on = None

ORDER = ["scheduled_time", "created", "id"]


def upgrade() -> None:
    op.drop_index("ix_flow_runs_scheduled", "flow_runs")
    op.create_index("ix_flow_runs_newest", "flow_runs", ORDER)
    op.create_index("ix_flow_runs_deployment_newest", "flow_runs", ["deployment_name", *ORDER])
    op.create_index("ix_flow_runs_queue_newest", "flow_runs", ["work_queue", *ORDER])


def downgrade() -> None:
    op.drop_index("ix_flow_runs_queue_newest", "flow_runs")
    op.drop_index("ix_flow_runs_deployment_newest", "flow_runs")
    op.drop_index("ix_flow_runs_newest", "flow_runs")
    op.create_index("ix_flow_runs_scheduled", "flow_runs", ["scheduled_time", "created"])
