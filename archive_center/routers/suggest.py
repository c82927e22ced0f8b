"""`GET /suggestions`: autocomplete for the platform, instrument, PI and variable boxes."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from catalog.suggest import MAX_SUGGESTIONS, SuggestField, Suggestion, suggest
from web.deps import NowDep, PrincipalDep, SessionDep, forbid_unknown_query

router = APIRouter(tags=["datasets"])

ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "Bad query"},
    422: {"description": "Invalid parameters"},
}


@router.get(
    "/suggestions",
    responses=ERRORS,
    dependencies=[forbid_unknown_query("field", "prefix", "limit")],
)
def list_suggestions(
    field: SuggestField,
    session: SessionDep,
    principal: PrincipalDep,
    now: NowDep,
    prefix: Annotated[str, Query(max_length=200, description="what was typed so far")] = "",
    limit: Annotated[int, Query(ge=1, le=MAX_SUGGESTIONS)] = 10,
) -> list[Suggestion]:
    """Values of `field` among the datasets the caller may see, with a word starting `prefix`."""
    return suggest(session, field, prefix, principal, now, limit)
