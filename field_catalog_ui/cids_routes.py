"""The analysis center's pages: the overlay of several datasets (any center the caller can
read) and collocation; both linkable by URL (docs/cids.md)."""

# No `from __future__ import annotations`: FastAPI reads the `Annotated` parameters.

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse

from catalog.collocation import collocate_datasets
from catalog.errors import CatalogError
from catalog.overlay import overlay_series, parse_picks
from federation.remote_data import fetch_csv
from field_catalog_ui.rendering import PageDep
from formats.overlay_plot import overlay_svg
from web.deps import NowDep, SessionDep, StoreDep
from web.links import API_LINKS

router = APIRouter(include_in_schema=False)
MAX_ROWS_SHOWN = 1000
Picks = Annotated[list[str], Query(alias="d", max_length=8)]


@router.get("/overlay", response_class=HTMLResponse)
def overlay(
    page: PageDep,
    session: SessionDep,
    store: StoreDep,
    now: NowDep,
    d: Picks = [],  # noqa: B006
) -> HTMLResponse:
    """Chosen variables of several datasets on one time axis, their tracks on one map."""
    context: dict[str, Any] = {"title": "Overlay", "picks": d, "svg": "", "error": ""}
    try:
        picks = parse_picks(d)
        if picks:
            remote = (API_LINKS, fetch_csv)
            series = overlay_series(session, store, page.user, now, picks, remote)
            context["svg"] = overlay_svg(series)
    except (CatalogError, OSError) as err:
        context["error"] = str(err)
    return page.render("overlay.html", context, status=400 if context["error"] else 200)


@router.get("/collocate", response_class=HTMLResponse)
def collocate(
    page: PageDep,
    session: SessionDep,
    store: StoreDep,
    now: NowDep,
    dataset: Annotated[str, Query(max_length=32)] = "",
    dt: Annotated[float, Query(ge=0, le=86_400)] = 600,
    dx: Annotated[float, Query(ge=0, le=2_000)] = 25,
    with_: Annotated[str, Query(alias="with", max_length=2000)] = "",
) -> HTMLResponse:
    """The collocation form and its matches (as the API's `collocate`)."""
    others = [p for p in with_.split(",") if p.strip()] or None
    context: dict[str, Any] = {"title": "Collocation", "dataset": dataset, "dt": dt, "dx": dx,
                               "with_": with_, "matches": None, "error": ""}  # fmt: skip
    try:
        if dataset:
            matches = collocate_datasets(session, store, page.user, now, dataset, others, dt, dx)
            context["matches"] = matches
    except CatalogError as err:
        context["error"] = str(err)
    context["max_rows"] = MAX_ROWS_SHOWN
    return page.render("collocate.html", context, status=400 if context["error"] else 200)
