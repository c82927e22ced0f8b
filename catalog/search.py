"""Dataset search (filters, free text, facets, keyset paging) and single-dataset lookups.

Every query starts from the access policy's SQL filter, and facet counts run on the already
filtered set, so neither results nor counts reveal what the caller may not see.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    exists,
    false,
    func,
    literal,
    or_,
    select,
    tuple_,
)
from sqlalchemy.orm import Session, selectinload

from catalog.access import (
    AccessState,
    can_read_data,
    can_see_metadata,
    effective_state,
    effective_state_sql,
    facts_at_level,
    visibility_key,
    visible_filter,
)
from catalog.citations import Citation, citation_for
from catalog.cursors import decode_cursor, encode_cursor, session_key
from catalog.errors import InvalidQueryError, NotFoundError, PermissionDeniedError
from catalog.facet_cache import cached_count
from catalog.facet_models import VARIABLE_KEY
from catalog.facet_tallies import ACCESS, BY_FACETS, VARIABLE
from catalog.facets import center_freshness, facet_counts, tallied_counts
from catalog.fulltext import match_clause, query_terms
from catalog.links import ResourceLinks
from catalog.models import Center, Dataset, Variable, fold
from catalog.ranking import relevance_page
from catalog.schemas import DatasetDetail, Principal, SearchPage, SearchParams
from catalog.views import to_detail, to_summary
from formats import bbox as bbox_rules
from formats.bbox import BBox

logger = logging.getLogger(__name__)

# sort name -> (column, descending)
SORTS: dict[str, tuple[Any, bool]] = {
    "-start": (Dataset.start, True),
    "start": (Dataset.start, False),
    "title": (Dataset.title, False),
    "pi": (Dataset.pi_key, False),
    "platform": (Dataset.platform_key, False),
    "updated": (Dataset.updated, False),
}
TIME_SORTS = {"-start", "start", "updated"}


def parse_bbox(text: str) -> BBox:
    """`W,S,E,N` text as a checked box (`formats.bbox` rules); InvalidQueryError says why not."""
    try:
        return bbox_rules.parse_bbox(text)
    except bbox_rules.BBoxError as err:
        raise InvalidQueryError(str(err)) from err


def check_bbox(box: BBox) -> BBox:
    """The box if it is valid (`formats.bbox` rules); InvalidQueryError if not."""
    try:
        return bbox_rules.check_bbox(box)
    except bbox_rules.BBoxError as err:
        raise InvalidQueryError(str(err)) from err


def _bbox_clause(box: BBox) -> ColumnElement[bool]:
    west, south, east, north = check_bbox(box)
    d = Dataset
    lat = and_(d.south <= north, d.north >= south)
    plain = d.west <= d.east
    crossing = d.west > d.east
    if west <= east:
        lon = or_(
            and_(plain, d.west <= east, d.east >= west),
            and_(crossing, or_(d.west <= east, d.east >= west)),
        )
    else:  # the query box crosses the antimeridian: [west, 180] + [-180, east]
        lon = or_(and_(plain, or_(d.east >= west, d.west <= east)), crossing)
    return and_(lat, lon)


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def resolve_sort(params: SearchParams) -> SearchParams:
    """`params` with its sort decided: relevance when `q` has words and no sort was asked
    for, `-start` otherwise (relevance without words has nothing to rank by)."""
    has_words = bool(params.q and query_terms(params.q))
    sort = params.sort or ("relevance" if has_words else "-start")
    if sort == "relevance" and not has_words:
        sort = "-start"
    return params if sort == params.sort else params.model_copy(update={"sort": sort})


def _time_clauses(
    session: Session, start: datetime | None, end: datetime | None
) -> list[ColumnElement[bool]]:
    if start is not None and end is not None and start > end:
        raise InvalidQueryError("start must not be after end")
    clauses: list[ColumnElement[bool]] = []
    if end is not None:
        clauses.append(Dataset.start <= end)
    if start is not None:
        clauses.append(Dataset.stop >= start)
        # No dataset lasts longer than the longest one, so an overlap also bounds `start`
        # from below; that turns the overlap into an index range scan on `start`.
        longest = session.scalar(select(func.max(Dataset.duration_s)))
        if longest is not None:
            with contextlib.suppress(OverflowError):
                clauses.append(Dataset.start >= start - timedelta(seconds=longest + 1))
    return clauses


def filter_clauses(
    session: Session, params: SearchParams, principal: Principal, now: datetime
) -> list[ColumnElement[bool]]:
    """Every WHERE condition of a search (access policy first), without the cursor."""
    clauses = [visible_filter(principal, now), *_time_clauses(session, params.start, params.end)]
    if params.bbox is not None:
        clauses.append(_bbox_clause(params.bbox))
    clauses.extend(FACET_COLUMNS[name] == key for name, key in facet_keys(params).items())
    if params.variable:
        clauses.append(variable_filter(fold(params.variable) or ""))
    if params.access:
        clauses.append(_access_clause(params.access, now))
    if params.q:
        found = match_clause(_dialect(session), params.q, Dataset.id, Dataset.search_text)
        clauses.append(false() if found is None else found)  # no words: nothing matches
    return clauses


def variable_filter(key: str) -> ColumnElement[bool]:
    """Datasets with a variable whose name key, or original name lower-cased, is `key`."""
    clause = exists().where(
        Variable.dataset_id == Dataset.id,
        or_(Variable.name_key == key, func.lower(Variable.original_name) == key),
    )
    return clause._annotate({VARIABLE_KEY: key})


FACET_COLUMNS: dict[str, Any] = {
    name: Dataset.__table__.c[column] for name, column in BY_FACETS.items()
}
"""The exact filters on one dataset column: search parameter -> the column it compares
(the filters the pair tallies count for)."""


def facet_keys(params: SearchParams) -> dict[str, str | int]:
    """The exact dataset-column filters `params` asks for: name -> the value the column must
    equal (names and PIs case-folded, a center upper-cased, the level as a number)."""
    keys: dict[str, str | int] = {}
    for name in ("platform", "instrument", "pi", "project"):
        value = getattr(params, name)
        if value:
            keys[name] = fold(value) or ""
    if params.center:
        keys["center"] = params.center.strip().upper()
    if params.level:
        if params.level.strip() not in ("0", "1", "2"):
            raise InvalidQueryError("level must be one of: 0, 1, 2")
        keys["level"] = int(params.level)
    return keys


def one_value_filter(
    params: SearchParams, clauses: list[ColumnElement[bool]]
) -> tuple[str, str] | None:
    """(filter, key) when the search's only filter is one dataset-column value, one access
    state or one variable, the cases the pair tallies count (`catalog.facet_tallies`);
    else None."""
    keys: dict[str, str | int] = {**facet_keys(params)}
    if params.access:
        keys[ACCESS] = _access_state(params.access).value
    if params.variable:
        keys[VARIABLE] = fold(params.variable) or ""
    if keys.get(VARIABLE) == "":
        return None  # a blank name: matches the variables without a name key, not tallied
    if len(clauses) != 2 or len(keys) != 1:  # the access policy's clause and that filter's
        return None
    ((name, key),) = keys.items()
    return name, str(key)


def _access_state(value: str) -> AccessState:
    """The access filter's state (InvalidQueryError naming the states for another word)."""
    try:
        return AccessState(value.strip().lower())
    except ValueError as err:
        allowed = ", ".join(s.value for s in AccessState)
        raise InvalidQueryError(f"access must be one of: {allowed}") from err


def _access_clause(value: str, now: datetime) -> ColumnElement[bool]:
    return effective_state_sql(now) == _access_state(value).value


def _page_query(
    params: SearchParams, clauses: list[ColumnElement[bool]], secret: bytes
) -> Select[tuple[Dataset, Any]]:
    column, descending = SORTS[params.sort or "-start"]
    where = list(clauses)
    if params.cursor:
        key_is_time = params.sort in TIME_SORTS
        key, public_id = decode_cursor(params, key_is_time=key_is_time, secret=secret)
        row = tuple_(column, Dataset.public_id)
        last = tuple_(literal(key, column.type), literal(public_id, Dataset.public_id.type))
        where.append(row < last if descending else row > last)
    order = (column.desc(), Dataset.public_id.desc()) if descending else (column, Dataset.public_id)
    return (
        select(Dataset, column.label("sort_key"))
        .where(*where)
        .order_by(*order)
        .limit(params.limit + 1)
        .options(selectinload(Dataset.variables))
    )


def _ordered_page(
    session: Session,
    params: SearchParams,
    principal: Principal,
    clauses: list[ColumnElement[bool]],
    secret: bytes,
) -> tuple[list[Dataset], str | None]:
    """One page in the asked order and the next page's cursor (None on the last page)."""
    if params.sort == "relevance":
        return relevance_page(session, params, clauses, secret, visibility_key(principal))
    found = session.execute(_page_query(params, clauses, secret)).all()
    rows = [row[0] for row in found[: params.limit]]
    if len(found) <= params.limit:
        return rows, None
    key = found[params.limit - 1][1]
    return rows, encode_cursor(params, key, rows[-1].public_id, secret=secret)


def _cached_facets(
    session: Session,
    params: SearchParams,
    principal: Principal,
    clauses: list[ColumnElement[bool]],
    now: datetime,
) -> tuple[dict[str, Any], int]:
    if len(clauses) == 1:  # the access policy's filter alone: no filter asked for
        return tallied_counts(session, principal, now)
    one = one_value_filter(params, clauses)
    if one is not None:
        return tallied_counts(session, principal, now, by=one, where=clauses[1])

    def count() -> tuple[tuple[dict[str, Any], int], int]:
        facets, total = facet_counts(session, clauses, now)
        return (facets, total), total

    return cached_count(session, "facets", params, principal, now, count)


def search_datasets(
    session: Session, params: SearchParams, principal: Principal, now: datetime
) -> SearchPage:
    """One page of the datasets the caller may see that match `params`, with facet counts."""
    secret = session_key(session)
    params = resolve_sort(params)
    clauses = filter_clauses(session, params, principal, now)
    rows, next_cursor = _ordered_page(session, params, principal, clauses, secret)
    facets: dict[str, Any] = {}
    total = None
    if params.facets:
        facets, total = _cached_facets(session, params, principal, clauses, now)
    return SearchPage(
        items=[to_summary(d, now) for d in rows],
        facets=facets,
        next_cursor=next_cursor,
        centers=center_freshness(session),
        total=total,
    )


@dataclass(frozen=True)
class _AccessRow:
    """The columns the policy reads, for a dataset that exists or for an absent id."""

    id: int | None
    public_id: str
    access_state: str
    release_at: datetime | None
    owner_user_id: int | None
    campaign_id: int | None = None


_ACCESS_COLUMNS = (
    Dataset.id,
    Dataset.public_id,
    Dataset.access_state,
    Dataset.release_at,
    Dataset.owner_user_id,
    Dataset.campaign_id,
)


def _access_row(session: Session, public_id: str) -> _AccessRow:
    """The policy's facts of `public_id`; for an absent id, those of a private dataset no
    caller owns (so the policy decides it exactly as it decides a real private one)."""
    found = session.execute(
        select(*_ACCESS_COLUMNS).where(Dataset.public_id == public_id)
    ).one_or_none()
    absent = (None, public_id, AccessState.PRIVATE.value, None, None, None)
    return _AccessRow(*(found if found is not None else absent))


def _visible(session: Session, public_id: str, principal: Principal, now: datetime) -> Dataset:
    """The dataset if the caller may know of it, else NotFoundError.

    A private dataset and a missing id take the same path and do the same work (SECURITY.md
    row 27): one query for the policy's columns, the policy on that row (on a stand-in for a
    missing id), then the same refusal. Only an allowed dataset is loaded in full.
    """
    facts = _access_row(session, public_id)
    if not can_see_metadata(principal, facts, now) or facts.id is None:
        raise NotFoundError(f"no dataset {public_id!r}")
    options = (selectinload(Dataset.variables), selectinload(Dataset.versions))
    dataset = session.get(Dataset, facts.id, options=options)
    if dataset is None:  # deleted between the two statements of this transaction
        raise NotFoundError(f"no dataset {public_id!r}")
    return dataset


def load_visible(session: Session, public_id: str, principal: Principal, now: datetime) -> Dataset:
    """The dataset row if the caller may see it, else NotFoundError (the policy's one path)."""
    return _visible(session, public_id, principal, now)


def get_dataset(
    session: Session,
    public_id: str,
    principal: Principal,
    now: datetime,
    links: ResourceLinks | None = None,
) -> DatasetDetail:
    """One dataset's public view; NotFoundError when absent or not visible to the caller.

    `links` (the web layer's) fills the view's API links; without it they stay empty.
    """
    dataset = _visible(session, public_id, principal, now)
    return to_detail(dataset, _origin(session, dataset), now, links)


def load_dataset_for_data(
    session: Session,
    public_id: str,
    principal: Principal,
    now: datetime,
    level: int | None = None,
) -> Dataset:
    """The dataset row for a data request (of the current version, or the newest at `level`);
    PermissionDeniedError when that data is closed (per-level rules applied)."""
    dataset = _visible(session, public_id, principal, now)
    facts = facts_at_level(dataset, level)
    if not can_read_data(principal, facts, now):
        state = effective_state(facts, now)
        if facts.release_at is not None:
            when = facts.release_at.isoformat()
            message = f"data of {public_id} is {state.value} until {when}"
        else:
            message = f"data of {public_id} is {state.value}"
        raise PermissionDeniedError(message, release_at=facts.release_at)
    return dataset


@dataclass(frozen=True)
class DatasetView:
    """Everything a dataset's page needs of the dataset, from one lookup."""

    dataset: Dataset
    """The row (for parts the page draws from it: quick-look pages, products)."""
    detail: DatasetDetail
    readable: bool
    """Whether the caller may read the data now (`can_read_data`, the decision
    `load_dataset_for_data` enforces): the page shows or hides its plot and download form."""
    citation: Citation


def get_dataset_view(
    session: Session,
    public_id: str,
    principal: Principal,
    now: datetime,
    links: ResourceLinks | None = None,
) -> DatasetView:
    """`get_dataset`, the data decision and `get_citation` from one lookup of the dataset."""
    dataset = _visible(session, public_id, principal, now)
    origin = _origin(session, dataset)
    return DatasetView(
        dataset,
        to_detail(dataset, origin, now, links),
        can_read_data(principal, dataset, now),
        citation_for(dataset, origin),
    )


def _origin(session: Session, dataset: Dataset) -> Center | None:
    return session.scalars(select(Center).where(Center.code == dataset.origin_center)).one_or_none()


def get_citation(session: Session, public_id: str, principal: Principal, now: datetime) -> Citation:
    """How to cite a dataset (seen by whoever may see its metadata), credited to its origin."""
    dataset = _visible(session, public_id, principal, now)
    return citation_for(dataset, _origin(session, dataset))
