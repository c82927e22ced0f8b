"""Facet pair tallies: facet counts among the datasets of one filter value, kept by the
same triggers as the unfiltered tallies (docs/search.md, "Facet counts")

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-06 18:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from catalog.facet_triggers import (
    create_triggers,
    drop_trigger_functions,
    drop_triggers,
    rebuild_tallies,
)

revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "facet_pair_tallies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("by_facet", sa.String(length=16), nullable=False),
        sa.Column("by_key", sa.String(length=200), nullable=True),
        sa.Column("by_day", sa.Integer(), nullable=True),
        sa.Column("facet", sa.String(length=16), nullable=False),
        sa.Column("value", sa.String(length=200), nullable=True),
        sa.Column("shared", sa.Boolean(), nullable=False),
        sa.Column("release_day", sa.Integer(), nullable=True),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_facet_pair_tallies")),
    )
    op.create_index("ix_facet_pair_tallies_by", "facet_pair_tallies", ["by_facet", "by_key"])
    conn = op.get_bind()
    drop_triggers(conn)  # those of 0019 at a catalog made before this revision
    create_triggers(conn, rows=False, pauses=False)  # rows: 0029, pauses: 0030
    rebuild_tallies(conn, rows=False)


def downgrade() -> None:
    """Drops the triggers with the pair table: the unfiltered tallies are then no longer
    kept, until an upgrade makes the triggers again and counts afresh."""
    conn = op.get_bind()
    drop_triggers(conn)
    drop_trigger_functions(conn)
    op.drop_index("ix_facet_pair_tallies_by", table_name="facet_pair_tallies")
    op.drop_table("facet_pair_tallies")
