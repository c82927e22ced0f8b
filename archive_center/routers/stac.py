"""The STAC API at `/stac`: landing page, conformance, collections, items and item search.

Built with plain routes over `catalog.stac` (the JSON search's clauses and access policy),
not stac-fastapi: its application framework owns the app, the search and the database
backend, where FieldCat needs its own search, policy, admission control and error shapes
under one FastAPI app (docs/standards.md says more).
"""

from __future__ import annotations

import json
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Body, Query, Request
from fastapi.responses import JSONResponse

from archive_center.routers.query import as_utc
from catalog.citations import recorded_dois
from catalog.errors import InvalidQueryError, NotFoundError
from catalog.schemas import Principal
from catalog.search import parse_bbox
from catalog.stac import (
    CONFORMANCE,
    STAC_VERSION,
    StacLinks,
    StacPage,
    StacQuery,
    collection_json,
    collections,
    geometry_bbox,
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
OPENAPI = "application/vnd.oai.openapi+json;version=3.0"
SEARCH_NAMES = ("bbox", "intersects", "datetime", "ids", "collections", "limit", "token")
ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "Bad query"},
    404: {"description": "No such collection or item"},
}
GEOJSON_ANSWER: dict[int | str, dict[str, Any]] = ERRORS | {
    200: {"description": "GeoJSON (STAC items)", "content": {"application/geo+json": {}}}
}


def stac_links(request: Request) -> StacLinks:
    """Absolute links from the URL the caller used (any listener, any host name)."""
    base = str(request.base_url).rstrip("/")
    return StacLinks(root=f"{base}/stac", base_url=base, api=API_LINKS)


def _json(body: dict[str, Any], media_type: str = "application/json") -> JSONResponse:
    return JSONResponse(body, media_type=media_type, headers=cache_headers(False))


def _csv(text: str | None) -> tuple[str, ...]:
    return tuple(p.strip() for p in (text or "").split(",") if p.strip())


def _box(bbox: Any, intersects: Any) -> tuple[float, float, float, float] | None:
    """The search box: `bbox`, or the box of the `intersects` geometry (never both)."""
    if intersects is None:
        return _edges(bbox)
    if bbox:
        raise InvalidQueryError("bbox and intersects exclude each other")
    if isinstance(intersects, str):
        try:
            intersects = json.loads(intersects)
        except ValueError as err:
            raise InvalidQueryError("intersects must be GeoJSON") from err
    west, south, east, north = geometry_bbox(intersects)
    return parse_bbox(f"{west!r},{south!r},{east!r},{north!r}")


def _limit(value: Any) -> int:
    """A page size: an integer of at least 1 (a larger one than the cap is served capped)."""
    if isinstance(value, bool):
        raise InvalidQueryError("limit must be an integer")
    try:
        limit = int(value)
    except (TypeError, ValueError) as err:
        raise InvalidQueryError("limit must be an integer") from err
    if limit < 1:
        raise InvalidQueryError("limit must be at least 1")
    return limit


def _edges(bbox: str | list[Any] | None) -> tuple[float, float, float, float] | None:
    """A 2D (4 numbers) or 3D (6: heights dropped) box, from text or a JSON list; else 400."""
    if bbox is None or bbox == "":
        return None
    if isinstance(bbox, str):
        if bbox.strip().startswith("["):
            raise InvalidQueryError("bbox is comma-separated numbers, without brackets")
        parts: list[Any] = bbox.split(",")
    elif isinstance(bbox, list):
        parts = bbox
    else:
        raise InvalidQueryError("bbox must be a list of 4 or 6 numbers")
    try:
        numbers = [float(p) for p in parts]
    except (TypeError, ValueError) as err:
        raise InvalidQueryError("bbox must be numbers") from err
    if len(numbers) == 6:
        numbers = [numbers[0], numbers[1], numbers[3], numbers[4]]
    if len(numbers) != 4:
        raise InvalidQueryError("bbox must have 4 (or 6) numbers")
    return parse_bbox(",".join(repr(n) for n in numbers))


def _query(
    bbox: tuple[float, float, float, float] | None,
    datetime_text: str | None,
    ids: tuple[str, ...],
    collections_: tuple[str, ...],
    limit: int,
    token: str | None,
) -> StacQuery:
    start = end = None
    if datetime_text is not None:
        start, end = parse_datetime_interval(datetime_text)
    return StacQuery(
        bbox=bbox,
        start=as_utc(start),
        end=as_utc(end),
        ids=ids,
        collections=collections_,
        limit=limit,
        token=token,
    )


def _page_json(
    page: StacPage,
    request: Request,
    session: Any,
    principal: Principal,
    now: Any,
    wanted: tuple[str, ...] = (),
) -> dict[str, Any]:
    links = stac_links(request)
    known = origins(session)
    dois = recorded_dois(session, page.datasets)
    features = [
        stac_item(d, known, links, principal, now, wanted, dois.get(d.id, ""))
        for d in page.datasets
    ]
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
def landing_page(
    request: Request, session: SessionDep, principal: PrincipalDep, now: NowDep
) -> JSONResponse:
    """The STAC landing page: what this node offers, its collections as children."""
    links = stac_links(request)
    root = links.root
    children = [
        {
            "rel": "child",
            "href": f"{root}/collections/{c.id}",
            "type": "application/json",
            "title": c.title,
        }
        for c in collections(session, principal, now)
    ]
    own = [
        ("self", root, "application/json", ""),
        ("root", root, "application/json", ""),
        ("conformance", f"{root}/conformance", "application/json", ""),
        ("data", f"{root}/collections", "application/json", ""),
        ("search", f"{root}/search", GEOJSON, "GET"),
        ("service-desc", f"{root}/api", OPENAPI, ""),
        ("service-doc", f"{links.base_url}/docs", "text/html", ""),
    ]
    body = {
        "type": "Catalog",
        "stac_version": STAC_VERSION,
        "id": "fieldcat",
        "title": "FieldCat STAC API",
        "description": "Field-campaign datasets of this center and the centers it mirrors",
        "conformsTo": list(CONFORMANCE),
        "links": [
            {"rel": r, "href": h, "type": t} | ({"method": m} if m else {}) for r, h, t, m in own
        ]
        + [{"rel": "search", "href": f"{root}/search", "type": GEOJSON, "method": "POST"}]
        + children,
    }
    return _json(body)


@router.get(
    "/api",
    response_class=JSONResponse,
    responses={200: {"description": "OpenAPI 3", "content": {OPENAPI: {}}}},
    dependencies=[forbid_unknown_query()],
)
def service_description(request: Request) -> JSONResponse:
    """The node's OpenAPI document, as STAC's `service-desc` (with the OpenAPI media type)."""
    return _json(request.app.openapi(), OPENAPI)


@router.get("/conformance", dependencies=[forbid_unknown_query()])
def conformance() -> JSONResponse:
    """The conformance classes this API claims."""
    return _json({"conformsTo": list(CONFORMANCE)})


@router.get("/collections", dependencies=[forbid_unknown_query()])
def list_collections(
    request: Request, session: SessionDep, principal: PrincipalDep, now: NowDep
) -> JSONResponse:
    """Every campaign and platform collection the caller can see a dataset of."""
    links = stac_links(request)
    found = [collection_json(c, links) for c in collections(session, principal, now)]
    own = f"{links.root}/collections"
    return _json(
        {
            "collections": found,
            "links": [
                {"rel": "self", "href": own, "type": "application/json"},
                {"rel": "root", "href": links.root, "type": "application/json"},
            ],
        }
    )


def _collection(session: Any, principal: Principal, now: Any, collection_id: str) -> Any:
    for info in collections(session, principal, now):
        if info.id == collection_id:
            return info
    raise NotFoundError(f"no collection {collection_id!r}")


@router.get("/collections/{collection_id}", responses=ERRORS, dependencies=[forbid_unknown_query()])
def read_collection(
    collection_id: str, request: Request, session: SessionDep, principal: PrincipalDep, now: NowDep
) -> JSONResponse:
    """One collection and its extent."""
    info = _collection(session, principal, now, collection_id)
    return _json(collection_json(info, stac_links(request)))


@router.get(
    "/collections/{collection_id}/items",
    response_class=JSONResponse,
    responses=GEOJSON_ANSWER,
    dependencies=[forbid_unknown_query("bbox", "datetime", "limit", "token", "collections")],
)
def collection_items(
    collection_id: str,
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    now: NowDep,
    collections: str | None = None,
    bbox: str | None = None,
    datetime: str | None = None,
    limit: str = "10",
    token: Annotated[str | None, Query(max_length=500)] = None,
) -> JSONResponse:
    """The items of one collection, paged by a `next` link (`collections`, which some clients
    repeat here, may only name this collection)."""
    if set(_csv(collections)) - {collection_id}:
        raise InvalidQueryError("collections may only name this collection here")
    _collection(session, principal, now, collection_id)
    query = _query(_edges(bbox), datetime, (), (collection_id,), _limit(limit), token)
    page = search_items(session, query, principal, now)
    body = _page_json(page, request, session, principal, now, (collection_id,))
    if page.next_token:
        body["links"].append(_next_get(request, page.next_token))
    return _json(body, GEOJSON)


@router.get(
    "/collections/{collection_id}/items/{public_id}",
    response_class=JSONResponse,
    responses=GEOJSON_ANSWER,
    dependencies=[forbid_unknown_query()],
)
def read_item(
    collection_id: str,
    public_id: str,
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    now: NowDep,
) -> JSONResponse:
    """One item; 404 exactly as the JSON API when the caller may not see the dataset."""
    query = StacQuery(ids=(public_id,), collections=(collection_id,), limit=1)
    page = search_items(session, query, principal, now)
    if not page.datasets:
        raise NotFoundError(f"no item {public_id!r}")
    doi = recorded_dois(session, page.datasets).get(page.datasets[0].id, "")
    item = stac_item(
        page.datasets[0],
        origins(session),
        stac_links(request),
        principal,
        now,
        (collection_id,),
        doi,
    )
    return _json(item, GEOJSON)


@router.get(
    "/search",
    response_class=JSONResponse,
    responses=GEOJSON_ANSWER,
    dependencies=[forbid_unknown_query(*SEARCH_NAMES)],
)
def search_get(
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    now: NowDep,
    bbox: str | None = None,
    intersects: Annotated[str | None, Query(max_length=100_000)] = None,
    datetime: str | None = None,
    ids: str | None = None,
    collections: str | None = None,
    limit: str = "10",
    token: Annotated[str | None, Query(max_length=500)] = None,
) -> JSONResponse:
    """Item search by query string: bbox, datetime, ids, collections; paged by `next`."""
    query = _query(
        _box(bbox, intersects), datetime, _csv(ids), _csv(collections), _limit(limit), token
    )
    page = search_items(session, query, principal, now)
    body = _page_json(page, request, session, principal, now, query.collections)
    if page.next_token:
        body["links"].append(_next_get(request, page.next_token))
    return _json(body, GEOJSON)


def _strings(body: dict[str, Any], name: str) -> tuple[str, ...]:
    value = body.get(name)
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InvalidQueryError(f"{name} must be a list of strings")
    return tuple(value)


def body_query(body: dict[str, Any]) -> StacQuery:
    """A POST search body as a query; anything malformed is a 400, as STAC asks."""
    unknown = set(body) - set(SEARCH_NAMES)
    if unknown:
        raise InvalidQueryError(f"unknown search field {sorted(unknown)[0]}")
    limit, when = _limit(body.get("limit", 10)), body.get("datetime")
    if isinstance(body.get("bbox"), str):
        raise InvalidQueryError("bbox must be a JSON list of numbers")
    if when is not None and not isinstance(when, str):
        raise InvalidQueryError("datetime must be a string")
    token = body.get("token")
    if token is not None and (not isinstance(token, str) or len(token) > 500):
        raise InvalidQueryError("token must be the string a next link gave")
    box = _box(body.get("bbox"), body.get("intersects"))
    return _query(box, when, _strings(body, "ids"), _strings(body, "collections"), limit, token)


@router.post(
    "/search",
    response_class=JSONResponse,
    responses=GEOJSON_ANSWER,
    dependencies=[forbid_unknown_query()],
)
def search_post(
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    now: NowDep,
    body: Annotated[dict[str, Any], Body()],
) -> JSONResponse:
    """Item search by JSON body; the `next` link repeats the body with the page token."""
    query = body_query(body)
    page = search_items(session, query, principal, now)
    answer = _page_json(page, request, session, principal, now, query.collections)
    if page.next_token:
        nxt = body | {"token": page.next_token}
        answer["links"].append(
            {
                "rel": "next",
                "href": str(request.url),
                "type": GEOJSON,
                "method": "POST",
                "body": nxt,
                "merge": False,
            }
        )
    return _json(answer, GEOJSON)
