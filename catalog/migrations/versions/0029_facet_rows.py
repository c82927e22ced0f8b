"""Facet rows: a narrow copy of the datasets' filter and facet columns (on PostgreSQL with
their variables' names and keys), kept by triggers, that searches filtered by more than one
value count their facets over; and an index on
the variables' lower-cased original names, which the variable filter matches (docs/search.md,
"Facet counts")

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-06 21:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from catalog.facet_triggers import (
    create_triggers,
    drop_trigger_functions,
    drop_triggers,
    rebuild_tallies,
)

_NAMES = sa.Text().with_variant(postgresql.ARRAY(sa.Text()), "postgresql")
revision = "0029"
down_revision = "0028"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "facet_rows",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        *(sa.Column(name, sa.String(length=200), nullable=False) for name in (
            "platform", "platform_key", "instrument", "instrument_key", "pi_name", "pi_key")),
        sa.Column("project", sa.String(length=200), nullable=True),
        sa.Column("project_key", sa.String(length=200), nullable=True),
        sa.Column("origin_center", sa.String(length=16), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("access_state", sa.String(length=16), nullable=False),
        sa.Column("release_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("owner_user_id", sa.Integer(), nullable=True),
        sa.Column("start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("stop", sa.DateTime(timezone=True), nullable=False),
        *(sa.Column(name, sa.Float(), nullable=True) for name in ("south", "north", "west", "east")),
        *(sa.Column(name, _NAMES, nullable=True) for name in ("variable_names", "variable_keys")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_facet_rows")),
    )  # fmt: skip
    for name, columns in (
        ("platform", ["platform_key"]), ("instrument", ["instrument_key"]), ("pi", ["pi_key"]),
        ("project", ["project_key"]), ("center_state", ["origin_center", "access_state"]),
        ("state_release", ["access_state", "release_at"]), ("start", ["start"]),
        ("owner", ["owner_user_id"]),
    ):  # fmt: skip
        op.create_index(f"ix_facet_rows_{name}", "facet_rows", columns)
    if op.get_bind().dialect.name == "postgresql":
        op.create_index("ix_facet_rows_variable_keys", "facet_rows", ["variable_keys"],
                        postgresql_using="gin")  # fmt: skip
    op.create_index(
        "ix_variables_original_lower",
        "variables",
        [sa.text("lower(original_name)"), "dataset_id"],
    )
    conn = op.get_bind()
    drop_triggers(conn)  # those of 0028 at a catalog made before this revision
    create_triggers(conn, pauses=False)  # the pauses come with their table (0030)
    rebuild_tallies(conn)


def downgrade() -> None:
    """Back to 0028's triggers (the tallies kept, the facet rows no more), then the table."""
    conn = op.get_bind()
    drop_triggers(conn)
    drop_trigger_functions(conn)
    create_triggers(conn, rows=False, pauses=False)
    op.drop_index("ix_variables_original_lower", table_name="variables")
    op.drop_table("facet_rows")  # with its indexes
