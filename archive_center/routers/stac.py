"""The STAC API at `/stac`: landing page, conformance, collections, items and item search.

Built with plain routes over `catalog.stac` (the JSON search's clauses and access policy),
not stac-fastapi: its application framework owns the app, the search and the database
backend, where FieldCat needs its own search, policy, admission control and error shapes
under one FastAPI app (docs/standards.md says more).
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from archive_center.routers.query import as_utc, parse_bbox
from catalog.errors import InvalidQueryError, NotFoundError
from catalog.schemas import Principal
from catalog.stac import (
    CONFORMANCE,
    STAC_VERSION,
    StacLinks,
    StacPage,
    StacQuery,
    collection_json,
    collections,
    origins,
    parse_datetime_interval,
    search_items,
    stac_item,
)
from web.deps import NowDep, PrincipalDep, SessionDep, forbid_unknown_query
from web.links import API_LINKS
from web.responses import cache_headers

router = APIRouter(prefix="/stac", tags=["stac"])
GEOJSON = "application/geo+json"
SEARCH_NAMES = ("bbox", "datetime", "ids", "collections", "limit", "token")
ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "Bad query"},
    404: {"description": "No such collection or item"},
}


def stac_links(request: Request) -> StacLinks:
    """Absolute links from the URL the caller used (any listener, any host name)."""
    base = str(request.base_url).rstrip("/")
    return StacLinks(root=f"{base}/stac", base_url=base, api=API_LINKS)


def _json(body: dict[str, Any], media_type: str = "application/json") -> JSONResponse:
    return JSONResponse(body, media_type=media_type, headers=cache_headers(False))


def _csv(text: str | None) -> tuple[str, ...]:
    return tuple(p.strip() for p in (text or "").split(",") if p.strip())


def _query(
    bbox: str | None,
    datetime_text: str | None,
    ids: tuple[str, ...],
    collections_: tuple[str, ...],
    limit: int,
    token: str | None,
) -> StacQuery:
    start = end = None
    if datetime_text:
        start, end = parse_datetime_interval(datetime_text)
    return StacQuery(
        bbox=parse_bbox(bbox), start=as_utc(start), end=as_utc(end), ids=ids,
        collections=collections_, limit=limit, token=token,
    )  # fmt: skip


def _page_json(
    page: StacPage, request: Request, session: Any, principal: Principal, now: Any
) -> dict[str, Any]:
    links = stac_links(request)
    known = origins(session)
    features = [stac_item(d, known, links, principal, now) for d in page.datasets]
    body: dict[str, Any] = {
        "type": "FeatureCollection",
        "features": features,
        "numberReturned": len(features),
        "links": [
            {"rel": "root", "href": links.root, "type": "application/json"},
            {"rel": "self", "href": str(request.url), "type": GEOJSON},
        ],
    }
    return body


def _next_get(request: Request, token: str) -> dict[str, Any]:
    params = {k: v for k, v in request.query_params.items() if k != "token"} | {"token": token}
    href = str(request.url.replace(query=urlencode(params)))
    return {"rel": "next", "href": href, "type": GEOJSON, "method": "GET"}


@router.get("", responses=ERRORS, dependencies=[forbid_unknown_query()])
def landing_page(request: Request, session: SessionDep, principal: PrincipalDep,
                 now: NowDep) -> JSONResponse:  # fmt: skip
    """The STAC landing page: what this node offers, its collections as children."""
    links = stac_links(request)
    root = links.root
    children = [
        {"rel": "child", "href": f"{root}/collections/{c.id}", "type": "application/json",
         "title": c.title}
        for c in collections(session, principal, now)
    ]  # fmt: skip
    own = [
        ("self", root, "application/json"), ("root", root, "application/json"),
        ("conformance", f"{root}/conformance", "application/json"),
        ("data", f"{root}/collections", "application/json"),
        ("search", f"{root}/search", GEOJSON),
        ("service-desc", f"{links.base_url}/openapi.json", "application/vnd.oai.openapi+json;version=3.0"),
    ]  # fmt: skip
    body = {
        "type": "Catalog", "stac_version": STAC_VERSION, "id": "fieldcat",
        "title": "FieldCat STAC API", "description": "Field-campaign datasets of this center "
        "and the centers it mirrors", "conformsTo": list(CONFORMANCE),
        "links": [{"rel": r, "href": h, "type": t} for r, h, t in own]
        + [{"rel": "search", "href": f"{root}/search", "type": GEOJSON, "method": "POST"}]
        + children,
    }  # fmt: skip
    return _json(body)


@router.get("/conformance", dependencies=[forbid_unknown_query()])
def conformance() -> JSONResponse:
    """The conformance classes this API claims."""
    return _json({"conformsTo": list(CONFORMANCE)})


@router.get("/collections", dependencies=[forbid_unknown_query()])
def list_collections(request: Request, session: SessionDep, principal: PrincipalDep,
                     now: NowDep) -> JSONResponse:  # fmt: skip
    """Every campaign and platform collection the caller can see a dataset of."""
    links = stac_links(request)
    found = [collection_json(c, links) for c in collections(session, principal, now)]
    own = f"{links.root}/collections"
    return _json({
        "collections": found,
        "links": [{"rel": "self", "href": own, "type": "application/json"},
                  {"rel": "root", "href": links.root, "type": "application/json"}],
    })  # fmt: skip


def _collection(session: Any, principal: Principal, now: Any, collection_id: str) -> Any:
    for info in collections(session, principal, now):
        if info.id == collection_id:
            return info
    raise NotFoundError(f"no collection {collection_id!r}")


@router.get("/collections/{collection_id}", responses=ERRORS, dependencies=[forbid_unknown_query()])
def read_collection(collection_id: str, request: Request, session: SessionDep,
                    principal: PrincipalDep, now: NowDep) -> JSONResponse:  # fmt: skip
    """One collection and its extent."""
    info = _collection(session, principal, now, collection_id)
    return _json(collection_json(info, stac_links(request)))


@router.get(
    "/collections/{collection_id}/items",
    responses=ERRORS,
    dependencies=[forbid_unknown_query("bbox", "datetime", "limit", "token")],
)
def collection_items(
    collection_id: str,
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    now: NowDep,
    bbox: str | None = None,
    datetime: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 10,
    token: Annotated[str | None, Query(max_length=500)] = None,
) -> JSONResponse:
    """The items of one collection, paged by a `next` link."""
    _collection(session, principal, now, collection_id)
    query = _query(bbox, datetime, (), (collection_id,), limit, token)
    page = search_items(session, query, principal, now)
    body = _page_json(page, request, session, principal, now)
    if page.next_token:
        body["links"].append(_next_get(request, page.next_token))
    return _json(body, GEOJSON)


@router.get(
    "/collections/{collection_id}/items/{item_id}",
    responses=ERRORS,
    dependencies=[forbid_unknown_query()],
)
def read_item(collection_id: str, item_id: str, request: Request, session: SessionDep,
              principal: PrincipalDep, now: NowDep) -> JSONResponse:  # fmt: skip
    """One item; 404 exactly as the JSON API when the caller may not see the dataset."""
    query = StacQuery(ids=(item_id,), collections=(collection_id,), limit=1)
    page = search_items(session, query, principal, now)
    if not page.datasets:
        raise NotFoundError(f"no item {item_id!r}")
    item = stac_item(page.datasets[0], origins(session), stac_links(request), principal, now)
    return _json(item, GEOJSON)


@router.get("/search", responses=ERRORS, dependencies=[forbid_unknown_query(*SEARCH_NAMES)])
def search_get(
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    now: NowDep,
    bbox: str | None = None,
    datetime: str | None = None,
    ids: str | None = None,
    collections: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 10,
    token: Annotated[str | None, Query(max_length=500)] = None,
) -> JSONResponse:
    """Item search by query string: bbox, datetime, ids, collections; paged by `next`."""
    query = _query(bbox, datetime, _csv(ids), _csv(collections), limit, token)
    page = search_items(session, query, principal, now)
    body = _page_json(page, request, session, principal, now)
    if page.next_token:
        body["links"].append(_next_get(request, page.next_token))
    return _json(body, GEOJSON)


class SearchBody(BaseModel):
    """Item search as a JSON body (the STAC API's POST form)."""

    bbox: list[float] | None = Field(None, min_length=4, max_length=4)
    datetime: str | None = None
    ids: list[str] | None = None
    collections: list[str] | None = None
    limit: int = Field(10, ge=1, le=1000)
    token: str | None = Field(None, max_length=500)


@router.post("/search", responses=ERRORS, dependencies=[forbid_unknown_query()])
def search_post(body: SearchBody, request: Request, session: SessionDep,
                principal: PrincipalDep, now: NowDep) -> JSONResponse:  # fmt: skip
    """Item search by JSON body; the `next` link repeats the body with the page token."""
    box = ",".join(f"{v:g}" for v in body.bbox) if body.bbox else None
    if body.datetime is not None and not body.datetime.strip():
        raise InvalidQueryError("datetime must not be empty")
    query = _query(box, body.datetime, tuple(body.ids or ()), tuple(body.collections or ()),
                   body.limit, body.token)  # fmt: skip
    page = search_items(session, query, principal, now)
    answer = _page_json(page, request, session, principal, now)
    if page.next_token:
        nxt = body.model_dump(exclude_none=True) | {"token": page.next_token}
        answer["links"].append({"rel": "next", "href": str(request.url), "type": GEOJSON,
                                "method": "POST", "body": nxt, "merge": False})  # fmt: skip
    return _json(answer, GEOJSON)
