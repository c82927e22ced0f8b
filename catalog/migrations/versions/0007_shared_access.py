"""Shared access: the campaign state, named readers, access requests, vouched sessions,
followers and release notices

Revision ID: 0007
Revises: 0009
Create Date: 2026-12-06 01:45:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = "0007"
down_revision = "0009"
branch_labels = None
depends_on = None

OLD_STATES = "('open', 'embargoed', 'password', 'private', 'withdrawn')"
NEW_STATES = "('open', 'embargoed', 'password', 'campaign', 'private', 'withdrawn')"


def _person() -> list[sa.Column[str]]:
    return [
        sa.Column("center", sa.String(length=16), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
    ]


def _dataset_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["dataset_id"],
        ["datasets.id"],
        name=op.f(f"fk_{table}_dataset_id_datasets"),
        ondelete="CASCADE",
    )


def _set_states(states: str) -> None:
    with op.batch_alter_table("datasets") as batch:
        batch.drop_constraint(op.f("ck_datasets_access_state"), type_="check")
        batch.create_check_constraint(op.f("ck_datasets_access_state"), f"access_state IN {states}")


def upgrade() -> None:
    _set_states(NEW_STATES)
    with op.batch_alter_table("campaigns") as batch:
        batch.add_column(
            sa.Column(
                "default_state", sa.String(length=16), nullable=False, server_default="embargoed"
            )
        )
    op.create_table(
        "dataset_readers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dataset_id", sa.Integer(), nullable=False),
        *_person(),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("added_by", sa.String(length=100), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        _dataset_fk("dataset_readers"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dataset_readers")),
        sa.UniqueConstraint(
            "dataset_id", "center", "username", name="uq_dataset_readers_person"
        ),
    )
    op.create_index(
        "ix_dataset_readers_person", "dataset_readers", ["center", "username", "expires_at"]
    )
    op.create_table(
        "access_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dataset_id", sa.Integer(), nullable=False),
        *_person(),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by", sa.String(length=100), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        _dataset_fk("access_requests"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_access_requests")),
    )
    op.create_index(
        "ix_access_requests_dataset_status", "access_requests", ["dataset_id", "status"]
    )
    op.create_table(
        "vouched_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        *_person(),
        sa.Column("display_name", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("campaign_ids", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vouched_sessions")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_vouched_sessions_token_hash")),
    )
    op.create_index(
        op.f("ix_vouched_sessions_center"), "vouched_sessions", ["center"], unique=False
    )
    op.create_table(
        "dataset_followers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dataset_id", sa.Integer(), nullable=False),
        *_person(),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
        _dataset_fk("dataset_followers"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dataset_followers")),
        sa.UniqueConstraint(
            "dataset_id", "center", "username", name="uq_dataset_followers_person"
        ),
    )
    op.create_table(
        "release_notices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dataset_id", sa.Integer(), nullable=False),
        sa.Column("release_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        _dataset_fk("release_notices"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_release_notices")),
        sa.UniqueConstraint(
            "dataset_id", "release_at", "kind", name=op.f("uq_release_notices_dataset_id")
        ),
    )


def downgrade() -> None:
    for table in (
        "release_notices",
        "dataset_followers",
        "vouched_sessions",
        "access_requests",
        "dataset_readers",
    ):
        op.drop_table(table)
    op.execute("UPDATE datasets SET access_state = 'embargoed' WHERE access_state = 'campaign'")
    with op.batch_alter_table("campaigns") as batch:
        batch.drop_column("default_state")
    _set_states(OLD_STATES)
