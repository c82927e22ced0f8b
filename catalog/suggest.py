"""Suggestions (autocomplete) for the platform, instrument, PI and variable boxes.

Built from what the caller may see, and never from the dataset rows: the values come from
the facet tallies (`catalog.facet_tallies`), summed over the visibility classes the caller
sees (the shared class; staff also the hidden one), plus, for a signed-in user who is not
staff, the values of their own private datasets from an exact, indexed probe (the only
hidden records `visible_filter` lets them see). So a private dataset's PI or platform is
never suggested to someone who may not see it. A value matches when one of its words starts
with what was typed, compared in normalised form (`C-1` finds `NCAR C-130`, `holl` finds
`Dr. J. Hollis`). Spellings that differ only in case are one value (the most common
spelling is shown, as in the facets); values come in alphabetical order of that folded form.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Literal

from pydantic import BaseModel
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from catalog.access import PRIVILEGED, AccessState, visibility_key, visible_filter
from catalog.errors import InvalidQueryError
from catalog.facet_models import FacetTally
from catalog.fulltext import normalise
from catalog.models import Dataset, Variable, fold
from catalog.schemas import Principal

SuggestField = Literal["platform", "instrument", "pi", "variable"]
MAX_SUGGESTIONS = 20
_OWN_COLUMNS = {
    "platform": Dataset.platform,
    "instrument": Dataset.instrument,
    "pi": Dataset.pi_name,
    "variable": Variable.name,
}
"""The column of each box, for the exact probe of the caller's own private datasets."""


class Suggestion(BaseModel):
    """A value the box may take."""

    value: str


def _visible_values(
    session: Session, field: SuggestField, principal: Principal, now: datetime
) -> Counter[str]:
    """Every value of `field` the caller may see, with how many rows carry it."""
    staff = principal.role in PRIVILEGED
    tallied = (
        select(FacetTally.value, func.sum(FacetTally.n))
        .where(FacetTally.facet == field, FacetTally.value.is_not(None))
        .group_by(FacetTally.value)
        .having(func.sum(FacetTally.n) > 0)
    )
    if not staff:
        tallied = tallied.where(FacetTally.shared.is_(True))
    values: Counter[str] = Counter({str(v): int(n) for v, n in session.execute(tallied)})
    if not staff and visibility_key(principal) != "shared":
        column = _OWN_COLUMNS[field]
        own = (
            select(column, func.count())
            .where(
                Dataset.access_state == AccessState.PRIVATE.value,
                visible_filter(principal, now),
                column.is_not(None),
            )
            .group_by(column)
        )
        if field == "variable":
            own = own.join_from(Variable, Dataset, Dataset.id == Variable.dataset_id)
        values.update({str(v): int(n) for v, n in session.execute(own)})
    return values


def _matches(value: str, typed: str) -> bool:
    return not typed or (" " + typed) in " " + normalise(value)


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
    spellings: dict[str, Counter[str]] = {}
    for value, count in _visible_values(session, field, principal, now).items():
        if _matches(value, typed):
            spellings.setdefault(fold(value) or "", Counter())[value] += count
    chosen = sorted(spellings.items())[:limit]
    return [Suggestion(value=counts.most_common(1)[0][0]) for _, counts in chosen]
