"""The app factory: `uvicorn --factory archive_center.app:create_app` runs one node."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from fastapi import APIRouter, Depends, FastAPI
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

from web.errors import install_error_handlers, install_problem_openapi
from web.links import API_PREFIX
from web.settings import Settings, load_settings

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine
    from sqlalchemy.orm import Session

logger = logging.getLogger(__name__)
__all__ = ["API_PREFIX", "create_app", "prepare_node"]


def prepare_node(settings: Settings, engine: Engine | None = None) -> None:
    """Create the storage folders, upgrade the database, ensure the local center and campaign."""
    from catalog.cursors import load_or_create_key
    from catalog.db import make_engine, make_session_factory, upgrade_database
    from catalog.storage import ArchiveStore

    ArchiveStore(settings.root).create_dirs()
    load_or_create_key(settings.root)  # made once, kept: cursors outlive restarts
    own_engine = engine is None
    engine = engine if engine is not None else make_engine(settings.effective_database_url)
    try:
        upgrade_database(engine)
        with make_session_factory(engine)() as session, session.begin():
            ensure_local_records(session, settings)
    finally:
        if own_engine:
            engine.dispose()


def ensure_local_records(session: Session, settings: Settings) -> None:
    """Make sure the local center and the configured campaign exist."""
    from catalog.registration import ensure_campaign, ensure_center

    ensure_center(
        session,
        settings.center_code,
        settings.center_name,
        settings.public_url,
        is_local=True,
    )
    campaign = settings.campaign
    ensure_campaign(
        session,
        code=campaign.code,
        name=campaign.name,
        start=campaign.start,
        end=campaign.end,
        intensive_end=campaign.intensive_end,
        default_state=campaign.default_state,
    )


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    from catalog.cursors import SESSION_KEY as CURSOR_SESSION_KEY
    from catalog.cursors import load_or_create_key
    from catalog.db import make_engine, make_session_factory, pool_arguments
    from catalog.storage import ArchiveStore
    from catalog.vouched import LOCAL_CAMPAIGN_KEY, campaign_ids
    from web.admission import size_threadpool

    settings: Settings = app.state.settings
    url, server = settings.effective_database_url, settings.server
    size_threadpool(server)
    engine = make_engine(url, **pool_arguments(url, server.pool_connections, server.pool_timeout_s))
    await run_in_threadpool(prepare_node, settings, engine)
    app.state.engine = engine
    app.state.session_factory = make_session_factory(engine)
    cursor_key = load_or_create_key(settings.root)
    with app.state.session_factory() as session:
        local_campaign = campaign_ids(session, [settings.campaign.code])
    app.state.session_factory.configure(
        info={CURSOR_SESSION_KEY: cursor_key, LOCAL_CAMPAIGN_KEY: local_campaign}
    )
    app.state.store = ArchiveStore(settings.root)
    logger.info("center %s serving at %s", settings.center_code, settings.public_url)
    try:
        yield
    finally:
        engine.dispose()


def api_routers() -> list[APIRouter]:
    """The routers mounted under `/api/v1`, in order."""
    from archive_center.routers import (
        access,
        auth,
        bundles,
        cids,
        claims_staff,
        datasets,
        doi,
        drops,
        expected,
        federation,
        health,
        jobs,
        orders,
        products,
        quality,
        registry,
        reports,
        saved_searches,
        shared_access,
        submissions,
        suggest,
        systems,
        vouching,
    )

    return [
        health.router,
        datasets.router,
        doi.router,
        bundles.router,
        auth.router,
        access.router,
        submissions.router,
        products.router,
        reports.router,
        saved_searches.router,
        registry.router,
        quality.router,
        jobs.router,
        systems.router,
        expected.router,
        drops.router,
        federation.router,
        cids.router,
        suggest.router,
        orders.router,
        vouching.router,
        shared_access.router,
        claims_staff.router,
    ]


def root_routers() -> list[APIRouter]:
    """API routers mounted at the root, where their protocol's clients expect them."""
    from archive_center.routers import opendap

    return [opendap.router]


def ui_routers() -> list[APIRouter]:
    """The web pages' routers (field_catalog_ui), mounted at the root."""
    from field_catalog_ui import (
        access_request_routes,
        account_routes,
        cids_routes,
        expected_routes,
        home_signin_routes,
        job_routes,
        mail_routes,
        registry_forms,
        registry_routes,
        report_routes,
        routes,
        staff_routes,
        stream_routes,
        submission_routes,
        transfer_routes,
        user_routes,
    )

    return [
        routes.router,
        account_routes.router,
        home_signin_routes.router,
        access_request_routes.router,
        staff_routes.router,
        stream_routes.router,
        submission_routes.router,
        user_routes.router,
        report_routes.router,
        expected_routes.router,
        cids_routes.router,
        job_routes.router,
        mail_routes.router,
        registry_routes.router,
        registry_forms.router,
        transfer_routes.router,
    ]


def standard_routers() -> list[APIRouter]:
    """The standard faces (STAC, OAI-PMH, Atom), at the root beside the pages."""
    from archive_center.routers import feeds, oai, stac

    return [stac.router, oai.router, feeds.router]


SWAGGER_UI = "/static/vendor/swagger-ui"
DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; worker-src 'self' blob:; connect-src 'self'"
)
"""The docs pages load only from this node: ReDoc's bundle would fetch its logo from a CDN."""
REDOC = "/static/vendor/redoc"


def install_api_docs(app: FastAPI) -> None:
    """`/docs` (Swagger UI) and `/redoc` from the assets vendored in field_catalog_ui.

    FastAPI's own pages load them from a CDN, blank on a closed network; these pages name no
    other host (no Google fonts, no online validator), so they work wherever the node does;
    their `Content-Security-Policy` keeps the bundles' own remote images from being fetched.
    """
    title = f"{app.title}: API"
    redirect = "/docs/oauth2-redirect"

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        page = get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=title,
            swagger_js_url=f"{SWAGGER_UI}/swagger-ui-bundle.js",
            swagger_css_url=f"{SWAGGER_UI}/swagger-ui.css",
            swagger_favicon_url=f"{SWAGGER_UI}/favicon-32x32.png",
            oauth2_redirect_url=redirect,
            swagger_ui_parameters={"validatorUrl": None},
        )
        page.headers["Content-Security-Policy"] = DOCS_CSP
        return page

    @app.get(redirect, include_in_schema=False)
    async def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @app.get("/redoc", include_in_schema=False)
    async def redoc() -> HTMLResponse:
        page = get_redoc_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=title,
            redoc_js_url=f"{REDOC}/redoc.standalone.js",
            redoc_favicon_url=f"{SWAGGER_UI}/favicon-32x32.png",
            with_google_fonts=False,
        )
        page.headers["Content-Security-Policy"] = DOCS_CSP
        return page


def create_app(settings: Settings | None = None, *, public_face: bool = False) -> FastAPI:
    """Build the node's ASGI app (settings from `load_settings()` when not given).

    `public_face=True` builds the read-only public listener's app: anonymous, no writes.
    """
    from catalog.conversion_gate import configure_conversions
    from field_catalog_ui.rendering import error_page
    from web.admission import install_admission
    from web.deps import reject_control_characters
    from web.middleware import install_middleware

    settings = settings if settings is not None else load_settings()
    if not logging.getLogger().handlers:  # the CLI may have configured it already
        logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
        logging.getLogger("alembic").setLevel(logging.WARNING)
    app = FastAPI(
        title="FieldCat archive center",
        version="1.0",
        description=f"{settings.center_name} ({settings.center_code})",
        lifespan=_lifespan,
        dependencies=[Depends(reject_control_characters)],
        docs_url=None,  # install_api_docs: the vendored assets, not a CDN
        redoc_url=None,
    )
    app.state.settings = settings
    conversions = settings.conversions
    configure_conversions(conversions.max_in_flight, conversions.retry_after_s, conversions.running)
    install_error_handlers(app, error_page=error_page)  # browsers get HTML error pages
    install_admission(app, settings.server)  # inside NodeMiddleware: its 503 gets the headers
    install_middleware(app, public_face=public_face)
    for router in api_routers():
        app.include_router(router, prefix=API_PREFIX)
    for router in root_routers() + ui_routers():
        app.include_router(router)
    for router in standard_routers():
        app.include_router(router)
    install_api_docs(app)
    install_problem_openapi(app)
    return app
