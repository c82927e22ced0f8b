"""Suggestions (autocomplete) for the platform, instrument, PI and variable boxes.

Built from what the caller may see: every statement starts from the access policy's filter,
so a private dataset's PI or platform is never suggested to someone who may not see it.
A value matches when one of its words starts with what was typed, compared in normalised
form (`C-1` finds `NCAR C-130`, `holl` finds `Dr. J. Hollis`); values come most used first.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel
from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import Session

from catalog.access import visible_filter
from catalog.errors import InvalidQueryError
from catalog.fulltext import normalise
from catalog.models import Dataset, Variable
from catalog.schemas import Principal

SuggestField = Literal["platform", "instrument", "pi", "variable"]
MAX_SUGGESTIONS = 20
_COLUMNS = {
    "platform": (Dataset.platform, Dataset.platform_key),
    "instrument": (Dataset.instrument, Dataset.instrument_key),
    "pi": (Dataset.pi_name, Dataset.pi_key),
    "variable": (Variable.name, Variable.name_key),
}


class Suggestion(BaseModel):
    """A value the box may take, and how many visible datasets carry it."""

    value: str
    count: int


def _starts_a_word(key: ColumnElement[str], prefix: str) -> ColumnElement[bool]:
    """`key` (lower case) has a word starting with `prefix`; punctuation is not a word."""
    squeezed = func.replace(func.replace(key, "-", ""), "/", "")
    return or_(
        squeezed.startswith(prefix, autoescape=True),
        squeezed.contains(" " + prefix, autoescape=True),
        key.startswith(prefix, autoescape=True),
        key.contains(" " + prefix, autoescape=True),
    )


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
    query = select(func.min(value), func.count()).where(visible_filter(principal, now))
    if field == "variable":
        query = query.select_from(Variable).join(Dataset, Dataset.id == Variable.dataset_id)
    if typed:
        query = query.where(_starts_a_word(key, typed))
    rows = session.execute(
        query.group_by(key).order_by(func.count().desc(), key).limit(limit)
    ).all()
    return [Suggestion(value=str(v), count=int(c)) for v, c in rows if v]
