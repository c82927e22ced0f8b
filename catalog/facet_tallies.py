"""The facet tallies: pre-aggregated facet counts, read here, kept by database triggers
(`catalog.facet_triggers`) and folded by the worker.

Every write of a dataset or variable row (registration, edits, access changes, withdrawals,
mirror writes, deletes; the ORM's or plain SQL's) appends signed rows to `facet_tallies`
(the unfiltered counts) and to `facet_pair_tallies` (the counts among the datasets of one
filter value: a dataset column of `BY_FACETS`, an access state, a variable) in the same
transaction. Appending, never updating, keeps concurrent writers off each other's rows (no
hot counter row); the fold puts the appended rows together, one per key, and a read sums
over whatever is there, so a read is right before and after a fold. The design, and why
visibility needs only two classes, is in docs/search.md ("Facet counts").
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import Session

from catalog.access_states import RELEASING_STATES, AccessState
from catalog.facet_models import FacetPairTally, FacetTally
from catalog.models import Dataset

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
BY_FACETS = {
    "platform": "platform_key",
    "instrument": "instrument_key",
    "pi": "pi_key",
    "project": "project_key",
    "center": "origin_center",
    "level": "level",
}
"""The exact filters on one dataset column the pair tallies count for: search parameter ->
the column the filter compares (`catalog.search.filter_clauses`), tallied under the
column's value as text. The pair tallies count the `ACCESS` and `VARIABLE` filters too;
time, place, text and combined filters are counted over the filtered rows."""
ACCESS = "access"
"""The access filter, tallied under the stored state and, for a releasing state, its
release day (`by_day`), which the clock turns at read time (`tallied_rows`)."""
VARIABLE = "variable"
"""The variable filter, tallied under each key a dataset's variables carry: a dataset
matches `variable=x` when one of its variables has the key `x` as its name's key or as its
original name lower-cased (`catalog.search.filter_clauses`)."""


def release_day(when: datetime) -> int:
    """The day number (since 1970-01-01 UTC) a release instant is tallied under."""
    return int((when - EPOCH).total_seconds() // 86400)


def tallied_rows(
    session: Session,
    staff: bool,
    now: datetime,
    by: tuple[str, str] | None = None,
    where: ColumnElement[bool] | None = None,
) -> Iterator[tuple[str, str | None, int]]:
    """(facet, value, count) of every dataset of the shared class (and, for `staff`, of the
    hidden class too), with the access facet as the clock has it at `now`; with `by`
    (a `BY_FACETS` name or `ACCESS`, and the key its filter compares) among the datasets of
    that value only, `where` being that filter as SQL (`catalog.search.filter_clauses`'s).

    A releasing state's row counts as `open` once its release day is past; the rows of
    today's release day are corrected exactly from the datasets (one range probe on
    `ix_datasets_state_release`). Releasing states are all shared, so the correction
    needs no class. Filtered by access, today's release day is left out altogether
    (`released_today_filter` selects those datasets, for an exact count by the caller)."""
    today = release_day(now)
    table: type[FacetTally] | type[FacetPairTally] = FacetTally if by is None else FacetPairTally
    query = select(table.facet, table.value, table.release_day, func.sum(table.n)).group_by(
        table.facet, table.value, table.release_day
    )
    if by is not None:
        query = query.where(FacetPairTally.by_facet == by[0], _key_matches(by, today))
    if not staff:
        query = query.where(table.shared.is_(True))
    for facet, value, day, count in session.execute(query):
        if facet == "access" and day is not None and day < today:
            value = "open"
        yield facet, value, int(count)
    if by is not None and by[0] == ACCESS:
        return  # none of today's release day was read
    start = EPOCH + timedelta(days=today)
    released_today = session.execute(
        select(Dataset.access_state, func.count())
        .where(
            Dataset.access_state.in_([s.value for s in RELEASING_STATES]),
            Dataset.release_at >= start,
            Dataset.release_at <= now,
            *([] if where is None else [where]),
        )
        .group_by(Dataset.access_state)
    )
    for state, count in released_today:
        yield "access", state, -int(count)
        yield "access", "open", int(count)


def _key_matches(by: tuple[str, str], today: int) -> ColumnElement[bool]:
    """The pair rows of filter `by`; for the access filter, those whose state at the clock
    is the one asked for, today's release day aside."""
    name, key = by
    if name != ACCESS:
        return FacetPairTally.by_key == key
    row = FacetPairTally
    unreleased = and_(row.by_key == key, or_(row.by_day.is_(None), row.by_day > today))
    if key != AccessState.OPEN.value:
        return unreleased
    return or_(unreleased, row.by_day < today)  # released on an earlier day


def released_today_filter(now: datetime) -> ColumnElement[bool]:
    """The datasets whose release falls on `now`'s day (UTC), before or after `now`: all of
    a shared state, so every caller may see them."""
    start = EPOCH + timedelta(days=release_day(now))
    return and_(
        Dataset.access_state.in_([s.value for s in RELEASING_STATES]),
        Dataset.release_at >= start,
        Dataset.release_at < start + timedelta(days=1),
    )
