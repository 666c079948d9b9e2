"""Log levels: a run logger's record keeps its level (``flow-run logs --level warning``)
and the flow or task it came from; plain output has neither.

Revision ID: 0005_log_levels
Revises: 0004_run_list_indexes
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_log_levels"
down_revision = "0004_run_list_indexes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Every line stored before is plain output: no level, no source.
    op.add_column("logs", sa.Column("level", sa.Integer))
    op.add_column("logs", sa.Column("source", sa.String(200), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("logs") as batch:
        batch.drop_column("source")
        batch.drop_column("level")
