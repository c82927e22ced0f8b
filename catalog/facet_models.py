"""The facet tally table: pre-aggregated facet counts per visibility class (`facet_tallies`)."""

from __future__ import annotations

from sqlalchemy import Boolean, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from catalog.model_base import Base

__all__ = ["FacetTally"]


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
