"""Search, one dataset, its data (streamed, subset, converted) and its quick-look plot."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse, RedirectResponse, StreamingResponse
from pydantic import ValidationError

from archive_center.routers.query import (
    as_utc,
    check_window,
    parse_bbox,
    parse_names,
    validation_errors_as_query,
)
from catalog.citations import CITATION_FORMATS
from catalog.download_formats import DownloadFormat
from catalog.downloads import DownloadRequest, prepare_download
from catalog.navigation import position_enricher
from catalog.plots import MAX_PAGES, PLOT_FORMATS, get_plot
from catalog.schemas import DatasetDetail, SearchPage, SearchParams
from catalog.search import get_citation, get_dataset, search_datasets
from catalog.sorting import SortKey
from catalog.track_views import track_feature
from formats.flag_columns import FlagMode
from web.deps import (
    NowDep,
    PrincipalDep,
    SessionDep,
    StoreDep,
    forbid_unknown_query,
)
from web.links import API_LINKS
from web.responses import cache_headers, download_response
from web.search_query import SEARCH_QUERY

router = APIRouter(tags=["datasets"])

ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "Bad query"},
    404: {"description": "No such dataset"},
    422: {"description": "Invalid parameters"},
}
DATA_ERRORS: dict[int | str, dict[str, Any]] = ERRORS | {
    403: {"description": "Data not released yet"}
}
DATA_MEDIA_TYPES: dict[str, Any] = {
    media: {}
    for media in (
        "application/octet-stream",
        "application/x-netcdf",
        "text/csv",
        "text/plain",
    )
}
DatasetFormat = DownloadFormat


async def search_params(
    q: Annotated[str | None, Query(max_length=500, description="free text")] = None,
    start: Annotated[datetime | None, Query(description="overlaps from (UTC)")] = None,
    end: Annotated[datetime | None, Query(description="overlaps until (UTC)")] = None,
    bbox: Annotated[str | None, Query(description="W,S,E,N; W > E crosses 180")] = None,
    platform: str | None = None,
    instrument: str | None = None,
    pi: str | None = None,
    variable: str | None = None,
    project: str | None = None,
    center: str | None = None,
    access: str | None = None,
    level: Annotated[str | None, Query(description="processing level: 0, 1 or 2")] = None,
    sort: SortKey | None = None,
    facets: Annotated[bool, Query(description="compute facet counts and the total")] = True,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    cursor: Annotated[str | None, Query(max_length=2000)] = None,
) -> SearchParams:
    """The search query string as `SearchParams` (a 422 problem says what is wrong).

    Its parameters are `web.search_query.SEARCH_QUERY` (tests/test_declared_once.py).
    """
    start, end = as_utc(start), as_utc(end)
    check_window(start, end)
    fields = {
        "q": q, "start": start, "end": end, "bbox": parse_bbox(bbox),
        "platform": platform, "instrument": instrument, "pi": pi, "variable": variable,
        "project": project, "center": center, "access": access, "level": level, "sort": sort,
        "limit": limit, "cursor": cursor, "facets": facets,
    }  # fmt: skip
    try:
        return SearchParams.model_validate({k: v for k, v in fields.items() if v is not None})
    except ValidationError as err:
        raise validation_errors_as_query(err.errors()) from err


async def download_request(
    format: DatasetFormat = "original",
    start: datetime | None = None,
    end: datetime | None = None,
    bbox: Annotated[str | None, Query(description="W,S,E,N; W > E crosses 180")] = None,
    variables: Annotated[str | None, Query(description="comma-separated names")] = None,
    qc: Annotated[
        FlagMode | None,
        Query(
            description="QC flags as flag columns: `flags`; also blank (`mask`) or `drop` "
            "values flagged suspect or bad"
        ),
    ] = None,
    level: Annotated[
        int | None,
        Query(le=2**31 - 1, description="the newest version released at this level (0, 1, 2)"),
    ] = None,
) -> DownloadRequest:
    """The data query string as a `DownloadRequest`."""
    start, end = as_utc(start), as_utc(end)
    check_window(start, end)
    return DownloadRequest(
        format=format, start=start, end=end, bbox=parse_bbox(bbox),
        variables=parse_names(variables), qc=qc, level=level,
    )  # fmt: skip


@router.get("/datasets", responses=ERRORS, dependencies=[forbid_unknown_query(*SEARCH_QUERY)])
def list_datasets(
    params: Annotated[SearchParams, Depends(search_params)],
    session: SessionDep,
    principal: PrincipalDep,
    now: NowDep,
) -> SearchPage:
    """Search the catalog: filters, facet counts, a keyset cursor, the centers it holds."""
    return search_datasets(session, params, principal, now)


@router.get("/datasets/{public_id}", responses=ERRORS, dependencies=[forbid_unknown_query()])
def read_dataset(
    public_id: str, session: SessionDep, principal: PrincipalDep, now: NowDep
) -> DatasetDetail:
    """One dataset: metadata, variables, versions, access state, links."""
    return get_dataset(session, public_id, principal, now, API_LINKS)


@router.get(
    "/datasets/{public_id}/track",
    response_class=JSONResponse,
    responses=DATA_ERRORS
    | {200: {"description": "A GeoJSON Feature", "content": {"application/geo+json": {}}}},
    dependencies=[forbid_unknown_query()],
)
def read_track(
    public_id: str, session: SessionDep, principal: PrincipalDep, now: NowDep
) -> JSONResponse:
    """The simplified path of a mobile dataset as a GeoJSON Feature (data: same policy)."""
    feature, public = track_feature(session, public_id, principal, now)
    return JSONResponse(feature, headers=cache_headers(public), media_type="application/geo+json")


CitationFormatName = Literal["text", "bibtex", "ris", "datacite-json"]


@router.get(
    "/datasets/{public_id}/citation",
    response_class=Response,
    responses=ERRORS
    | {
        200: {
            "description": "How to cite the dataset (its current version), credited to its "
            "origin center with the year that version was archived there",
            "content": {f.media_type.split(";")[0]: {} for f in CITATION_FORMATS.values()},
        }
    },
    dependencies=[forbid_unknown_query("format")],
)
def cite_dataset(
    public_id: str,
    session: SessionDep,
    principal: PrincipalDep,
    now: NowDep,
    format: CitationFormatName = "text",
) -> Response:
    """The citation as text, BibTeX, RIS or DataCite JSON; the same at every center."""
    exported = CITATION_FORMATS[format]
    body = exported.render(get_citation(session, public_id, principal, now))
    filename = f"{public_id}.{exported.extension}"
    disposition = "inline" if format == "text" else "attachment"
    headers = cache_headers(False) | {
        "Content-Disposition": f'{disposition}; filename="{filename}"'
    }
    return Response(body, media_type=exported.media_type, headers=headers)


def redirect_to_origin(origin_base_url: str, request: Request) -> RedirectResponse:
    """307 to the same path and query at the origin center."""
    target = origin_base_url + request.url.path
    if request.url.query:
        target += "?" + request.url.query
    return RedirectResponse(target, status_code=307, headers=cache_headers(False))


@router.get(
    "/datasets/{public_id}/data",
    response_class=StreamingResponse,
    responses=DATA_ERRORS
    | {
        200: {"description": "The data file", "content": DATA_MEDIA_TYPES},
        304: {"description": "Not modified (the original's ETag matched)"},
        307: {"description": "Held by another center: its same URL"},
    },
    dependencies=[
        forbid_unknown_query("format", "start", "end", "bbox", "variables", "qc", "level")
    ],
)
def download_data(
    public_id: str,
    request: Request,
    params: Annotated[DownloadRequest, Depends(download_request)],
    session: SessionDep,
    store: StoreDep,
    principal: PrincipalDep,
    now: NowDep,
) -> Response:
    """The data, original or converted, optionally subset; streamed."""
    enrich = position_enricher(session, store, principal, now)
    download = prepare_download(session, store, public_id, principal, now, params, enrich)
    if download.origin_base_url is not None:
        return redirect_to_origin(download.origin_base_url, request)
    return download_response(download, request)


@router.get(
    "/datasets/{public_id}/plot",
    response_class=Response,
    responses=DATA_ERRORS
    | {
        200: {"description": "Quick-look plot", "content": {"image/png": {}, "image/svg+xml": {}}},
        304: {"description": "Not modified"},
        307: {"description": "Held by another center: its same URL"},
    },
    dependencies=[forbid_unknown_query("format", "page")],
)
def plot_dataset(
    public_id: str,
    request: Request,
    session: SessionDep,
    store: StoreDep,
    principal: PrincipalDep,
    now: NowDep,
    format: Literal["png", "svg"] = "png",
    page: Annotated[int, Query(ge=1, le=MAX_PAGES)] = 1,
) -> Response:
    """Page `page` of the quick look of the current version (made once, then cached): time
    series, or a skew-T/log-P and profiles for a sounding; every variable is on some page."""
    assert format in PLOT_FORMATS
    plot = get_plot(session, store, public_id, principal, now, format, page)
    if plot.origin_base_url is not None:
        return redirect_to_origin(plot.origin_base_url, request)
    headers = cache_headers(plot.is_public) | {"ETag": plot.etag}
    if request.headers.get("if-none-match") == plot.etag:
        return Response(status_code=304, headers=headers)
    return Response(plot.content, media_type=plot.media_type, headers=headers)
