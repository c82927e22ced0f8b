"""Relevance order with a bounded cost: a top-k plan that does not grow with the number of
matches.

The relevance order of a search is, by definition (docs/search.md):

1. the **window**: the `WINDOW` (200) newest matching datasets the caller may see (by `-start`,
   the default order, so the database walks its `start` index, or for a rare word takes the
   few matches from the full-text index), ranked by the database's score (FTS5 `bm25` on
   SQLite, `ts_rank_cd` on PostgreSQL), best first, ties by public id;
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
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Engine,
    Float,
    SQLColumnExpression,
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
    """`ts_rank_cd` of `vector` against the query's words (AND of each word's alternatives)."""
    text = " & ".join(f"({tsquery_text(alts)})" for alts in query_terms(q))
    return func.ts_rank_cd(vector, func.to_tsquery(PG_CONFIG, text), type_=Float).label("score")


def _window(
    session: Session, q: str, clauses: list[ColumnElement[bool]], estimate_key: tuple[str, ...]
) -> list[Any]:
    """Rows (`id`, `start`, `public_id`, and on PostgreSQL `score`) of the `WINDOW` newest
    matches, newest first (SQLite scores them afterwards, `_scores`).

    By default the database walks its `start` index until `WINDOW` rows match, which costs
    about `WINDOW` / (share of rows matching) rows read: cheap for a broad word, the whole
    index for a word that matches nothing. PostgreSQL estimates an unknown word's share
    at a fixed 0.5% and so walks the index even then (16 s at 1,000,000 datasets). So on
    PostgreSQL, when the planner expects at most `FEW` matches, the matches are taken from
    the full-text and trigram indexes instead (bitmap scans only, at most `FEW` + 1 rows)
    and sorted; if there are more than `FEW` after all, the walk is used. On PostgreSQL the
    score is computed in the same statement, on the window's rows only (outside the
    `LIMIT`ed subquery, which PostgreSQL does not flatten)."""
    newest = (Dataset.start.desc(), Dataset.public_id.desc())
    if session.get_bind().dialect.name != "postgresql":
        lite = select(Dataset.id, Dataset.start, Dataset.public_id).where(*clauses)
        return list(session.execute(lite.order_by(*newest).limit(WINDOW)))
    matches = select(Dataset.id, Dataset.start, Dataset.public_id).where(*clauses)
    if _estimated_rows(session, matches, estimate_key) <= FEW:
        found = matches.limit(FEW + 1).cte("found").prefix_with("MATERIALIZED")
        counted = select(func.count()).select_from(found).scalar_subquery().label("matched")
        top = (
            select(found.c.id, found.c.start, found.c.public_id, counted)
            .order_by(found.c.start.desc(), found.c.public_id.desc())
            .limit(WINDOW)
            .subquery("top")
        )
        scored = (
            select(top.c.id, top.c.start, top.c.public_id, top.c.matched,
                   _pg_score(q, Dataset.search_vector))
            .join_from(top, Dataset, Dataset.id == top.c.id)
            .order_by(top.c.start.desc(), top.c.public_id.desc())
        )  # fmt: skip
        with _bitmap_scans_only(session):
            rows = list(session.execute(scored))
        if not rows or rows[0].matched <= FEW:
            return rows
    walked = matches.add_columns(Dataset.search_vector).order_by(*newest).limit(WINDOW)
    inner = walked.subquery("walked")
    scored_walk = select(
        inner.c.id, inner.c.start, inner.c.public_id, _pg_score(q, inner.c.search_vector)
    ).order_by(inner.c.start.desc(), inner.c.public_id.desc())
    return list(session.execute(scored_walk))


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

    One statement reads the settings and switches them off (a target list is evaluated
    left to right, so each `current_setting` sees the value before its `set_config`),
    one puts them back: two round trips, not three."""
    names = ("enable_seqscan", "enable_indexscan", "enable_indexonlyscan")
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
    newest = (Dataset.start.desc(), Dataset.public_id.desc())
    found: list[tuple[Dataset, str]] = []
    window: list[Any] = []
    if cursor is None or cursor[0] == _RANKED:
        estimate_key = (query_fingerprint(params), visibility)
        window = _window(session, params.q, clauses, estimate_key)
        scores = (
            {r.id: float(r.score) for r in window}
            if session.get_bind().dialect.name == "postgresql"
            else _scores(session, params.q, [r.id for r in window])
        )
        ranked = sorted(((scores.get(r.id, 0.0), r.public_id, r.id) for r in window), reverse=True)
        if cursor is not None:
            ranked = [r for r in ranked if (r[0], r[1]) < (cursor[1], cursor[2])]
        ranked = ranked[:need]
        pages = _loaded(session, [r[2] for r in ranked])
        found += [(d, _RANKED + repr(r[0])) for d, r in zip(pages, ranked, strict=True)]
    after_window = cursor is not None and cursor[0] == _BY_TIME
    if len(found) < need and (after_window or len(window) == WINDOW):
        start, public_id = (
            (cursor[1], cursor[2])
            if cursor and after_window
            else (window[-1].start, window[-1].public_id)
        )
        edge = tuple_(
            literal(start, Dataset.start.type), literal(public_id, Dataset.public_id.type)
        )
        rest = (
            select(Dataset)
            .where(*clauses, tuple_(Dataset.start, Dataset.public_id) < edge)
            .order_by(*newest)
            .limit(need - len(found))
            .options(selectinload(Dataset.variables))
        )
        found += [(d, _BY_TIME + d.start.isoformat()) for d in session.scalars(rest)]
    rows = [d for d, _ in found[: params.limit]]
    if len(found) <= params.limit:
        return rows, None
    key = found[params.limit - 1][1]
    return rows, encode_cursor(params, key, rows[-1].public_id, secret=secret)
