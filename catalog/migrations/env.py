"""Alembic environment: runs on the connection `catalog.db.upgrade_database` hands over."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from catalog.models import Base

target_metadata = Base.metadata


def run_migrations(connection: Connection) -> None:
    """Run the migrations on an open connection (SQLite gets batch mode for ALTERs)."""
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through catalog.db.upgrade_database(engine)")
run_migrations(connection)
