"""Each flow run's infrastructure type in a column of its own, so that an agent claims
only the runs it can resolve; the types each agent offers; an index for listing runs by
scheduled time.

Revision ID: 0002_infrastructure_types
Revises: 0001_initial
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_infrastructure_types"
down_revision = "0001_initial"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("flow_runs", sa.Column("infrastructure_type", sa.String(200)))
    op.add_column("agents", sa.Column("infrastructure_types", sa.Text))
    # The runs stored so far: the type is the "type" key of their infrastructure's JSON.
    if op.get_bind().dialect.name == "postgresql":
        op.execute("UPDATE flow_runs SET infrastructure_type = infrastructure::json ->> 'type'")
    else:
        op.execute(
            "UPDATE flow_runs SET infrastructure_type = json_extract(infrastructure, '$.type')"
        )
    op.create_index("ix_flow_runs_scheduled", "flow_runs", ["scheduled_time", "created"])


def downgrade() -> None:
    op.drop_index("ix_flow_runs_scheduled", "flow_runs")
    with op.batch_alter_table("agents") as batch:
        batch.drop_column("infrastructure_types")
    with op.batch_alter_table("flow_runs") as batch:
        batch.drop_column("infrastructure_type")
