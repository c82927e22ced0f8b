"""Facet counts over the filtered set, and which centers' records the catalog holds."""

from __future__ import annotations

import typing
from collections import Counter
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Column,
    ColumnElement,
    String,
    Text,
    cast,
    column,
    func,
    literal,
    select,
    true,
    type_coerce,
    union_all,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY, array
from sqlalchemy.orm import Session
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.visitors import replacement_traverse

from catalog.access import (
    PRIVILEGED,
    SHARED_STATES,
    AccessState,
    effective_state_sql,
    visibility_key,
    visible_filter,
)
from catalog.facet_models import FACET_ROWS, VARIABLE_KEY
from catalog.facet_tallies import ACCESS, released_today_filter, tallied_rows
from catalog.models import Center, Dataset, PeerState, Variable, fold
from catalog.registry_models import Instrument, Place
from catalog.registry_records import local_code
from catalog.schemas import CenterFreshness, FacetCount, Principal

FACET_LIMIT = 50
TOTAL = "_total"
FACET_NAMES = (
    "platform", "instrument", "pi", "variable", "center", "access", "project", "level",
)  # fmt: skip


def facet_counts(
    session: Session, clauses: list[ColumnElement[bool]], now: datetime, narrow: bool = True
) -> tuple[dict[str, list[FacetCount]], int]:
    """Counts per value of each facet, and the total, over the rows `clauses` select
    (`narrow`: counted over the facet rows where the clauses allow; False: over the dataset
    rows, the reference the tests hold the facet rows to)."""
    return _merged(session, _counted_rows(clauses, session, now, narrow))


def tallied_counts(
    session: Session,
    principal: Principal,
    now: datetime,
    by: tuple[str, str] | None = None,
    where: ColumnElement[bool] | None = None,
) -> tuple[dict[str, list[FacetCount]], int]:
    """The counts for `principal`, from the tallies (`catalog.facet_tallies`): unfiltered, or
    with `by` among the datasets of one filter value (`where`, that filter's SQL clause).

    A caller's count is the sum over the visibility classes they see (the shared class;
    staff also the hidden one) plus, for a signed-in non-staff user, an exact count of
    their own private datasets (the only hidden records `visible_filter` lets them see,
    usually few). Equal to `facet_counts` with the policy's filter and `where` (tested)."""
    staff = principal.role in PRIVILEGED
    rows = list(tallied_rows(session, staff, now, by, where))
    rows.append((TOTAL, "", sum(count for name, _, count in rows if name == "access")))
    filtered = [] if where is None else [where]
    if by is not None and by[0] == ACCESS:  # today's releases, counted exactly
        rows.extend(_counted_rows([released_today_filter(now), *filtered], session, now))
    if not staff and visibility_key(principal) != "shared":
        own = [Dataset.access_state == AccessState.PRIVATE.value, visible_filter(principal, now)]
        rows.extend(_counted_rows([*own, *filtered], session, now))
    return _merged(session, rows)


def _counted_rows(
    clauses: list[ColumnElement[bool]], session: Session, now: datetime, narrow: bool = True
) -> Iterable[tuple[str, str | None, int]]:
    """(facet, value, count) over the rows `clauses` select, and (TOTAL, "", count).

    One statement: the filtered rows are computed once (a CTE) and grouped per facet by
    their written value; spellings that differ only in case are merged by `_merged`, since
    the filters compare case-insensitively. The rows are the narrow facet rows
    (`catalog.facet_models.FACET_ROWS`) whenever the clauses read only columns those copy
    (every filter but PostgreSQL's full text), else the dataset rows themselves
    (`narrow=False`: always). On PostgreSQL the facet rows also answer the variable filter
    and facet from their own arrays, without reading the variables.
    """
    access = effective_state_sql(now).label("access")
    columns = (Dataset.platform, Dataset.instrument, Dataset.pi_name, Dataset.project)
    filtered = select(Dataset.id, *columns, Dataset.origin_center, Dataset.level, access)
    filtered = filtered.where(*clauses)
    arrays = session.get_bind().dialect.name == "postgresql"
    narrowed = _narrowed(filtered, arrays) if narrow else None
    if narrowed is not None and arrays:
        narrowed = narrowed.add_columns(FACET_ROWS.c.variable_names)
    f = (filtered if narrowed is None else narrowed).cte("filtered")

    def grouped(name: str, column: Any) -> Any:
        return select(literal(name), column, func.count()).group_by(column)

    if narrowed is not None and arrays:  # each row's names, no join
        each = func.unnest(f.c.variable_names).table_valued(column("name", String)).lateral()
        variables = (
            select(literal("variable"), each.c.name, func.count())
            .join_from(f, each, true())
            .group_by(each.c.name)
        )
    else:  # the filtered set drives: each dataset's variables come from a covering index
        variables = (
            select(literal("variable"), Variable.name, func.count(Variable.dataset_id))
            .join_from(f, Variable, Variable.dataset_id == f.c.id)
            .group_by(Variable.name)
        )
    parts = [
        select(literal(TOTAL), literal(""), func.count()).select_from(f),
        grouped("platform", f.c.platform),
        grouped("instrument", f.c.instrument),
        grouped("pi", f.c.pi_name),
        grouped("center", f.c.origin_center),
        grouped("access", f.c.access),
        grouped("project", f.c.project),
        grouped("level", cast(f.c.level, String)),
        variables,
    ]
    for name, value, count in session.execute(union_all(*parts)):
        yield str(name), value, int(count)


_Query = typing.TypeVar("_Query", bound=ClauseElement)


class _Wide(Exception):
    """A clause reads a dataset column the facet rows do not copy."""


def _narrowed(query: _Query, arrays: bool) -> _Query | None:
    """`query` with every dataset column read from the facet rows instead (subqueries such
    as the variable filter's included, which then correlate to the facet row), or None if
    it reads a dataset column they do not copy. `arrays` (PostgreSQL): the variable filter
    becomes a match of the facet row's keys (`search.variable_filter`), which the database
    intersects with the other filters' indexes."""

    def swap(element: Any, **_kw: Any) -> Any:
        key = getattr(element, "_annotations", {}).get(VARIABLE_KEY)
        if arrays and key:  # a blank key matches variables without a key: not in the arrays
            keys = type_coerce(FACET_ROWS.c.variable_keys, ARRAY(Text()))
            return keys.contains(cast(array([key]), ARRAY(Text())))
        if isinstance(element, Column) and element.table is Dataset.__table__:
            if element.name not in FACET_ROWS.c:
                raise _Wide(element.name)
            return FACET_ROWS.c[element.name]
        return None

    try:
        return typing.cast(_Query, replacement_traverse(query, {}, swap))
    except _Wide:
        return None


def _merged(
    session: Session,
    rows: Iterable[tuple[str, str | None, int]],
) -> tuple[dict[str, list[FacetCount]], int]:
    """Sum rows per facet and case-folded value (the most common spelling shown)."""
    merged: dict[str, dict[str, Counter[str]]] = {name: {} for name in FACET_NAMES}
    total = 0
    for name, value, count in rows:
        if name == TOTAL:
            total += count
        elif value is not None and value != "":
            merged[name].setdefault(fold(str(value)) or "", Counter())[str(value)] += count
    facets = {name: _top(variants) for name, variants in merged.items()}
    _registry_names(session, facets)
    return facets, total


REGISTRY_FACETS: dict[str, type[Place] | type[Instrument]] = {
    "platform": Place,
    "instrument": Instrument,
}
"""Facets whose values are shown in the registry's spelling where the registry names them."""


def _registry_names(session: Session, facets: dict[str, list[FacetCount]]) -> None:
    """Show a platform or instrument the registry knows by the registry's name.

    A dataset is linked to a deployment when its free-text names equal the registry's,
    case-folded (`catalog.registry`), and the facets group case-folded: so the count of a
    value is that of the datasets carrying the registry's name, and only its spelling
    changes. One indexed look-up of at most `FACET_LIMIT` keys per facet, after counting.
    The registry holds every center's entries (`catalog.registry_records`): a value only a
    peer registered (its mirrored datasets) takes the peer's name; this center's wins."""
    local = local_code(session)
    for name, table in REGISTRY_FACETS.items():
        keys = {fold(fc.value) or "": fc for fc in facets[name]}
        if not keys:
            continue
        rows = session.execute(
            select(table.key, table.name, table.center_code).where(table.key.in_(keys))
        )
        for key, registered, _center in sorted(rows, key=lambda row: row[2] == local):
            keys[key].value = registered  # this center's name last, so it wins


def _top(variants: dict[str, Counter[str]]) -> list[FacetCount]:
    """One entry per case-folded value, shown in its most common spelling, largest first
    (values no caller-visible row carries any more are left out)."""
    values = [
        FacetCount(value=min(spellings, key=lambda v: (-spellings[v], v)), count=spellings.total())
        for spellings in variants.values()
        if spellings.total() > 0
    ]
    values.sort(key=lambda fc: (-fc.count, fc.value))
    return values[:FACET_LIMIT]


def refresh_center_counts(session: Session) -> None:
    """Recount every center's shared datasets (after bulk loads; the change log keeps them)."""
    shared = [s.value for s in SHARED_STATES]
    is_shared = Dataset.access_state.in_(shared)
    # Only rows whose flag is wrong are written (rewriting all left a dead row per dataset).
    session.execute(
        update(Dataset)
        .where(Dataset.listed.is_distinct_from(is_shared))
        .values(listed=is_shared)
        .execution_options(synchronize_session=False)
    )
    counts = dict(
        session.execute(
            select(Dataset.origin_center, func.count())
            .where(Dataset.access_state.in_(shared))
            .group_by(Dataset.origin_center)
        ).all()
    )
    for code in session.scalars(select(Center.code)):
        session.execute(
            update(Center)
            .where(Center.code == code)
            .values(shared_records=int(counts.get(code, 0)))
            .execution_options(synchronize_session=False)
        )
    session.expire_all()


def center_freshness(session: Session) -> list[CenterFreshness]:
    """Each known center, how many of its datasets are shared here, and how fresh they are.

    `records` counts shared datasets (open, embargoed or password: public metadata), so it
    is the same for every caller and reveals nothing private.
    """
    rows = session.execute(
        select(
            Center.code,
            Center.name,
            Center.is_local,
            Center.shared_records,
            PeerState.last_seq_applied,
            PeerState.last_contact,
            PeerState.last_error,
        )
        .outerjoin(PeerState, PeerState.peer_code == Center.code)
        .order_by(Center.is_local.desc(), Center.code)
    ).all()
    return [
        CenterFreshness(
            center=row.code,
            name=row.name,
            is_local=row.is_local,
            records=row.shared_records,
            last_seq_applied=row.last_seq_applied,
            last_contact=row.last_contact,
            last_error=row.last_error,
        )
        for row in rows
    ]
