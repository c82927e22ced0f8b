"""Hands the web UI the node's own request dependencies, so pages and API resolve alike."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from fastapi import APIRouter, Request, Response

from catalog.schemas import Principal
from web.deps import (
    get_now,
    get_principal,
    get_session,
    get_settings,
    get_store,
    verify_csrf,
)

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker


def sign_in(
    request: Request, response: Response, username: str, password: str, now: datetime
) -> Principal:
    """The web sign-in of `web.auth_service`, its cookie set on `response`."""
    from web import auth
    from web.auth_service import sign_in as open_session

    settings = request.app.state.settings
    client = auth.client_address(request, settings.access.trusted_proxies)
    signed = open_session(
        request.app.state.session_factory, username, password, client=client, now=now,
        access=settings.access,
    )  # fmt: skip
    max_age = int(settings.access.session_hours * 3600)
    auth.set_cookie(response, request, settings, auth.SESSION_COOKIE, signed.cookie, max_age)
    return signed.principal


def exchange_form_password(
    request: Request, response: Response, form_key: str, password: str, now: datetime
) -> None:
    """A form password for a grant (`web.auth_service`), kept in the grant cookie."""
    from web import auth
    from web.auth_service import exchange_form_password as exchange

    settings = request.app.state.settings
    grant = exchange(
        request.app.state.session_factory, form_key, password,
        client=auth.client_address(request, settings.access.trusted_proxies),
        holder=auth.grant_holder(request), now=now, access=settings.access,
    )  # fmt: skip
    auth.keep_grant(response, request, settings, grant, now)


def sign_out(request: Request, response: Response) -> None:
    """End the request's web session (if any) and clear the cookie."""
    from catalog.web_sessions import end_session
    from web import auth

    cookie = request.cookies.get(auth.SESSION_COOKIE)
    if cookie:
        with request.app.state.session_factory() as session, session.begin():
            end_session(session, cookie)
    auth.clear_cookie(response, request, request.app.state.settings, auth.SESSION_COOKIE)


async def get_session_factory(request: Request) -> sessionmaker[Session]:
    """The node's session factory."""
    factory: sessionmaker[Session] = request.app.state.session_factory
    return factory


def ui_router() -> APIRouter:
    """The HTML routes of `field_catalog_ui`, wired to this node's dependencies."""
    from federation.status import peer_status
    from field_catalog_ui.deps import UiDeps
    from field_catalog_ui.routes import build_router
    from web.auth import csrf_token, grant_holder
    from web.responses import download_response

    deps = UiDeps(
        session=get_session,
        principal=get_principal,
        now=get_now,
        store=get_store,
        session_factory=get_session_factory,
        settings=get_settings,
        verify_csrf=verify_csrf,
        csrf_token=csrf_token,
        sign_in=sign_in,
        sign_out=sign_out,
        exchange_form_password=exchange_form_password,
        grant_holder=grant_holder,
        download_response=download_response,
        peer_status=peer_status,
    )
    return build_router(deps)
