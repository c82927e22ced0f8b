"""Facet tallies: pre-aggregated facet counts per visibility class, kept by triggers on
`datasets` and `variables` (docs/search.md, "Facet counts")

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-06 05:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from catalog.facet_triggers import drop_triggers

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "facet_tallies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("facet", sa.String(length=16), nullable=False),
        sa.Column("value", sa.String(length=200), nullable=True),
        sa.Column("shared", sa.Boolean(), nullable=False),
        sa.Column("release_day", sa.Integer(), nullable=True),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_facet_tallies")),
    )
    # The triggers and the first count are made by the newest migration that changes them
    # (0028), with the definitions the code has now.


def downgrade() -> None:
    conn = op.get_bind()
    drop_triggers(conn)
    if conn.dialect.name == "postgresql":
        for table in ("datasets", "variables"):
            op.execute(f"DROP FUNCTION IF EXISTS fieldcat_facet_tallies_{table}()")
    op.drop_table("facet_tallies")
