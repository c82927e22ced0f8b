"""Products and reports in the change log; drop tokens and held mail of the e-mail intake

Revision ID: 0009
Revises: 0011
Create Date: 2026-12-06 01:40:00
"""

from __future__ import annotations

import secrets

import sqlalchemy as sa
from alembic import op


revision = "0009"
down_revision = "0011"
branch_labels = None
depends_on = None


def _give_public_ids(table: str) -> None:
    """Existing rows get a random public id each (the column is then made NOT NULL)."""
    bind = op.get_bind()
    ids = [row[0] for row in bind.execute(sa.text(f"SELECT id FROM {table}"))]
    for row_id in ids:
        bind.execute(
            sa.text(f"UPDATE {table} SET public_id = :p WHERE id = :i"),
            {"p": secrets.token_urlsafe(12), "i": row_id},
        )


def _field_record_columns(table: str) -> None:
    with op.batch_alter_table(table) as batch:
        batch.add_column(sa.Column("public_id", sa.String(length=32), nullable=True))
        batch.add_column(
            sa.Column("origin_version", sa.Integer(), nullable=False, server_default="1")
        )
    _give_public_ids(table)
    with op.batch_alter_table(table) as batch:
        batch.alter_column("public_id", existing_type=sa.String(length=32), nullable=False)
        batch.create_unique_constraint(op.f(f"uq_{table}_public_id"), ["public_id"])


def upgrade() -> None:
    with op.batch_alter_table("changes") as batch:
        batch.add_column(
            sa.Column("record_type", sa.String(length=16), nullable=False,
                      server_default="dataset")
        )  # fmt: skip
    _field_record_columns("products")
    _field_record_columns("reports")
    with op.batch_alter_table("reports") as batch:
        batch.add_column(sa.Column("details", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("details_text", sa.Text(), nullable=False, server_default=""))
        batch.add_column(sa.Column("system_code", sa.String(length=32), nullable=True))
    op.create_index(
        "ix_reports_system", "reports", ["system_code", "report_date"], unique=False
    )
    op.create_table(
        "measuring_systems",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("platform", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["campaigns.id"],
            name=op.f("fk_measuring_systems_campaign_id_campaigns"),
        ),  # fmt: skip
        sa.PrimaryKeyConstraint("id", name=op.f("pk_measuring_systems")),
        sa.UniqueConstraint("campaign_id", "code", name="uq_measuring_systems_code"),
    )
    op.create_table(
        "expected_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_id", sa.String(length=32), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("center_code", sa.String(length=16), nullable=False),
        sa.Column("origin_version", sa.Integer(), nullable=False),
        sa.Column("pi_name", sa.String(length=200), nullable=False),
        sa.Column("pi_key", sa.String(length=200), nullable=False),
        sa.Column("did", sa.String(length=64), nullable=True),
        sa.Column("platform", sa.String(length=200), nullable=False),
        sa.Column("instrument", sa.String(length=200), nullable=False),
        sa.Column("category", sa.String(length=16), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("due", sa.Date(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["campaigns.id"],
            name=op.f("fk_expected_deliveries_campaign_id_campaigns"),
        ),  # fmt: skip
        sa.ForeignKeyConstraint(
            ["center_code"], ["centers.code"],
            name=op.f("fk_expected_deliveries_center_code_centers"),
        ),  # fmt: skip
        sa.PrimaryKeyConstraint("id", name=op.f("pk_expected_deliveries")),
        sa.UniqueConstraint("public_id", name=op.f("uq_expected_deliveries_public_id")),
    )
    op.create_index("ix_expected_deliveries_pi", "expected_deliveries", ["pi_key"], unique=False)
    with op.batch_alter_table("products") as batch:
        batch.add_column(sa.Column("origin_ref", sa.Integer(), nullable=True))
        batch.drop_constraint("uq_products_filename", type_="unique")
        batch.create_unique_constraint(
            "uq_products_filename_center", ["filename", "center_code"]
        )
    op.create_table(
        "drop_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_drop_tokens_user_id_users"),
            ondelete="CASCADE",
        ),  # fmt: skip
        sa.PrimaryKeyConstraint("id", name=op.f("pk_drop_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_drop_tokens_token_hash")),
    )
    op.create_index("ix_drop_tokens_user_id", "drop_tokens", ["user_id"], unique=False)
    op.create_table(
        "held_mail",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_id", sa.String(length=32), nullable=False),
        sa.Column("sender", sa.String(length=320), nullable=False),
        sa.Column("recipient", sa.String(length=320), nullable=False),
        sa.Column("subject", sa.String(length=998), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("path", sa.String(length=1000), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "state IN ('held', 'released', 'discarded')", name=op.f("ck_held_mail_state")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_held_mail")),
        sa.UniqueConstraint("public_id", name=op.f("uq_held_mail_public_id")),
    )
    op.create_index(
        "ix_held_mail_state_received", "held_mail", ["state", "received_at"], unique=False
    )
    op.create_table(
        "handovers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("from_center", sa.String(length=16), nullable=False),
        sa.Column("to_center", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("records", sa.Integer(), nullable=False),
        sa.Column("bytes_pulled", sa.BigInteger(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_handovers")),
        sa.UniqueConstraint("from_center", "to_center", name="uq_handovers_from_to"),
    )


def downgrade() -> None:
    op.drop_table("handovers")
    op.drop_table("measuring_systems")
    op.drop_index("ix_expected_deliveries_pi", table_name="expected_deliveries")
    op.drop_table("expected_deliveries")
    op.drop_index("ix_reports_system", table_name="reports")
    with op.batch_alter_table("reports") as batch:
        batch.drop_column("system_code")
        batch.drop_column("details_text")
        batch.drop_column("details")
    op.drop_index("ix_held_mail_state_received", table_name="held_mail")
    op.drop_table("held_mail")
    op.drop_index("ix_drop_tokens_user_id", table_name="drop_tokens")
    op.drop_table("drop_tokens")
    with op.batch_alter_table("products") as batch:
        batch.drop_constraint("uq_products_filename_center", type_="unique")
        batch.create_unique_constraint("uq_products_filename", ["filename"])
        batch.drop_column("origin_ref")
    for table in ("reports", "products"):
        with op.batch_alter_table(table) as batch:
            batch.drop_constraint(op.f(f"uq_{table}_public_id"), type_="unique")
            batch.drop_column("origin_version")
            batch.drop_column("public_id")
    with op.batch_alter_table("changes") as batch:
        batch.drop_column("record_type")
