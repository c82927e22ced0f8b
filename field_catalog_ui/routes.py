"""The HTML routes: home, search, one dataset and its download form, static assets.

Each page calls the same catalog service the API route calls (`search_datasets`,
`get_dataset`, `prepare_download`, ...) with the same principal and clock, so a page can
never show what the API would not. `archive_center` mounts `build_router(deps)`.
"""

# No `from __future__ import annotations`: FastAPI must see the local `Annotated` aliases.

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from catalog.downloads import prepare_download
from catalog.errors import CatalogError, InvalidQueryError, NotFoundError, PermissionDeniedError
from catalog.field_reports import REPORT_KINDS, list_reports
from catalog.schemas import Principal, SearchParams
from catalog.search import search_datasets
from field_catalog_ui import pages
from field_catalog_ui.account_routes import add_account_routes
from field_catalog_ui.deps import NodeInfo, UiDeps
from field_catalog_ui.forms import parse_download, parse_search
from field_catalog_ui.rendering import STAFF_ROLES, Renderer, make_environment
from field_catalog_ui.report_routes import add_report_routes
from field_catalog_ui.staff_routes import add_staff_routes
from field_catalog_ui.static import serve_static, static_files
from field_catalog_ui.submission_routes import add_submission_routes
from field_catalog_ui.user_routes import add_user_routes
from submissions.service import products_page
from web.links import API_LINKS

HOME_LATEST = 8
HOME_PRODUCTS = 6


def build_router(deps: UiDeps) -> APIRouter:
    """The UI's routes, resolving session, caller, clock, store and settings through `deps`."""
    router = APIRouter(include_in_schema=False)
    render = Renderer(make_environment(), deps.csrf_token)
    files = static_files()
    SessionDep = Annotated[Session, Depends(deps.session, scope="function")]
    PrincipalDep = Annotated[Principal, Depends(deps.principal)]
    NowDep = Annotated[Any, Depends(deps.now)]
    NodeDep = Annotated[NodeInfo, Depends(deps.settings)]
    StoreDep = Annotated[Any, Depends(deps.store)]

    @router.get("/static/{name:path}")
    async def static(name: str) -> Response:
        return serve_static(files, name)

    @router.get("/", response_class=HTMLResponse)
    def home(
        request: Request,
        session: SessionDep,
        principal: PrincipalDep,
        now: NowDep,
        node: NodeDep,
        store: StoreDep,
    ) -> HTMLResponse:
        latest = search_datasets(session, SearchParams(limit=HOME_LATEST), principal, now)
        products = products_page(
            session, store, principal, links=API_LINKS, limit=HOME_PRODUCTS
        ).items
        reports = {kind: list_reports(session, kind=kind, limit=1) for kind in REPORT_KINDS}
        context = {"page": latest, "products": products, "reports": reports, "title": "Home"}
        return render.page(request, node, "home.html", context, user=principal)

    @router.get("/search", response_class=HTMLResponse)
    def search(
        request: Request, session: SessionDep, principal: PrincipalDep, now: NowDep, node: NodeDep
    ) -> HTMLResponse:
        params, form = parse_search(request.query_params)
        try:
            result = search_datasets(session, params, principal, now)
        except InvalidQueryError as err:
            form.errors["form"] = str(err)
            params = params.model_copy(update={"cursor": None})
            result = search_datasets(session, params, principal, now)
        context = pages.search_context(params, form, result, request.query_params)
        status = 400 if form.errors else 200
        return render.page(request, node, "search.html", context, status=status, user=principal)

    @router.get("/datasets/{public_id}", response_class=HTMLResponse)
    def dataset(
        request: Request,
        public_id: str,
        session: SessionDep,
        principal: PrincipalDep,
        now: NowDep,
        node: NodeDep,
    ) -> HTMLResponse:
        try:
            context = pages.dataset_context(session, public_id, principal, now, node)
        except NotFoundError:
            return not_found(request, node)
        if principal.role in STAFF_ROLES:
            context |= pages.staff_context(session, public_id)
        return render.page(request, node, "dataset.html", context, user=principal)

    @router.get("/datasets/{public_id}/download", response_model=None)
    def download(
        request: Request,
        public_id: str,
        session: SessionDep,
        principal: PrincipalDep,
        now: NowDep,
        node: NodeDep,
        store: StoreDep,
    ) -> Response:
        query = request.query_params
        wanted, form = parse_download(query, query.getlist("variables"))
        status = 400
        if not form.errors:
            try:
                ready = prepare_download(session, store, public_id, principal, now, wanted)
            except NotFoundError:
                return not_found(request, node)
            except PermissionDeniedError as err:
                form.errors["form"], status = str(err), 403
            except CatalogError as err:
                form.errors["form"] = str(err)
            else:
                if ready.origin_base_url is not None:
                    target = f"{ready.origin_base_url}/datasets/{public_id}/download"
                    return RedirectResponse(f"{target}?{query}", status_code=303)
                response: Response = deps.download_response(ready, request)
                return response
        try:
            context = pages.dataset_context(session, public_id, principal, now, node)
        except NotFoundError:
            return not_found(request, node)
        context["download_form"] = form
        return render.page(request, node, "dataset.html", context, status=status, user=principal)

    @router.get("/federation", response_class=HTMLResponse)
    def federation(
        request: Request, session: SessionDep, principal: PrincipalDep, node: NodeDep
    ) -> HTMLResponse:
        context = {"title": "Federation status", "peers": deps.peer_status(session)}
        return render.page(request, node, "federation.html", context, user=principal)

    add_account_routes(router, deps, render)
    add_staff_routes(router, deps, render)
    add_submission_routes(router, deps, render)
    add_user_routes(router, deps, render)
    add_report_routes(router, deps, render)

    def not_found(request: Request, node: NodeInfo) -> HTMLResponse:
        context = {"title": "Not found", "message": "There is no such dataset here."}
        return render.page(request, node, "error.html", context, status=404)

    return router
