"""The registry's places and instruments as change-log records: a public id, an origin
center and an origin version each; names unique per center, not across centers

Revision ID: 0023
Revises: 0016
Create Date: 2026-12-06 05:00:00
"""

from __future__ import annotations

import secrets

import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0016"
branch_labels = None
depends_on = None

TABLES = ("places", "instruments")


def upgrade() -> None:
    bind = op.get_bind()
    local = bind.execute(sa.text("SELECT code FROM centers WHERE is_local")).scalar()
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("public_id", sa.String(length=32), nullable=True))
            batch.add_column(sa.Column("center_code", sa.String(length=16), nullable=True))
            batch.add_column(sa.Column("origin_version", sa.Integer(), nullable=True))
        ids = bind.execute(sa.text(f"SELECT id FROM {table}")).scalars().all()
        for row_id in ids:  # rows made before this revision are this center's own
            bind.execute(
                sa.text(f"UPDATE {table} SET public_id = :pid, center_code = :code, "
                        "origin_version = 1 WHERE id = :id"),
                {"pid": secrets.token_urlsafe(12), "code": local or "", "id": row_id},
            )  # fmt: skip
    with op.batch_alter_table("places") as batch:
        batch.drop_constraint("uq_places_kind", type_="unique")
        batch.create_index("ix_places_kind_key", ["kind", "key"], unique=False)
    with op.batch_alter_table("instruments") as batch:
        batch.drop_constraint("uq_instruments_key", type_="unique")
        batch.create_index(batch.f("ix_instruments_key"), ["key"], unique=False)
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            for column, kind in (
                ("public_id", sa.String(length=32)),
                ("center_code", sa.String(length=16)),
                ("origin_version", sa.Integer()),
            ):
                batch.alter_column(column, existing_type=kind, nullable=False)
            batch.create_unique_constraint(batch.f(f"uq_{table}_public_id"), ["public_id"])


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.drop_constraint(f"uq_{table}_public_id", type_="unique")
            batch.drop_column("origin_version")
            batch.drop_column("center_code")
            batch.drop_column("public_id")
    with op.batch_alter_table("instruments") as batch:
        batch.drop_index("ix_instruments_key")
        batch.create_unique_constraint("uq_instruments_key", ["key"])
    with op.batch_alter_table("places") as batch:
        batch.drop_index("ix_places_kind_key")
        batch.create_unique_constraint("uq_places_kind", ["kind", "key"])
