"""Column types shared by the models: UTC instants that read back timezone-aware."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

INT32_MAX = 2**31 - 1
"""The largest value an `Integer` column holds on every database (PostgreSQL `integer`):
ids, sequence numbers. A client's or peer's integer bound for such a column stops here."""
INT64_MAX = 2**63 - 1
"""The largest value a `BigInteger` column (sizes) holds; SQLite refuses larger binds."""


class UTCDateTime(TypeDecorator[datetime]):
    """An instant stored in UTC (naive on SQLite, `timestamptz` on PostgreSQL), read back aware.

    Naive input is taken as UTC. On SQLite the stored text has a fixed width, so text order
    is time order and range conditions can use an index.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    @property
    def python_type(self) -> type[datetime]:
        """`datetime` (what `catalog.dataset_fields` gives the schemas for these columns)."""
        return datetime

    def process_bind_param(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"expected a datetime, got {type(value).__name__}")
        instant: datetime = value
        instant = instant.replace(tzinfo=UTC) if instant.tzinfo is None else instant.astimezone(UTC)
        if dialect.name == "sqlite":
            return instant.replace(tzinfo=None)
        return instant

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)
