"""Atom feeds: of any search (`/search.atom?...`, the search page's filters) and per center."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy.orm import Session

from archive_center.routers.datasets import search_params
from catalog.atom import FeedInfo, atom_feed, feed_datasets
from catalog.citations import recorded_dois
from catalog.models import Dataset
from catalog.schemas import SearchParams
from web.deps import NowDep, PrincipalDep, SessionDep, SettingsDep, forbid_unknown_query
from web.links import API_LINKS
from web.responses import cache_headers
from web.search_query import SEARCH_QUERY, search_query

router = APIRouter(tags=["feeds"])
ATOM = "application/atom+xml; charset=utf-8"
FEED_ANSWER: dict[int | str, dict[str, Any]] = {
    200: {"description": "An Atom feed", "content": {"application/atom+xml": {}}}
}


def _feed(
    request: Request,
    session: Session,
    datasets: list[Dataset],
    title: str,
    page: str,
    now: datetime,
) -> Response:
    base = str(request.base_url).rstrip("/")
    info = FeedInfo(
        self_url=str(request.url),
        page_url=f"{base}{page}",
        title=title,
        base_url=base,
        api_dataset=API_LINKS.dataset("{id}"),
    )
    return Response(
        atom_feed(datasets, info, now, recorded_dois(session, datasets)),
        media_type=ATOM,
        headers=cache_headers(False),
    )


@router.get(
    "/search.atom",
    response_class=Response,
    responses=FEED_ANSWER,
    dependencies=[forbid_unknown_query(*SEARCH_QUERY)],
)
def search_feed(
    request: Request,
    params: Annotated[SearchParams, Depends(search_params)],
    session: SessionDep,
    principal: PrincipalDep,
    settings: SettingsDep,
    now: NowDep,
) -> Response:
    """The newest new and changed datasets of a search, as the caller may see them."""
    found = feed_datasets(session, params, principal, now, settings.standards.feed_size)
    query = urlencode(search_query(params.model_copy(update={"facets": True})))
    title = f"{settings.center_name}: datasets" + (f" ({query})" if query else "")
    return _feed(request, session, found, title, "/search" + (f"?{query}" if query else ""), now)


@router.get(
    "/centers/{code}.atom",
    response_class=Response,
    responses=FEED_ANSWER,
    dependencies=[forbid_unknown_query()],
)
def center_feed(
    code: str,
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    settings: SettingsDep,
    now: NowDep,
) -> Response:
    """The newest new and changed datasets of one center (by its code), here or mirrored."""
    params = SearchParams(center=code, facets=False)
    found = feed_datasets(session, params, principal, now, settings.standards.feed_size)
    title = f"{settings.center_name}: datasets of {code.upper()}"
    return _feed(request, session, found, title, f"/search?center={code.upper()}", now)
