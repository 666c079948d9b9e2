"""Code storage: a deployment's storage block (sealed JSON, like its infrastructure) and
the content ref last pushed to it; each flow run keeps the pair it was created with.

Revision ID: 0006_storage
Revises: 0005_log_levels
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_storage"
down_revision = "0005_log_levels"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # NULL (every deployment and run stored so far): no storage, the code is read in place.
    for table in ("deployments", "flow_runs"):
        op.add_column(table, sa.Column("storage", sa.Text))
        op.add_column(table, sa.Column("storage_ref", sa.Text))


def downgrade() -> None:
    for table in ("deployments", "flow_runs"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("storage_ref")
            batch.drop_column("storage")
