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

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Float, cast, func, literal, literal_column, select, tuple_
from sqlalchemy.dialects.postgresql import DOUBLE_PRECISION
from sqlalchemy.orm import Session, selectinload

from catalog.cursors import decode_cursor, encode_cursor
from catalog.errors import InvalidQueryError
from catalog.fulltext import FTS_TABLE, PG_CONFIG, fts5_query, query_terms, tsquery_text
from catalog.models import Dataset
from catalog.schemas import SearchParams

WINDOW = 200
"""How many of the newest matches are ranked by score (the rest follow by time)."""
_RANKED, _BY_TIME = "r", "s"


def _score(dialect: str, q: str, ids: list[int]) -> tuple[Any, ColumnElement[float]]:
    """A relevance score (higher first) of the datasets `ids`, and what to join it from."""
    terms = query_terms(q)
    if dialect == "sqlite":
        fts: ColumnElement[Any] = literal_column("datasets_fts")
        scores = (
            select(FTS_TABLE.c.rowid.label("id"), (-func.bm25(fts, type_=Float)).label("score"))
            .where(fts.op("MATCH")(fts5_query(terms)), FTS_TABLE.c.rowid.in_(ids))
            .subquery("fts_scores")
        )
        return scores, scores.c.score
    text = " & ".join(f"({tsquery_text(alts)})" for alts in terms)
    vector: ColumnElement[Any] = literal_column("datasets.search_vector")
    score = func.ts_rank_cd(vector, func.to_tsquery(PG_CONFIG, text))
    # `real` read back as text is rounded: compare (and carry in cursors) the exact double.
    return None, cast(score, DOUBLE_PRECISION)


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
) -> tuple[list[Dataset], str | None]:
    """One page in relevance order (see the module's text) and the next page's cursor."""
    assert params.q is not None
    need = params.limit + 1
    cursor = _decode(params, secret)
    newest = (Dataset.start.desc(), Dataset.public_id.desc())
    found: list[tuple[Dataset, str]] = []
    window: list[Any] = []
    if cursor is None or cursor[0] == _RANKED:
        window = list(
            session.execute(
                select(Dataset.id, Dataset.start, Dataset.public_id)
                .where(*clauses)
                .order_by(*newest)
                .limit(WINDOW)
            )
        )
        joined, score = _score(session.get_bind().dialect.name, params.q, [r.id for r in window])
        query = select(Dataset, score).where(Dataset.id.in_([r.id for r in window]))
        if joined is not None:
            query = query.join(joined, joined.c.id == Dataset.id)
        if cursor is not None:
            last = (literal(cursor[1], Float), literal(cursor[2], Dataset.public_id.type))
            query = query.where(tuple_(score, Dataset.public_id) < tuple_(*last))
        query = query.order_by(score.desc(), Dataset.public_id.desc()).limit(need)
        query = query.options(selectinload(Dataset.variables))
        found += [(d, _RANKED + repr(float(s))) for d, s in session.execute(query).all()]
    after_window = cursor is not None and cursor[0] == _BY_TIME
    if len(found) < need and (after_window or len(window) == WINDOW):
        start, public_id = (cursor[1], cursor[2]) if cursor and after_window else window[-1][1:]
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
