"""Per-level access rules of a dataset (`datasets.level_access`) and its registry record
(`datasets.deployment`)

Revision ID: 0016
Revises: 0017
Create Date: 2026-12-06 02:45:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("datasets") as batch:
        batch.add_column(sa.Column("level_access", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("deployment", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("datasets") as batch:
        batch.drop_column("deployment")
        batch.drop_column("level_access")
