"""Federation: peers, their signing keys, seen nonces and mirror tombstones

Revision ID: 0004
Revises: 0001
Create Date: 2026-11-22 03:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "peers",
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("url", sa.String(length=500), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("notified_seq", sa.Integer(), nullable=False),
        sa.Column("remote_last_seq", sa.Integer(), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("next_poll_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_success", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_peers")),
    )
    op.create_table(
        "peer_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("peer_code", sa.String(length=16), nullable=False),
        sa.Column("key_id", sa.String(length=64), nullable=False),
        sa.Column("secret", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_peer_keys")),
        sa.UniqueConstraint("peer_code", "key_id", name="uq_peer_keys_peer_key"),
    )
    op.create_index(op.f("ix_peer_keys_peer_code"), "peer_keys", ["peer_code"], unique=False)
    op.create_table(
        "seen_nonces",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sender", sa.String(length=16), nullable=False),
        sa.Column("nonce", sa.String(length=64), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_seen_nonces")),
        sa.UniqueConstraint("sender", "nonce", name="uq_seen_nonces_sender_nonce"),
    )
    op.create_index("ix_seen_nonces_seen_at", "seen_nonces", ["seen_at"], unique=False)
    op.create_table(
        "mirror_tombstones",
        sa.Column("public_id", sa.String(length=32), nullable=False),
        sa.Column("origin_center", sa.String(length=16), nullable=False),
        sa.Column("origin_version", sa.Integer(), nullable=False),
        sa.Column("removed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("public_id", name=op.f("pk_mirror_tombstones")),
    )


def downgrade() -> None:
    op.drop_table("mirror_tombstones")
    op.drop_index("ix_seen_nonces_seen_at", table_name="seen_nonces")
    op.drop_table("seen_nonces")
    op.drop_index(op.f("ix_peer_keys_peer_code"), table_name="peer_keys")
    op.drop_table("peer_keys")
    op.drop_table("peers")
