"""Suggestions (autocomplete) for the platform, instrument, PI and variable boxes.

Built from what the caller may see: a value is offered only when a dataset the caller may
see carries it (every probe starts from the access policy's filter), so a private dataset's
PI or platform is never suggested to someone who may not see it. A value matches when one
of its words starts with what was typed, compared in normalised form (`C-1` finds
`NCAR C-130`, `holl` finds `Dr. J. Hollis`).

It never scans the catalog: the distinct values come from their index by a loose index
scan (one probe per distinct value, a recursive query), are matched here, and each match is
checked by one indexed probe for a visible dataset. Values come in alphabetical order.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from catalog.access import visible_filter
from catalog.errors import InvalidQueryError
from catalog.fulltext import normalise
from catalog.models import Dataset, Variable
from catalog.schemas import Principal

SuggestField = Literal["platform", "instrument", "pi", "variable"]
MAX_SUGGESTIONS = 20
MAX_PROBES = 200
"""At most this many matching values are checked for a visible dataset per request."""
_COLUMNS = {
    "platform": (Dataset.platform, Dataset.platform_key),
    "instrument": (Dataset.instrument, Dataset.instrument_key),
    "pi": (Dataset.pi_name, Dataset.pi_key),
    "variable": (Variable.name, Variable.name_key),
}


class Suggestion(BaseModel):
    """A value the box may take."""

    value: str


def _distinct_keys(session: Session, key: Any) -> list[str]:
    """Every distinct value of an indexed column, one index probe per value (a recursive
    query: the smallest value, then the smallest one above it, and so on)."""
    walk = select(func.min(key).label("v")).cte("k", recursive=True)
    following = select(func.min(key)).where(key > walk.c.v).scalar_subquery()
    walk = walk.union_all(select(following).where(walk.c.v.is_not(None)))
    return [str(v) for v in session.scalars(select(walk.c.v).where(walk.c.v.is_not(None)))]


def _matches(key: str, typed: str) -> bool:
    words = " " + normalise(key)
    return not typed or (" " + typed) in words


def suggest(
    session: Session,
    field: SuggestField,
    prefix: str,
    principal: Principal,
    now: datetime,
    limit: int = 10,
) -> list[Suggestion]:
    """Up to `limit` values of `field` among visible datasets with a word starting `prefix`."""
    if not 1 <= limit <= MAX_SUGGESTIONS:
        raise InvalidQueryError(f"limit must be 1 to {MAX_SUGGESTIONS}")
    typed = normalise(prefix)
    value, key = _COLUMNS[field]
    keys = _distinct_keys(session, key)
    found: list[Suggestion] = []
    for candidate in [k for k in keys if _matches(k, typed)][:MAX_PROBES]:
        probe = select(value).where(key == candidate, visible_filter(principal, now)).limit(1)
        if field == "variable":
            probe = probe.join(Dataset, Dataset.id == Variable.dataset_id)
        shown = session.scalar(probe)
        if shown:
            found.append(Suggestion(value=str(shown)))
            if len(found) == limit:
                break
    return found
