"""The dataset's public fields, read from the one declaration: the `info=public(...)` marks on
the columns of `models.Dataset`.

The change-log payload (`changes.dataset_payload`), a mirror's rows
(`federation.mirror_rows.dataset_row`), the views (`views`) and the response schemas
(`schemas.DatasetSummary`, `schemas.DatasetDetail`) all iterate these lists, so a new public
column is its `mapped_column(..., info=public(...))` and its migration, nothing more.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import JSON, Column, Table

from catalog.model_base import PUBLIC, PublicField
from catalog.models import Dataset


@dataclass(frozen=True)
class DatasetField:
    """One public column: its name, Python type, nullability, default and where it goes."""

    name: str
    python_type: type
    nullable: bool
    default: Any
    """The column's scalar default (None when it has none or a callable one)."""
    use: PublicField

    @property
    def annotation(self) -> Any:
        """The type a schema declares for it (`T | None` when the column is nullable)."""
        return self.python_type | None if self.nullable else self.python_type

    @property
    def is_time(self) -> bool:
        """Whether it holds an instant (sent as ISO 8601 text)."""
        return issubclass(self.python_type, datetime)


def _field(column: Column[Any]) -> DatasetField:
    default = column.default
    scalar = getattr(default, "arg", None) if default is not None else None
    return DatasetField(
        name=column.key,
        python_type=dict if isinstance(column.type, JSON) else column.type.python_type,
        nullable=bool(column.nullable),
        default=None if callable(scalar) else scalar,
        use=column.info[PUBLIC],
    )


@cache
def public_fields() -> tuple[DatasetField, ...]:
    """Every public column of `datasets`, in table order."""
    table: Table = Dataset.__table__  # type: ignore[assignment]
    return tuple(_field(c) for c in table.columns if PUBLIC in c.info)


@cache
def shared_fields() -> tuple[DatasetField, ...]:
    """The columns a peer receives (the change-log payload) and writes (its mirror rows)."""
    return tuple(f for f in public_fields() if f.use.shared)


@cache
def summary_fields() -> tuple[DatasetField, ...]:
    """The columns a search result shows as they are stored."""
    return tuple(f for f in public_fields() if f.use.view == "summary")


@cache
def detail_fields() -> tuple[DatasetField, ...]:
    """The columns only the full view adds to the summary's."""
    return tuple(f for f in public_fields() if f.use.view == "detail")
