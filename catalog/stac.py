"""The catalog as STAC 1.0: collections per campaign and per platform, an item per dataset.

Items come from the same query as the JSON search (`catalog.search.filter_clauses`, so the
access policy's filter is the first clause), in the same order (newest start first, then
public id). An item shows what the caller may see of a dataset; its data assets point at the
API's data routes, which apply the policy again (an embargoed item's `data` answers 403 with
its release date). A mirrored record's assets point at its origin center.

The web layer passes `StacLinks` (where this node serves STAC and the API); nothing here
spells a URL path of its own.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, or_, select, tuple_
from sqlalchemy.orm import Session, selectinload

from catalog.access import can_read_data, effective_state
from catalog.errors import InvalidQueryError
from catalog.links import ResourceLinks
from catalog.models import Campaign, Center, Dataset
from catalog.schemas import Principal, SearchParams
from catalog.search import filter_clauses

STAC_VERSION = "1.1.0"
CONFORMANCE = (
    "https://api.stacspec.org/v1.0.0/core",
    "https://api.stacspec.org/v1.0.0/collections",
    "https://api.stacspec.org/v1.0.0/ogcapi-features",
    "https://api.stacspec.org/v1.0.0/item-search",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
)
MAX_LIMIT = 1000
SCIENTIFIC = "https://stac-extensions.github.io/scientific/v1.0.0/schema.json"
CAMPAIGN_PREFIX = "campaign-"
PLATFORM_PREFIX = "platform-"


@dataclass(frozen=True)
class StacLinks:
    """Absolute URLs of this node's STAC root and its API (from the web layer)."""

    root: str
    """The STAC landing page, e.g. `http://host/stac`."""
    base_url: str
    """This node's origin, e.g. `http://host`."""
    api: ResourceLinks


@dataclass(frozen=True)
class StacQuery:
    """An item search: bbox, datetime interval, ids, collections, limit, page token."""

    bbox: tuple[float, float, float, float] | None = None
    start: datetime | None = None
    end: datetime | None = None
    ids: tuple[str, ...] = ()
    collections: tuple[str, ...] = ()
    limit: int = 10
    token: str | None = None


@dataclass(frozen=True)
class StacPage:
    """One page of matching datasets and the token of the next page."""

    datasets: list[Dataset]
    next_token: str | None


@lru_cache(maxsize=4096)
def slug(value: str) -> str:
    """A collection id part: lower case, runs of other characters as one `-`."""
    return re.sub(r"[^a-z0-9]+", "-", value.strip().lower()).strip("-") or "unknown"


RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")


def _instant(text: str) -> datetime:
    if not RFC3339.match(text):
        raise InvalidQueryError("datetime must be RFC 3339 (date, time and zone)")
    try:
        return datetime.fromisoformat(text.upper().replace("Z", "+00:00"))
    except ValueError as err:
        raise InvalidQueryError("datetime must be RFC 3339") from err


def parse_datetime_interval(text: str) -> tuple[datetime | None, datetime | None]:
    """STAC `datetime`: one instant, or `start/end` with `..` or empty for one open end."""
    parts = [p.strip() for p in text.split("/")]
    if len(parts) > 2 or not text.strip():
        raise InvalidQueryError("datetime must be an instant or an interval start/end")
    if len(parts) == 1:
        instant = _instant(parts[0])
        return instant, instant
    if all(p in ("", "..") for p in parts):
        raise InvalidQueryError("a datetime interval needs at least one end")
    start, end = (None if p in ("", "..") else _instant(p) for p in parts)
    if start is not None and end is not None and start > end:
        raise InvalidQueryError("datetime interval starts after it ends")
    return start, end


GEOMETRY_TYPES = {"Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon"}


def _positions(coordinates: Any) -> list[tuple[float, float]]:
    if (
        isinstance(coordinates, list | tuple)
        and coordinates
        and isinstance(coordinates[0], int | float)
    ):
        if len(coordinates) < 2:
            raise InvalidQueryError("a position needs a longitude and a latitude")
        return [(float(coordinates[0]), float(coordinates[1]))]
    if not isinstance(coordinates, list | tuple):
        raise InvalidQueryError("intersects has malformed coordinates")
    return [p for part in coordinates for p in _positions(part)]


def _geometry_positions(geometry: Any) -> list[tuple[float, float]]:
    if isinstance(geometry, dict) and geometry.get("type") == "GeometryCollection":
        members = geometry.get("geometries")
        if not isinstance(members, list):
            raise InvalidQueryError("a GeometryCollection needs its geometries")
        return [p for member in members for p in _geometry_positions(member)]
    if not isinstance(geometry, dict) or geometry.get("type") not in GEOMETRY_TYPES:
        raise InvalidQueryError("intersects must be a GeoJSON geometry")
    return _positions(geometry.get("coordinates"))


def geometry_bbox(geometry: Any) -> tuple[float, float, float, float]:
    """The bounding box of a GeoJSON geometry (`intersects` is matched by its box)."""
    points = _geometry_positions(geometry)
    if not points:
        raise InvalidQueryError("intersects has no coordinates")
    lons, lats = [p[0] for p in points], [p[1] for p in points]
    return min(lons), min(lats), max(lons), max(lats)


def _encode_token(dataset: Dataset) -> str:
    raw = f"{dataset.start.isoformat()}|{dataset.public_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_token(token: str) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        start, public_id = raw.split("|", 1)
        return datetime.fromisoformat(start), public_id
    except (ValueError, binascii.Error, UnicodeDecodeError) as err:
        raise InvalidQueryError("not a page token of this search") from err


def _collection_clause(session: Session, collection_ids: Sequence[str]) -> ColumnElement[bool]:
    """Datasets in any of the collections (an unknown id matches nothing)."""
    wanted = set(collection_ids)
    clauses: list[ColumnElement[bool]] = []
    campaigns = [
        c for c in session.scalars(select(Campaign)) if CAMPAIGN_PREFIX + slug(c.code) in wanted
    ]
    if campaigns:
        clauses.append(Dataset.campaign_id.in_([c.id for c in campaigns]))
    if any(cid.startswith(PLATFORM_PREFIX) for cid in wanted):
        keys = session.scalars(select(Dataset.platform_key).distinct())
        chosen = [k for k in keys if PLATFORM_PREFIX + slug(k) in wanted]
        if chosen:
            clauses.append(Dataset.platform_key.in_(chosen))
    return or_(*clauses) if clauses else Dataset.id.is_(None)


def stac_clauses(
    session: Session, query: StacQuery, principal: Principal, now: datetime
) -> list[ColumnElement[bool]]:
    """The WHERE of an item search: the JSON search's own clauses, plus ids and collections."""
    params = SearchParams(bbox=query.bbox, start=query.start, end=query.end, facets=False)
    clauses = filter_clauses(session, params, principal, now)
    if query.ids:
        clauses.append(Dataset.public_id.in_(query.ids))
    if query.collections:
        clauses.append(_collection_clause(session, query.collections))
    return clauses


def _page_query(clauses: list[ColumnElement[bool]], query: StacQuery) -> Select[Dataset]:
    where = list(clauses)
    if query.token:
        start, public_id = _decode_token(query.token)
        where.append(tuple_(Dataset.start, Dataset.public_id) < tuple_(start, public_id))
    return (
        select(Dataset)
        .where(and_(*where))
        .order_by(Dataset.start.desc(), Dataset.public_id.desc())
        .limit(query.limit + 1)
        .options(selectinload(Dataset.variables))
    )


def search_items(
    session: Session, query: StacQuery, principal: Principal, now: datetime
) -> StacPage:
    """One page of the datasets the caller may see that match an item search.

    A `limit` above `MAX_LIMIT` is served as `MAX_LIMIT` (STAC API: a server may cap it)."""
    if query.limit < 1:
        raise InvalidQueryError("limit must be at least 1")
    if query.limit > MAX_LIMIT:
        query = StacQuery(**{**query.__dict__, "limit": MAX_LIMIT})
    rows = list(session.scalars(_page_query(stac_clauses(session, query, principal, now), query)))
    token = _encode_token(rows[query.limit - 1]) if len(rows) > query.limit else None
    return StacPage(rows[: query.limit], token)


def _geometry(dataset: Dataset) -> tuple[dict[str, Any] | None, list[float] | None]:
    w, s, e, n = dataset.west, dataset.south, dataset.east, dataset.north
    if w is None or s is None or e is None or n is None:
        return None, None

    def ring(west: float, east: float) -> list[list[float]]:
        return [[west, s], [east, s], [east, n], [west, n], [west, s]]

    if w == e and s == n:
        return {"type": "Point", "coordinates": [w, s]}, [w, s, e, n]
    if w == e or s == n:
        return {"type": "LineString", "coordinates": [[w, s], [e, n]]}, [w, s, e, n]
    if w <= e:
        return {"type": "Polygon", "coordinates": [ring(w, e)]}, [w, s, e, n]
    parts = [[ring(w, 180.0)], [ring(-180.0, e)]]  # crosses the antimeridian (RFC 7946 3.1.9)
    return {"type": "MultiPolygon", "coordinates": parts}, [w, s, e, n]


def _asset_base(dataset: Dataset, origins: dict[str, Center], links: StacLinks) -> str:
    origin = origins.get(dataset.origin_center)
    if origin is not None and not origin.is_local and origin.base_url:
        return origin.base_url.rstrip("/")
    return links.base_url


def _assets(dataset: Dataset, base: str, links: StacLinks) -> dict[str, Any]:
    data = base + links.api.dataset(dataset.public_id, "data")
    plot = base + links.api.dataset(dataset.public_id, "plot")
    return {
        "original": {
            "href": data + "?format=original",
            "title": "Original file, as submitted",
            "type": "text/plain",
            "roles": ["data"],
        },
        "netcdf": {
            "href": data + "?format=netcdf",
            "title": "CF/ACDD NetCDF",
            "type": "application/x-netcdf",
            "roles": ["data"],
        },
        "quicklook": {
            "href": plot + "?format=png",
            "title": "Quick-look plot",
            "type": "image/png",
            "roles": ["overview"],
        },
    }


def _properties(dataset: Dataset, principal: Principal, now: datetime) -> dict[str, Any]:
    release = dataset.release_at.isoformat() if dataset.release_at else None
    return {
        "title": dataset.title or f"{dataset.platform} {dataset.instrument}",
        "description": dataset.summary or None,
        "datetime": dataset.start.isoformat(),
        "start_datetime": dataset.start.isoformat(),
        "end_datetime": dataset.stop.isoformat(),
        "created": dataset.created.isoformat(),
        "updated": dataset.updated.isoformat(),
        "platform": dataset.platform,
        "instruments": [dataset.instrument] if dataset.instrument else [],
        "providers": [{"name": dataset.origin_center, "roles": ["host", "producer"]}],
        "fieldcat:pi": dataset.pi_name,
        "fieldcat:campaign": dataset.campaign.code,
        "fieldcat:did": dataset.did,
        "fieldcat:access": effective_state(dataset, now).value,
        "fieldcat:release_at": release,
        "fieldcat:data_readable": can_read_data(principal, dataset, now),
        "fieldcat:variables": [v.name for v in dataset.variables],
        "fieldcat:version": dataset.data_version,
    }


def item_collections(dataset: Dataset) -> tuple[str, str]:
    """The two collections a dataset's item is in: its platform's, then its campaign's."""
    platform = PLATFORM_PREFIX + slug(dataset.platform_key or dataset.platform)
    return platform, CAMPAIGN_PREFIX + slug(dataset.campaign.code)


def item_collection_id(dataset: Dataset, wanted: Sequence[str] = ()) -> str:
    """The collection an item is shown in: the first of `wanted` it is in, else its
    platform's. An item is in its platform's and its campaign's collection (STAC identifies
    an item by collection and id, so the same dataset may be listed under both)."""
    mine = item_collections(dataset)
    return next((cid for cid in wanted if cid in mine), mine[0])


def stac_item(
    dataset: Dataset,
    origins: dict[str, Center],
    links: StacLinks,
    principal: Principal,
    now: datetime,
    wanted: Sequence[str] = (),
    doi: str = "",
) -> dict[str, Any]:
    """One dataset as a STAC Item, in the first of the `wanted` collections it is in; with
    its DOI (the scientific extension's `sci:doi`) when one is recorded."""
    geometry, bbox = _geometry(dataset)
    collection = item_collection_id(dataset, wanted)
    own = f"{links.root}/collections/{collection}/items/{dataset.public_id}"
    base = _asset_base(dataset, origins, links)
    item: dict[str, Any] = {
        "type": "Feature",
        "stac_version": STAC_VERSION,
        "stac_extensions": [],
        "id": dataset.public_id,
        "geometry": geometry,
        "properties": {
            k: v for k, v in _properties(dataset, principal, now).items() if v is not None
        },
        "collection": collection,
        "assets": _assets(dataset, base, links),
        "links": [
            {"rel": "self", "href": own, "type": "application/geo+json"},
            {
                "rel": "parent",
                "href": f"{links.root}/collections/{collection}",
                "type": "application/json",
            },
            {
                "rel": "collection",
                "href": f"{links.root}/collections/{collection}",
                "type": "application/json",
            },
            {"rel": "root", "href": links.root, "type": "application/json"},
            {
                "rel": "alternate",
                "href": base + links.api.dataset(dataset.public_id),
                "type": "application/json",
                "title": "FieldCat JSON record",
            },
            {
                "rel": "via",
                "href": f"{base}/datasets/{dataset.public_id}",
                "type": "text/html",
                "title": "Dataset page",
            },
        ],
    }
    if bbox is not None:
        item["bbox"] = bbox
    if doi:
        item["stac_extensions"] = [SCIENTIFIC]
        item["properties"]["sci:doi"] = doi
        item["links"].append({"rel": "cite-as", "href": f"https://doi.org/{doi}"})
    return item


def origins(session: Session) -> dict[str, Center]:
    """Every center this node knows, by code (where a mirrored item's assets live)."""
    return {c.code: c for c in session.scalars(select(Center))}


@dataclass(frozen=True)
class CollectionInfo:
    """A collection and the extent of the visible datasets in it."""

    id: str
    title: str
    description: str
    bbox: list[float]
    start: datetime | None
    end: datetime | None
    count: int


def _extent_columns() -> tuple[Any, ...]:
    d = Dataset
    return (
        func.min(d.west),
        func.min(d.south),
        func.max(d.east),
        func.max(d.north),
        func.min(d.start),
        func.max(d.stop),
        func.count(d.id),
    )


def _info(cid: str, title: str, description: str, row: Any) -> CollectionInfo:
    west, south, east, north, start, end, count = row
    known = None not in (west, south, east, north)
    bbox = [west, south, east, north] if known else [-180.0, -90.0, 180.0, 90.0]
    return CollectionInfo(cid, title, description, bbox, start, end, count)


def collections(session: Session, principal: Principal, now: datetime) -> list[CollectionInfo]:
    """Every campaign and platform the caller can see a dataset of, with its extent.

    A platform's extent is the union of its datasets' boxes taken edge by edge, so a platform
    whose datasets cross the antimeridian reads as the whole longitude range it spans.
    """
    visible = filter_clauses(session, SearchParams(facets=False), principal, now)
    found: list[CollectionInfo] = []
    by_campaign = (
        select(Campaign.code, Campaign.name, *_extent_columns())
        .join(Campaign, Campaign.id == Dataset.campaign_id)
        .where(*visible)
        .group_by(Campaign.code, Campaign.name)
        .order_by(Campaign.code)
    )
    for code, name, *extent in session.execute(by_campaign):
        found.append(
            _info(
                CAMPAIGN_PREFIX + slug(code),
                f"{code} campaign",
                f"Every dataset of the {name or code} field campaign",
                extent,
            )
        )
    by_platform = (
        select(func.min(Dataset.platform), Dataset.platform_key, *_extent_columns())
        .where(*visible)
        .group_by(Dataset.platform_key)
        .order_by(Dataset.platform_key)
    )
    for platform, _key, *extent in session.execute(by_platform):
        found.append(
            _info(
                PLATFORM_PREFIX + slug(_key),
                f"Platform {platform}",
                f"Every dataset from the platform {platform}",
                extent,
            )
        )
    return found


def collection_json(info: CollectionInfo, links: StacLinks) -> dict[str, Any]:
    """One collection as a STAC Collection."""
    own = f"{links.root}/collections/{info.id}"
    interval = [
        info.start.isoformat() if info.start else None,
        info.end.isoformat() if info.end else None,
    ]
    return {
        "type": "Collection",
        "stac_version": STAC_VERSION,
        "stac_extensions": [],
        "id": info.id,
        "title": info.title,
        "description": info.description,
        "license": "other",
        "extent": {"spatial": {"bbox": [info.bbox]}, "temporal": {"interval": [interval]}},
        "summaries": {"fieldcat:datasets": [info.count]},
        "links": [
            {"rel": "self", "href": own, "type": "application/json", "title": info.title},
            {"rel": "root", "href": links.root, "type": "application/json", "title": "FieldCat"},
            {"rel": "parent", "href": links.root, "type": "application/json", "title": "FieldCat"},
            {
                "rel": "items",
                "href": f"{own}/items",
                "type": "application/geo+json",
                "title": f"Datasets of {info.title}",
            },
        ],
    }
