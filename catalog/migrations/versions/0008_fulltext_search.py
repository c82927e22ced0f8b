"""Full-text search: the normalised search document of every dataset (now with its summary
and remarks), an FTS5 index on SQLite, `tsvector` and trigram GIN indexes on PostgreSQL;
and the orders table (baskets and whole search results built into zips by the worker)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 01:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import TSVECTOR

from catalog.models import search_text_of

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

FIELDS = ("title", "did", "pi_name", "platform", "instrument", "location", "project", "summary")
SQLITE_TRIGGERS = (
    """CREATE TRIGGER datasets_fts_ai AFTER INSERT ON datasets BEGIN
        INSERT INTO datasets_fts(rowid, search_text) VALUES (new.id, new.search_text);
    END""",
    """CREATE TRIGGER datasets_fts_ad AFTER DELETE ON datasets BEGIN
        INSERT INTO datasets_fts(datasets_fts, rowid, search_text)
        VALUES ('delete', old.id, old.search_text);
    END""",
    """CREATE TRIGGER datasets_fts_au AFTER UPDATE OF search_text ON datasets BEGIN
        INSERT INTO datasets_fts(datasets_fts, rowid, search_text)
        VALUES ('delete', old.id, old.search_text);
        INSERT INTO datasets_fts(rowid, search_text) VALUES (new.id, new.search_text);
    END""",
)


PG_VECTOR_FUNCTION = """
CREATE OR REPLACE FUNCTION fieldcat_search_vector() RETURNS trigger AS $$
BEGIN
    NEW.search_vector := to_tsvector('english'::regconfig, NEW.search_text);
    RETURN NEW;
END $$ LANGUAGE plpgsql
"""


def _rewrite_documents(conn: sa.Connection) -> None:
    """Every dataset's search document in the new (normalised) form."""
    names: dict[int, list[str]] = {}
    for dataset_id, name, original in conn.execute(
        sa.text("SELECT dataset_id, name, original_name FROM variables ORDER BY position")
    ):
        found = names.setdefault(dataset_id, [])
        found += [n for n in (name, original) if n and n not in found]
    rows = conn.execute(sa.text(f"SELECT id, {', '.join(FIELDS)} FROM datasets")).mappings()
    for row in list(rows):
        text = search_text_of(dict(row), names.get(row["id"], []))
        conn.execute(
            sa.text("UPDATE datasets SET search_text = :t WHERE id = :id AND search_text <> :t"),
            {"t": text, "id": row["id"]},
        )


def _create_orders() -> None:
    op.create_table(
        "orders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_id", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("spec", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("done", sa.Integer(), nullable=False),
        sa.Column("included", sa.Integer(), nullable=False),
        sa.Column("left_out", sa.JSON(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "state IN ('queued', 'running', 'ready', 'failed')", name=op.f("ck_orders_state")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_orders_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_orders")),
        sa.UniqueConstraint("public_id", name=op.f("uq_orders_public_id")),
    )
    op.create_index("ix_orders_state_created", "orders", ["state", "created_at"])


def upgrade() -> None:
    conn = op.get_bind()
    _create_orders()
    op.create_index("ix_variables_name_key", "variables", ["name_key", "dataset_id"])
    _rewrite_documents(conn)
    if conn.dialect.name == "sqlite":
        op.add_column("datasets", sa.Column("search_vector", sa.Text(), nullable=True))
        op.execute(
            "CREATE VIRTUAL TABLE datasets_fts USING fts5(search_text, content='datasets', "
            "content_rowid='id', tokenize='porter unicode61')"
        )
        for trigger in SQLITE_TRIGGERS:
            op.execute(trigger)
        op.execute("INSERT INTO datasets_fts(datasets_fts) VALUES ('rebuild')")
        return
    op.add_column("datasets", sa.Column("search_vector", TSVECTOR(), nullable=True))
    op.execute(PG_VECTOR_FUNCTION)
    op.execute(
        "CREATE TRIGGER datasets_search_vector BEFORE INSERT OR UPDATE OF search_text "
        "ON datasets FOR EACH ROW EXECUTE FUNCTION fieldcat_search_vector()"
    )
    op.execute("UPDATE datasets SET search_vector = to_tsvector('english'::regconfig, search_text)")
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public")
    schema = conn.scalar(
        sa.text("SELECT extnamespace::regnamespace::text FROM pg_extension WHERE extname = 'pg_trgm'")
    )
    op.execute("CREATE INDEX ix_datasets_fts ON datasets USING gin (search_vector)")
    op.execute(
        f"CREATE INDEX ix_datasets_trgm ON datasets USING gin (search_text {schema}.gin_trgm_ops)"
    )


def downgrade() -> None:
    op.drop_index("ix_variables_name_key", table_name="variables")
    op.drop_index("ix_orders_state_created", table_name="orders")
    op.drop_table("orders")
    if op.get_bind().dialect.name == "sqlite":
        for name in ("ai", "ad", "au"):
            op.execute(f"DROP TRIGGER IF EXISTS datasets_fts_{name}")
        op.execute("DROP TABLE IF EXISTS datasets_fts")
        with op.batch_alter_table("datasets") as batch:
            batch.drop_column("search_vector")
        return
    op.drop_index("ix_datasets_trgm", table_name="datasets")
    op.drop_index("ix_datasets_fts", table_name="datasets")
    op.execute("DROP TRIGGER datasets_search_vector ON datasets")
    op.execute("DROP FUNCTION fieldcat_search_vector()")
    op.drop_column("datasets", "search_vector")
