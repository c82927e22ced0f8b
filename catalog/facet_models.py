"""The facet tally tables: pre-aggregated facet counts per visibility class, unfiltered
(`facet_tallies`) and among the datasets of one facet value (`facet_pair_tallies`)."""

from __future__ import annotations

from sqlalchemy import Boolean, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from catalog.model_base import Base

__all__ = ["FacetPairTally", "FacetTally"]


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
