"""The search page's time-coverage strip: how many matching datasets start in each slice of
the period the results span, counted over everything the caller may see (not one page).

The time filter itself is left out of the count, so the strip shows the whole period with
the chosen part brushed on it, and brushing elsewhere widens or moves the choice.

The strip is a function of the same filters as the facet counts (less the time filter), so
it is kept in the same cache (`catalog.facet_cache`), under its own key: a page that only
moves the time window, or pages on, or asks again, does not count again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import ColumnElement, Float, Integer, SQLColumnExpression, cast, func, select
from sqlalchemy.orm import Session

from catalog.facet_cache import cached_count
from catalog.models import Dataset
from catalog.schemas import Principal, SearchParams
from catalog.search import filter_clauses

BINS = 30


@dataclass(frozen=True)
class TimeBin:
    """One slice of the strip: its bounds (UTC) and how many datasets start in it."""

    start: datetime
    end: datetime
    count: int


def _epoch(session: Session, column: SQLColumnExpression[datetime]) -> ColumnElement[float]:
    if session.get_bind().dialect.name == "sqlite":
        return cast(func.strftime("%s", column), Float)
    return cast(func.extract("epoch", column), Float)


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def time_strip(
    session: Session, params: SearchParams, principal: Principal, now: datetime, bins: int = BINS
) -> list[TimeBin]:
    """`bins` equal slices from the first start to the last stop of the matching datasets."""
    unbounded = params.model_copy(update={"start": None, "end": None, "cursor": None})

    def count() -> tuple[list[TimeBin], int]:
        strip = _count_strip(session, unbounded, principal, now, bins)
        return strip, sum(b.count for b in strip)

    return cached_count(session, f"strip/{bins}", unbounded, principal, now, count)


def _count_strip(
    session: Session, unbounded: SearchParams, principal: Principal, now: datetime, bins: int
) -> list[TimeBin]:
    clauses = filter_clauses(session, unbounded, principal, now)
    first, last = session.execute(
        select(func.min(Dataset.start), func.max(Dataset.stop)).where(*clauses)
    ).one()
    if first is None or last is None:
        return []
    first, last = _utc(first), _utc(last)
    width = max((last - first).total_seconds() / bins, 3600.0)
    origin = first.timestamp()
    slot = cast(func.floor((_epoch(session, Dataset.start) - origin) / width), Integer)
    counts: dict[int, int] = {}
    for index, count in session.execute(select(slot, func.count()).where(*clauses).group_by(slot)):
        key = min(max(int(index), 0), bins - 1)  # a start on the last instant is in the last bin
        counts[key] = counts.get(key, 0) + int(count)
    step = timedelta(seconds=width)
    return [
        TimeBin(first + i * step, first + (i + 1) * step, int(counts.get(i, 0)))
        for i in range(bins)
    ]
