"""Run leases: until when the agent holding a run may write its state; another agent may
adopt the run only once the lease has expired.

Revision ID: 0003_run_leases
Revises: 0002_infrastructure_types
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_run_leases"
down_revision = "0002_infrastructure_types"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # NULL (every run claimed before): no lease, as before; adopted once its agent is gone.
    op.add_column("flow_runs", sa.Column("lease_expires", sa.DateTime))


def downgrade() -> None:
    with op.batch_alter_table("flow_runs") as batch:
        batch.drop_column("lease_expires")
