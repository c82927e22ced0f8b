"""The facet tables: pre-aggregated facet counts per visibility class, unfiltered
(`facet_tallies`) and among the datasets of one facet value (`facet_pair_tallies`), and
the narrow copy of the datasets' filter and facet columns that other filters count over
(`facet_rows`)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Boolean, Column, Float, Index, Integer, String, Table, Text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from catalog.model_base import Base
from catalog.sqltypes import UTCDateTime

__all__ = [
    "FACET_ROWS", "ROW_COLUMNS", "VARIABLE_KEY", "FacetPairTally", "FacetTally", "FacetTallyPause",
]  # fmt: skip


class FacetTally(Base):
    """A signed count of datasets (or variable rows) carrying one facet value.

    Rows are only ever appended by the database's triggers (+1 / -1 per written row) and
    folded into one row per key by `catalog.facet_tallies.compact_tallies`; a count is the
    sum of `n` over its key (facet, value, shared, release_day). `shared` is the visibility
    class: True for the shared states every caller sees, False for private and withdrawn
    records (staff, or the owner through an exact correction). `release_day` (days since
    1970-01-01 UTC of `release_at`) is set on the `access` facet's rows of releasing states
    only, so the clock's release is applied at read time (docs/search.md, "Facet counts").
    """

    __tablename__ = "facet_tallies"
    id: Mapped[int] = mapped_column(primary_key=True)
    facet: Mapped[str] = mapped_column(String(16))
    value: Mapped[str | None] = mapped_column(String(200))
    shared: Mapped[bool] = mapped_column(Boolean)
    release_day: Mapped[int | None] = mapped_column(Integer)
    n: Mapped[int] = mapped_column(Integer)


class FacetPairTally(Base):
    """A signed count of datasets (or variable rows) carrying one facet value among the
    datasets carrying another: the counts a search filtered by one facet value shows.

    `by_facet` and `by_key` name the filter (a dataset facet and the folded key its filter
    compares: `platform_key`, `origin_center`, the level as text; for the access filter the
    stored state, with `by_day`, its release day, for a state that releases by the clock);
    `facet`, `value`, `shared`,
    `release_day` and `n` are as in `FacetTally`, kept and folded the same way
    (`catalog.facet_tallies`; docs/search.md, "Facet counts")."""

    __tablename__ = "facet_pair_tallies"
    __table_args__ = (Index("ix_facet_pair_tallies_by", "by_facet", "by_key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    by_facet: Mapped[str] = mapped_column(String(16))
    by_key: Mapped[str | None] = mapped_column(String(200))
    by_day: Mapped[int | None] = mapped_column(Integer)
    facet: Mapped[str] = mapped_column(String(16))
    value: Mapped[str | None] = mapped_column(String(200))
    shared: Mapped[bool] = mapped_column(Boolean)
    release_day: Mapped[int | None] = mapped_column(Integer)
    n: Mapped[int] = mapped_column(Integer)


class FacetTallyPause(Base):
    """A dataset whose update does not append its tallies row by row: a bulk writer
    (`catalog.facet_triggers.tallies_paused`) takes its tallies away and adds them back
    counted afresh, set-based, around an update of many datasets. Rows live only inside
    that writer's transaction (written and deleted in it), so no other writer ever sees
    one."""

    __tablename__ = "facet_tally_pauses"
    dataset_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)


_TEXT = ("platform", "platform_key", "instrument", "instrument_key", "pi_name", "pi_key")


_NAMES = Text().with_variant(ARRAY(Text()), "postgresql")


def _copied(name: str, kind: type[Any], nullable: bool = False) -> Column[Any]:
    """A column copied from `datasets` (same name and type; a test compares them)."""
    return Column(name, kind(200) if kind is String else kind(), nullable=nullable)


FACET_ROWS = Table(
    "facet_rows",
    Base.metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    *(_copied(name, String) for name in _TEXT),
    _copied("project", String, nullable=True),
    _copied("project_key", String, nullable=True),
    Column("origin_center", String(16), nullable=False),
    _copied("level", Integer),
    Column("access_state", String(16), nullable=False),
    _copied("release_at", UTCDateTime, nullable=True),
    _copied("owner_user_id", Integer, nullable=True),
    _copied("start", UTCDateTime),
    _copied("stop", UTCDateTime),
    *(_copied(name, Float, nullable=True) for name in ("south", "north", "west", "east")),
    # PostgreSQL: the dataset's variables, kept by statement triggers on `variables`
    # (NULL on SQLite, where the variable filter and facet read the variables' indexes).
    Column("variable_names", _NAMES, nullable=True),
    Column("variable_keys", _NAMES, nullable=True),
    Index("ix_facet_rows_platform", "platform_key"),
    Index("ix_facet_rows_instrument", "instrument_key"),
    Index("ix_facet_rows_pi", "pi_key"),
    Index("ix_facet_rows_project", "project_key"),
    Index("ix_facet_rows_center_state", "origin_center", "access_state"),
    Index("ix_facet_rows_state_release", "access_state", "release_at"),
    Index("ix_facet_rows_start", "start"),
    Index("ix_facet_rows_owner", "owner_user_id"),
    Index("ix_facet_rows_variable_keys", "variable_keys", postgresql_using="gin").ddl_if(
        dialect="postgresql"
    ),
)
"""One narrow row per dataset (`ROW_COLUMNS`, about a third of a dataset row), kept equal
to `datasets` by the database's triggers (`catalog.facet_triggers`); on PostgreSQL with
its variables' names (`variable_names`, one per variable, for the variable facet) and the
keys the variable filter matches (`variable_keys`: each name key and original name
lower-cased, distinct and sorted; GIN-indexed), so neither joins the variables.

A search filtered by more than one value counts its facets over these rows, not the wide
dataset rows: the rows two filters select are fetched from a table a third the size, and
each filter has an index here for the database to intersect (docs/search.md, "Facet
counts")."""
ROW_COLUMNS = tuple(c.name for c in FACET_ROWS.c if not c.name.startswith("variable_"))
"""The dataset columns `facet_rows` copies: every column the access policy, the time, place
and facet filters and the facet counts read (`catalog.facets`)."""
VARIABLE_KEY = "fieldcat_variable_key"
"""The annotation that marks the variable filter's clause with its key
(`catalog.search.variable_filter`), so the facet rows answer it from `variable_keys`."""
