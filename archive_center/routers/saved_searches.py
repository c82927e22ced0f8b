"""A signed-in user's saved searches: list, save, delete (`/api/v1/saved-searches`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field

from catalog.faces_models import SavedSearch
from catalog.saved_searches import (
    NewSavedSearch,
    create_saved_search,
    delete_saved_search,
    list_saved_searches,
)
from web.deps import NowDep, SessionDep, SignedInDep, forbid_unknown_query
from web.params import RowId
from web.responses import cache_headers

router = APIRouter(tags=["saved searches"])
ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "A filter the search does not have, or no way to be told"},
    401: {"description": "Not signed in"},
    404: {"description": "No such saved search of yours"},
}


class SavedSearchIn(BaseModel):
    """A search to save: its filters as the search's query string, and how to be told."""

    name: str = Field("", max_length=200)
    query: dict[str, str] = Field(default_factory=dict, description='e.g. {"platform": "C130"}')
    follow_embargoes: bool = True
    email: str = Field("", max_length=320, description="your address for notices (kept)")
    webhook_url: str = Field("", max_length=1000, description="POST signed JSON here instead")


class SavedSearchOut(BaseModel):
    """A saved search; `webhook_secret` only in the answer that created it."""

    id: int
    name: str
    query: dict[str, str]
    follow_embargoes: bool
    webhook_url: str
    created_at: datetime
    checked_at: datetime | None
    webhook_secret: str | None = None


def _out(saved: SavedSearch, secret: str | None = None) -> SavedSearchOut:
    return SavedSearchOut(
        id=saved.id,
        name=saved.name,
        query=saved.query,
        follow_embargoes=saved.follow_embargoes,
        webhook_url=saved.webhook_url,
        created_at=saved.created_at,
        checked_at=saved.checked_at,
        webhook_secret=secret or None,
    )


@router.get("/saved-searches", responses=ERRORS, dependencies=[forbid_unknown_query()])
def get_saved_searches(
    response: Response, session: SessionDep, user: SignedInDep
) -> list[SavedSearchOut]:
    """Your saved searches."""
    response.headers.update(cache_headers(False))
    return [_out(s) for s in list_saved_searches(session, user)]


@router.post(
    "/saved-searches", status_code=201, responses=ERRORS, dependencies=[forbid_unknown_query()]
)
def post_saved_search(
    body: SavedSearchIn, response: Response, session: SessionDep, user: SignedInDep, now: NowDep
) -> SavedSearchOut:
    """Save a search: you are told once of each new match (and each lifted embargo)."""
    request = NewSavedSearch(
        body.name, body.query, body.follow_embargoes, body.webhook_url, body.email
    )
    saved, secret = create_saved_search(session, user, request, now)
    response.headers.update(cache_headers(False))
    return _out(saved, secret)


@router.delete(
    "/saved-searches/{search_id}",
    status_code=204,
    responses=ERRORS,
    dependencies=[forbid_unknown_query()],
)
def remove_saved_search(search_id: RowId, session: SessionDep, user: SignedInDep) -> Response:
    """Delete one of your saved searches."""
    delete_saved_search(session, user, search_id)
    return Response(status_code=204, headers=cache_headers(False))
