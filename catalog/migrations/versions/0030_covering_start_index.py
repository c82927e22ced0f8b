"""The `start` index of datasets carries, on PostgreSQL, the columns a relevance window reads
(visibility, the free text and its score), so the walk for a broad word is an index-only
scan instead of a table row per dataset walked (docs/search.md, "Relevance")

Revision ID: 0030
Revises: 0029
Create Date: 2026-12-07 01:10:00
"""

from __future__ import annotations

from alembic import op

revision = "0030"
down_revision = "0029"
branch_labels = None
depends_on = None

_COLUMNS = ["start", "public_id"]
_INCLUDED = ["id", "access_state", "owner_user_id", "search_vector", "search_text"]


def _rebuild(include: list[str] | None) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return  # SQLite has no included columns; its index stays as it was
    op.drop_index("ix_datasets_start_pid", table_name="datasets")
    op.create_index("ix_datasets_start_pid", "datasets", _COLUMNS,
                    postgresql_include=include or [])  # fmt: skip


def upgrade() -> None:
    _rebuild(_INCLUDED)


def downgrade() -> None:
    _rebuild(None)
