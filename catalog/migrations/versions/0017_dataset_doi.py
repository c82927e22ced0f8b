"""The DOI its origin minted for a dataset as a whole, a public column the change log carries

Revision ID: 0017
Revises: 0008
Create Date: 2026-12-06 02:45:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("datasets") as batch:
        batch.add_column(
            sa.Column("doi", sa.String(length=255), nullable=False, server_default="")
        )
    op.execute(
        "UPDATE datasets SET doi = (SELECT d.doi FROM dataset_dois d"
        " WHERE d.dataset_id = datasets.id AND d.version_id IS NULL)"
        " WHERE EXISTS (SELECT 1 FROM dataset_dois d"
        " WHERE d.dataset_id = datasets.id AND d.version_id IS NULL)"
    )


def downgrade() -> None:
    with op.batch_alter_table("datasets") as batch:
        batch.drop_column("doi")
