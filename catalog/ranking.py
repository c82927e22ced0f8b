"""Relevance order with a bounded cost: a top-k plan that does not grow with the number of
matches.

The relevance order of a search is, by definition (docs/search.md):

1. the **window**: the `WINDOW` (200) newest matching datasets the caller may see (by `-start`,
   the default order, so the database walks its `start` index, or for a rare word takes the
   few matches from the full-text index), ranked by the database's score (FTS5 `bm25` on
   SQLite, `ts_rank` on PostgreSQL: how often the words occur), best first, ties by public id;
2. then every other match, newest first (`-start`, ties by public id): the continuation of
   the same walk.

When a query matches at most `WINDOW` datasets (what people type to find something), the
order is the full ranking of every match. A broad query (a word found in a quarter of the
catalog) ranks its newest `WINDOW` matches instead of all of them, so its first page costs
the same at 100,000 and at 1,000,000 datasets. Visibility and every filter are applied by the
window query itself, so nothing the caller may not see is ranked. The count (`total`, from
the facets) is of every match, exact.

A cursor says which part it is in: `r<score>` in the window, `s<start>` after it.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Double,
    Engine,
    Float,
    SQLColumnExpression,
    cast,
    func,
    literal,
    literal_column,
    select,
    text,
    tuple_,
)
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.sql import ClauseElement

from catalog.cursors import decode_cursor, encode_cursor, query_fingerprint
from catalog.errors import InvalidQueryError
from catalog.facet_cache import FacetCache
from catalog.fulltext import FTS_TABLE, PG_CONFIG, fts5_query, query_terms, tsquery_text
from catalog.models import Dataset
from catalog.schemas import SearchParams

WINDOW = 200
"""How many of the newest matches are ranked by score (the rest follow by time)."""
FEW = 20_000
"""At most this many expected matches are taken from the text indexes and sorted (PostgreSQL)."""
_RANKED, _BY_TIME = "r", "s"
NEWEST = (Dataset.start.desc(), Dataset.public_id.desc())
"""The window's order and the time part's: newest first, ties by public id."""


def _scores(session: Session, q: str, ids: list[int]) -> dict[int, float]:
    """The `bm25` score (higher first) of each of the datasets `ids` (SQLite): one statement
    over the window's rows only. PostgreSQL scores in the window's own statement."""
    fts: ColumnElement[Any] = literal_column("datasets_fts")
    query = select(FTS_TABLE.c.rowid, -func.bm25(fts, type_=Float)).where(
        # `rowid + 0`: a filter, not a constraint of the FTS table, so the MATCH runs
        # once (with `rowid IN` FTS5 runs it again for every id); bm25 is then computed
        # for the window's rows only.
        fts.op("MATCH")(fts5_query(query_terms(q))),
        (FTS_TABLE.c.rowid + 0).in_(ids),
    )
    return {int(i): float(score) for i, score in session.execute(query)}


def _pg_score(q: str, vector: SQLColumnExpression[Any]) -> ColumnElement[float]:
    """`ts_rank` of `vector` against the query's words (AND of each word's alternatives),
    as a double: its `real` read into Python and sent back in a cursor would not compare
    equal to itself (`_pg_page` compares the cursor's score in SQL)."""
    text = " & ".join(f"({tsquery_text(alts)})" for alts in query_terms(q))
    rank = func.ts_rank(vector, func.to_tsquery(PG_CONFIG, text))
    return cast(rank, Double).label("score")


@dataclass(frozen=True)
class _Ranked:
    """The ranked part of a page: its datasets with their scores, best first; whether the
    window was full (then the time part follows it), and the window's oldest row (`start`,
    `public_id`), where the time part continues."""

    pages: list[tuple[Dataset, float]]
    full: bool
    edge: tuple[datetime, str] | None


def _lite_ranked(
    session: Session, q: str, clauses: list[ColumnElement[bool]], need: int, after: Any
) -> _Ranked:
    """SQLite: the window (the `WINDOW` newest matches, by the `start` index or FTS5's
    MATCH), scored with `bm25` over the window's rows (`_scores`), the `need` best after the
    cursor's (score, public id) `after` loaded whole."""
    lite = select(Dataset.id, Dataset.start, Dataset.public_id).where(*clauses)
    window = list(session.execute(lite.order_by(*NEWEST).limit(WINDOW)))
    scores = _scores(session, q, [r.id for r in window])
    ranked = sorted(((scores.get(r.id, 0.0), r.public_id, r.id) for r in window), reverse=True)
    if after is not None:
        ranked = [r for r in ranked if (r[0], r[1]) < after]
    ranked = ranked[:need]
    pages = _loaded(session, [r[2] for r in ranked])
    edge = (window[-1].start, window[-1].public_id) if window else None
    return _Ranked(list(zip(pages, [r[0] for r in ranked], strict=True)),
                   len(window) == WINDOW, edge)  # fmt: skip


def _pg_ranked(
    session: Session,
    q: str,
    clauses: list[ColumnElement[bool]],
    estimate_key: tuple[str, ...],
    need: int,
    after: Any,
) -> _Ranked:
    """PostgreSQL: the window, scored, and the page's `need` best (after the cursor's
    (score, public id) `after`) loaded whole, in one statement (and one for their variables).

    By default the database walks its `start` index until `WINDOW` rows match, which costs
    about `WINDOW` / (share of rows matching) rows read: cheap for a broad word, the whole
    index for a word that matches nothing. PostgreSQL estimates an unknown word's share
    at a fixed 0.5% and so walks the index even then (16 s at 1,000,000 datasets). So when
    the planner expects at most `FEW` matches, the matches are taken from the full-text and
    trigram indexes instead (bitmap scans only, at most `FEW` + 1 rows) and sorted; if there
    are more than `FEW` after all, the walk is used. The score is computed on the window's
    rows only (outside the `LIMIT`ed subquery, which PostgreSQL does not flatten), and only
    the page's rows are read whole (the ranking, limited, is a subquery of its own)."""
    matches = select(Dataset.id, Dataset.start, Dataset.public_id).where(*clauses)
    if _estimated_rows(session, matches, estimate_key) <= FEW:
        found = matches.limit(FEW + 1).cte("found").prefix_with("MATERIALIZED")
        top = (
            select(found.c.id, found.c.start, found.c.public_id)
            .order_by(found.c.start.desc(), found.c.public_id.desc())
            .limit(WINDOW)
            .subquery("top")
        )
        window = (
            select(top.c.id, top.c.start, top.c.public_id, _pg_score(q, Dataset.search_vector))
            .join_from(top, Dataset, Dataset.id == top.c.id)
            .cte("window")
        )
        matched = select(func.count()).select_from(found).scalar_subquery()
        with _bitmap_scans_only(session):
            ranked, counted = _pg_page(session, window, need, after, matched)
        if counted <= FEW:
            return ranked
    walked = matches.add_columns(Dataset.search_vector).order_by(*NEWEST).limit(WINDOW)
    inner = walked.subquery("walked")
    window = select(
        inner.c.id, inner.c.start, inner.c.public_id, _pg_score(q, inner.c.search_vector)
    ).cte("window")
    return _pg_page(session, window, need, after, None)[0]


def _pg_page(
    session: Session, window: Any, need: int, after: Any, matched: ColumnElement[Any] | None
) -> tuple[_Ranked, int]:
    """The page's ranked part from the scored `window` (a CTE), and how many matches the
    text indexes found (`matched`, read in the same statement; 0 on the walk).

    A first page needs nothing else: it holds the window's best `need` rows, so when fewer
    came the window held no more (it is full, and the time part follows, only if `need`
    exceeds `WINDOW`; its oldest row is then among them). A later page that comes short asks
    the window's size and oldest row in a second statement."""
    ranked = select(window.c.id, window.c.public_id, window.c.score)
    if after is not None:
        below = tuple_(literal(after[0], Double), literal(after[1], Dataset.public_id.type))
        ranked = ranked.where(tuple_(window.c.score, window.c.public_id) < below)
    best = (window.c.score.desc(), window.c.public_id.desc())
    top = ranked.order_by(*best).limit(need).subquery("ranked")
    counted = () if matched is None else (matched.label("matched"),)
    page = (
        select(Dataset, top.c.score, *counted)
        .join(top, Dataset.id == top.c.id)
        .order_by(top.c.score.desc(), top.c.public_id.desc())
        .options(selectinload(Dataset.variables))
    )
    rows = session.execute(page).all()
    pages = [(row[0], float(row.score)) for row in rows]
    found = int(rows[0].matched) if rows and matched is not None else 0
    if len(rows) == need or (after is None and len(rows) < WINDOW):
        return _Ranked(pages, False, None), found
    if after is None:  # the whole window is on this page
        return _Ranked(pages, True, min((d.start, d.public_id) for d, _ in pages)), found
    first = select(window.c.start).order_by(window.c.start, window.c.public_id).limit(1)
    info = session.execute(
        select(
            select(func.count()).select_from(window).scalar_subquery().label("size"),
            first.scalar_subquery().label("start"),
            first.with_only_columns(window.c.public_id).scalar_subquery().label("id"),
            *counted,
        )
    ).one()
    edge = (info.start, info.id) if info.start is not None else None
    found = int(info.matched) if matched is not None else 0
    return _Ranked(pages, int(info.size) == WINDOW, edge), found


ESTIMATE_TTL_S = 300.0
"""How long the planner's estimate of a query's matches is reused (see `_estimated_rows`)."""
_ESTIMATES: weakref.WeakKeyDictionary[Engine, FacetCache] = weakref.WeakKeyDictionary()
_ESTIMATES_LOCK = threading.Lock()


def _estimated_rows(session: Session, query: ClauseElement, key: tuple[str, ...]) -> float:
    """The PostgreSQL planner's estimate of how many rows `query` returns (no execution),
    kept per engine for `ESTIMATE_TTL_S` under `key` (the query's filters and the caller's
    visibility class).

    Asking cost a compile and a planning round trip on every request (a fifth of a
    full-text page at 100,000 datasets). The estimate only chooses how the window is read,
    never what it holds (both ways give the same rows), so an estimate a few minutes old
    costs at worst a slower plan: it is not tied to the catalog's version."""
    bind = session.get_bind()
    engine = bind if isinstance(bind, Engine) else bind.engine
    with _ESTIMATES_LOCK:
        cache = _ESTIMATES.get(engine)
        if cache is None:
            cache = _ESTIMATES[engine] = FacetCache(ttl_s=ESTIMATE_TTL_S, min_total=0)
    found = cache.get(key)
    if isinstance(found, float):
        return found
    compiled = query.compile(dialect=bind.dialect, compile_kwargs={"render_postcompile": True})
    plan = session.connection().exec_driver_sql(
        "EXPLAIN (FORMAT JSON) " + str(compiled), compiled.params
    )
    estimate = float(plan.scalar_one()[0]["Plan"]["Plan Rows"])
    cache.put(key, estimate, 0)
    return estimate


@contextmanager
def _bitmap_scans_only(session: Session) -> Iterator[None]:
    """Within the block, PostgreSQL reads tables through bitmap index scans only (the
    settings are the transaction's and are put back afterwards).

    JIT compilation is switched off with them: a plan node switched off still costs its
    penalty (about 10^10), which would push every plan over `jit_above_cost` and spend a
    third of a second compiling a statement that runs in a millisecond (the page's
    statement reads the small `campaigns` table, which only a sequential scan reads).

    One statement reads the settings and switches them off (a target list is evaluated
    left to right, so each `current_setting` sees the value before its `set_config`),
    one puts them back: two round trips, not three."""
    names = ("enable_seqscan", "enable_indexscan", "enable_indexonlyscan", "jit")
    reads = ", ".join(f"current_setting('{n}')" for n in names)
    offs = ", ".join(f"set_config('{n}', 'off', true)" for n in names)
    before = session.execute(text(f"SELECT {reads}, {offs}")).one()[: len(names)]
    try:
        yield
    finally:
        calls = ", ".join(f"set_config('{n}', :{n}, true)" for n in names)
        session.execute(text(f"SELECT {calls}"), dict(zip(names, before, strict=True)))


def _loaded(session: Session, ids: list[int]) -> list[Dataset]:
    """The datasets `ids` with their variables, in the order given."""
    query = select(Dataset).where(Dataset.id.in_(ids)).options(selectinload(Dataset.variables))
    by_id = {d.id: d for d in session.scalars(query)}
    return [by_id[i] for i in ids]


def _decode(params: SearchParams, secret: bytes) -> tuple[str, Any, str] | None:
    """(part, key, public id) of the page's cursor, or None on the first page."""
    if not params.cursor:
        return None
    key, public_id = decode_cursor(params, key_is_time=False, secret=secret)
    text = str(key)
    try:
        if text.startswith(_RANKED):
            return _RANKED, float(text[1:]), public_id
        if text.startswith(_BY_TIME):
            return _BY_TIME, datetime.fromisoformat(text[1:]), public_id
    except ValueError:
        pass
    raise InvalidQueryError("cursor is malformed; start again without it")


def relevance_page(
    session: Session,
    params: SearchParams,
    clauses: list[ColumnElement[bool]],
    secret: bytes,
    visibility: str,
) -> tuple[list[Dataset], str | None]:
    """One page in relevance order (see the module's text) and the next page's cursor;
    `visibility` is the caller's class (`access.visibility_key`)."""
    assert params.q is not None
    need = params.limit + 1
    cursor = _decode(params, secret)
    found: list[tuple[Dataset, str]] = []
    part: _Ranked | None = None
    if cursor is None or cursor[0] == _RANKED:
        after = (cursor[1], cursor[2]) if cursor is not None else None
        if session.get_bind().dialect.name == "postgresql":
            estimate_key = (query_fingerprint(params), visibility)
            part = _pg_ranked(session, params.q, clauses, estimate_key, need, after)
        else:
            part = _lite_ranked(session, params.q, clauses, need, after)
        found += [(d, _RANKED + repr(score)) for d, score in part.pages]
    if cursor is not None and cursor[0] == _BY_TIME:
        edge: tuple[Any, str] | None = (cursor[1], cursor[2])
    else:
        edge = part.edge if part is not None and part.full else None
    if len(found) < need and edge is not None:
        start, public_id = edge
        edge_key = tuple_(
            literal(start, Dataset.start.type), literal(public_id, Dataset.public_id.type)
        )
        rest = (
            select(Dataset)
            .where(*clauses, tuple_(Dataset.start, Dataset.public_id) < edge_key)
            .order_by(*NEWEST)
            .limit(need - len(found))
            .options(selectinload(Dataset.variables))
        )
        found += [(d, _BY_TIME + d.start.isoformat()) for d in session.scalars(rest)]
    rows = [d for d, _ in found[: params.limit]]
    if len(found) <= params.limit:
        return rows, None
    key = found[params.limit - 1][1]
    return rows, encode_cursor(params, key, rows[-1].public_id, secret=secret)
