"""The HTML routes: home, search, one dataset and its download form, federation, static assets.

Each page calls the same catalog service the API route calls (`search_datasets`,
`get_dataset`, `prepare_download`, ...) with the same dependencies (`web.deps`), so a page
can never show what the API would not. An error a page does not show in its own form
(an unknown dataset, a refused caller) goes to the node's one error path (`web.errors`).
"""

# No `from __future__ import annotations`: FastAPI reads the `Annotated` parameters.

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from catalog.downloads import prepare_download
from catalog.errors import CatalogError, InvalidQueryError, NotFoundError, PermissionDeniedError
from catalog.field_reports import REPORT_KINDS, list_reports
from catalog.qc import qc_report
from catalog.qc_plot import qc_plot
from catalog.receiver_control import live_streams
from catalog.schemas import SearchParams
from catalog.search import search_datasets
from catalog.time_strip import time_strip
from federation.status import peer_status
from field_catalog_ui import pages
from field_catalog_ui.forms import parse_download, parse_search
from field_catalog_ui.rendering import STAFF_ROLES, PageDep
from field_catalog_ui.static import serve_static, static_files
from submissions.service import products_page
from web.deps import NowDep, SessionDep, StoreDep
from web.links import API_LINKS
from web.responses import download_response

HOME_LATEST = 8
HOME_PRODUCTS = 6

router = APIRouter(include_in_schema=False)


@router.get("/static/{name:path}")
async def static(name: str) -> Response:
    """A shipped asset (from the fixed list of `static_files`)."""
    return serve_static(static_files(), name)


@router.get("/", response_class=HTMLResponse)
def home(page: PageDep, session: SessionDep, now: NowDep, store: StoreDep) -> HTMLResponse:
    """The newest datasets, products and reports."""
    latest = search_datasets(session, SearchParams(limit=HOME_LATEST), page.user, now)
    products = products_page(session, store, page.user, links=API_LINKS, limit=HOME_PRODUCTS).items
    reports = {kind: list_reports(session, kind=kind, limit=1) for kind in REPORT_KINDS}
    context = {"page": latest, "products": products, "reports": reports, "title": "Home"}
    return page.render("home.html", context)


@router.get("/search", response_class=HTMLResponse)
def search(page: PageDep, session: SessionDep, now: NowDep) -> HTMLResponse:
    """The search form and one page of results (unreadable fields are shown, not refused)."""
    query = page.request.query_params
    params, form = parse_search(query)
    try:
        result = search_datasets(session, params, page.user, now)
    except InvalidQueryError as err:
        form.errors["form"] = str(err)
        params = params.model_copy(update={"cursor": None})
        result = search_datasets(session, params, page.user, now)
    context = pages.search_context(params, form, result, query)
    context["strip"] = pages.strip_context(time_strip(session, params, page.user, now), form)
    return page.render("search.html", context, status=400 if form.errors else 200)


@router.get("/datasets/{public_id}", response_class=HTMLResponse)
def dataset(public_id: str, page: PageDep, session: SessionDep, now: NowDep) -> HTMLResponse:
    """One dataset's page (staff also see its audit trail and the access form)."""
    context = pages.dataset_context(session, page.store, public_id, page.user, now, page.node)
    if page.user.role in STAFF_ROLES:
        context |= pages.staff_context(session, context["d"], now)
    return page.render("dataset.html", context)


@router.get("/datasets/{public_id}/download", response_model=None)
def download(
    public_id: str, page: PageDep, session: SessionDep, now: NowDep, store: StoreDep
) -> Response:
    """The download form's answer: the bytes, or the dataset page with the form's errors."""
    query = page.request.query_params
    wanted, form = parse_download(query, query.getlist("variables"))
    status = 400
    if not form.errors:
        try:
            ready = prepare_download(session, store, public_id, page.user, now, wanted)
        except NotFoundError:
            raise
        except PermissionDeniedError as err:
            form.errors["form"], status = str(err), 403
        except CatalogError as err:
            form.errors["form"] = str(err)
        else:
            if ready.origin_base_url is not None:
                target = f"{ready.origin_base_url}/datasets/{public_id}/download"
                return RedirectResponse(f"{target}?{query}", status_code=303)
            return download_response(ready, page.request)
    context = pages.dataset_context(session, store, public_id, page.user, now, page.node)
    context["download_form"] = form
    return page.render("dataset.html", context, status=status)


@router.get("/federation", response_class=HTMLResponse)
def federation(page: PageDep, session: SessionDep) -> HTMLResponse:
    """Each peer's freshness."""
    context = {"title": "Federation status", "peers": peer_status(session)}
    return page.render("federation.html", context | {"streams": live_streams(session)})


@router.get("/datasets/{public_id}/qc", response_class=HTMLResponse)
def qc_page(
    public_id: str, page: PageDep, session: SessionDep, now: NowDep, store: StoreDep
) -> HTMLResponse:
    """The QC report of a dataset (for whoever may read its data): counts per test, flagged
    stretches, overrides, and a plot with the flagged points marked."""
    report = qc_report(session, store, public_id, page.user, now)
    plot = qc_plot(session, store, public_id, page.user, now)
    return page.render("qc.html", {"r": report, "plot": plot, "title": "QC report"})
