"""The declarative base every catalog table maps onto, apart from the tables themselves.

The table modules (`models`, `auth_models`, `federation_models`, `submission_models`) all
import it from here, so none of them imports another to find the base.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar, Literal

from sqlalchemy import Index, MetaData
from sqlalchemy.orm import DeclarativeBase

from catalog.sqltypes import UTCDateTime

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def new_public_id() -> str:
    """A random URL-safe id (16 characters, 96 bits): never sequential, never guessable."""
    return secrets.token_urlsafe(12)


def exists_on(index: Index, dialect: str) -> bool:
    """Whether `index` is created on `dialect` (some exist on PostgreSQL only)."""
    condition = index._ddl_if
    return condition is None or condition.dialect in (None, dialect)


class Base(DeclarativeBase):
    """Declarative base with a naming convention so migrations name constraints stably."""

    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime()}


PUBLIC = "fieldcat_public"
"""The `info` key that marks a public column of `datasets` (see `public`)."""
View = Literal["summary", "detail"]


@dataclass(frozen=True)
class PublicField:
    """Where a public column of a dataset goes; `catalog.dataset_fields` reads these marks."""

    shared: bool
    """Sent to peers in the change-log payload, and written into their mirror rows."""
    view: View | None
    """Shown in the search summary (and so the detail too), in the detail only, or in neither
    as itself (the views show it in another form: the box edges as `bbox`, the stored
    access state as the effective one)."""


def public(*, shared: bool = True, view: View | None = "summary") -> dict[str, Any]:
    """The `info=` of a public dataset column: the one mark the payload, the mirror rows, the
    views and the schemas derive from. A new public column needs this and its migration."""
    return {PUBLIC: PublicField(shared, view)}
