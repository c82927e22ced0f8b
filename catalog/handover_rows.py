"""A hand-over's records as JSON rows and back (`catalog.handover`, `catalog.handover_registry`).

A row travels with every column but the ids that only mean something at the closing center
(its own keys, its users, the record a part belongs to): the receiving center gives those
its own values when it imports the record.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, DateTime

SKIP = {"id", "campaign_id", "dataset_id", "owner_user_id", "uploaded_by", "author_user_id",
        "instrument_id", "place_id"}  # fmt: skip


def _json(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date | datetime) else value


def row_of(obj: Any) -> dict[str, Any]:
    """A row as the manifest lists it (the closing center's ids left out)."""
    return {c.name: _json(getattr(obj, c.key)) for c in obj.__table__.columns if c.name not in SKIP}


def values_of(model: Any, row: dict[str, Any]) -> dict[str, Any]:
    """A serialised row back in its columns' types (unknown names dropped)."""
    values: dict[str, Any] = {}
    for column in model.__table__.columns:
        if column.name in SKIP or column.name not in row:
            continue
        value = row[column.name]
        impl = getattr(column.type, "impl", column.type)
        if value is not None and isinstance(impl, DateTime):
            value = datetime.fromisoformat(value)
        elif value is not None and isinstance(impl, Date):
            value = date.fromisoformat(value)
        values[column.key] = value
    return values
