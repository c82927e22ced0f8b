"""Supervised receivers: staff's wishes (run, stop, restart) and the supervisor's status

Revision ID: 0012
Revises: 0006
Create Date: 2026-12-06 01:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = "0012"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "receiver_controls",
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("desired", sa.String(length=16), nullable=False),
        sa.Column("restart_seq", sa.Integer(), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("changed_by", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_receiver_controls")),
    )
    op.create_table(
        "receiver_status",
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("restarts", sa.Integer(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_receiver_status")),
    )


def downgrade() -> None:
    op.drop_table("receiver_status")
    op.drop_table("receiver_controls")
