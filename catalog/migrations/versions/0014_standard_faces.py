"""Saved searches and their notices, and the DOIs of datasets and versions

Revision ID: 0014
Revises: 0010
Create Date: 2026-12-06 01:40:00
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op


revision = "0014"
down_revision = "0010"
branch_labels = None
depends_on = None


def _when(name: str, nullable: bool = False) -> sa.Column[Any]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "saved_searches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("query", sa.JSON(), nullable=False),
        sa.Column("follow_embargoes", sa.Boolean(), nullable=False),
        sa.Column("webhook_url", sa.String(length=1000), nullable=False),
        sa.Column("webhook_secret", sa.String(length=64), nullable=False),
        _when("created_at"),
        _when("checked_at", nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"],
            name=op.f("fk_saved_searches_user_id_users"), ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_saved_searches")),
    )
    op.create_index(
        op.f("ix_saved_searches_user_id"), "saved_searches", ["user_id"], unique=False
    )
    op.create_table(
        "saved_search_notices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("saved_search_id", sa.Integer(), nullable=False),
        sa.Column("dataset_public_id", sa.String(length=32), nullable=False),
        sa.Column("event", sa.String(length=16), nullable=False),
        _when("created_at"),
        _when("delivered_at", nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["saved_search_id"], ["saved_searches.id"],
            name=op.f("fk_saved_search_notices_saved_search_id_saved_searches"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_saved_search_notices")),
        sa.UniqueConstraint(
            "saved_search_id", "dataset_public_id", "event",
            name=op.f("uq_saved_search_notices_saved_search_id"),
        ),
    )
    op.create_table(
        "dataset_dois",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dataset_id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=True),
        sa.Column("doi", sa.String(length=255), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        _when("minted_at"),
        _when("updated_at"),
        sa.ForeignKeyConstraint(
            ["dataset_id"], ["datasets.id"],
            name=op.f("fk_dataset_dois_dataset_id_datasets"), ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["version_id"], ["dataset_versions.id"],
            name=op.f("fk_dataset_dois_version_id_dataset_versions"), ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dataset_dois")),
        sa.UniqueConstraint("dataset_id", "version_id", name=op.f("uq_dataset_dois_dataset_id")),
        sa.UniqueConstraint("doi", name=op.f("uq_dataset_dois_doi")),
    )


def downgrade() -> None:
    op.drop_table("dataset_dois")
    op.drop_table("saved_search_notices")
    op.drop_index(op.f("ix_saved_searches_user_id"), table_name="saved_searches")
    op.drop_table("saved_searches")
