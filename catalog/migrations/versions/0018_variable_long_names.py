"""Variable long names: a column of `variables`, carried by the change log and searched as
part of the dataset's search document (existing rows have none to add: the long names were
not kept before, so no document changes)

Revision ID: 0018
Revises: 0023
Create Date: 2026-12-06 05:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("variables") as batch:
        batch.add_column(
            sa.Column("long_name", sa.String(length=400), nullable=False, server_default="")
        )


def downgrade() -> None:
    with op.batch_alter_table("variables") as batch:
        batch.drop_column("long_name")
