"""Facet tally pauses: the datasets a bulk writer tallies itself, set-based, while it
updates them (`catalog.facet_triggers.tallies_paused`); the dataset update trigger skips
them (docs/search.md, "Facet counts")

Revision ID: 0030
Revises: 0029
Create Date: 2026-12-07 07:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from catalog.facet_triggers import create_triggers, drop_triggers

revision = "0030"
down_revision = "0029"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "facet_tally_pauses",
        sa.Column("dataset_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.PrimaryKeyConstraint("dataset_id", name=op.f("pk_facet_tally_pauses")),
    )
    conn = op.get_bind()
    drop_triggers(conn)  # 0029's, which know no pauses; the tallies stay as they are
    create_triggers(conn)


def downgrade() -> None:
    """Back to 0029's triggers, then the table (empty outside a bulk writer's transaction)."""
    conn = op.get_bind()
    drop_triggers(conn)
    create_triggers(conn, pauses=False)
    op.drop_table("facet_tally_pauses")
