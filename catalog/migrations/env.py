"""Alembic environment: runs on the connection `catalog.db.upgrade_database` hands over."""

from __future__ import annotations

from typing import Any

from alembic import context
from sqlalchemy import Connection, Index

from catalog import models  # noqa: F401 - puts every table on Base.metadata
from catalog.model_base import Base, exists_on

target_metadata = Base.metadata


def include_object(
    obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
) -> bool:
    """Leave out of comparisons the indexes that this dialect does not get."""
    if type_ == "index" and not reflected and isinstance(obj, Index):
        return exists_on(obj, context.get_context().dialect.name)
    return True


def run_migrations(connection: Connection) -> None:
    """Run the migrations on an open connection (SQLite gets batch mode for ALTERs)."""
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        include_object=include_object,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through catalog.db.upgrade_database(engine)")
run_migrations(connection)
