"""Sign-in (a server-side session in a cookie), sign-out, who am I, and password grants."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, Field

from catalog.web_sessions import end_session
from web import auth
from web.auth_service import exchange_dataset_password, sign_in
from web.deps import (
    NowDep,
    PrincipalDep,
    SettingsDep,
    checked_principal,
    forbid_unknown_query,
)

if TYPE_CHECKING:
    from catalog.grants import IssuedGrant
    from web.settings import Settings

router = APIRouter(tags=["auth"])
NO_STORE = {"Cache-Control": "no-store", "Vary": "Cookie, Authorization"}


class Credentials(BaseModel):
    """A user name and password."""

    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)


class PasswordBody(BaseModel):
    """A dataset's or form's password."""

    password: str = Field(min_length=1, max_length=1024)


class Me(BaseModel):
    """The caller as the server sees it, and the CSRF token its forms carry."""

    username: str | None
    role: str
    csrf_token: str


class GrantRead(BaseModel):
    """A grant: present `holder` as the `X-FieldCat-Grant` header (or keep the cookie)."""

    holder: str
    expires_at: datetime


ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Wrong user name or password"},
    429: {"description": "Too many attempts"},
}


def _factory(request: Request) -> Any:
    return request.app.state.session_factory


@router.post("/auth/session", responses=ERRORS, dependencies=[forbid_unknown_query()])
def create_session(
    body: Credentials, request: Request, response: Response, settings: SettingsDep, now: NowDep
) -> Me:
    """Sign in: a server-side session in an HttpOnly, SameSite=Lax cookie."""
    client = auth.client_address(request, settings.access.trusted_proxies)
    signed = sign_in(
        _factory(request), body.username, body.password, client=client, now=now,
        access=settings.access,
    )  # fmt: skip
    max_age = int(settings.access.session_hours * 3600)
    auth.set_cookie(response, request, settings, auth.SESSION_COOKIE, signed.cookie, max_age)
    response.headers.update(NO_STORE)
    principal = signed.principal
    return Me(username=principal.username, role=principal.role, csrf_token=signed.csrf_token)


@router.delete(
    "/auth/session",
    dependencies=[forbid_unknown_query(), Depends(checked_principal)],
)
def delete_session(request: Request, response: Response, settings: SettingsDep) -> Me:
    """Sign out: the server-side session ends and the cookie is cleared."""
    cookie = request.cookies.get(auth.SESSION_COOKIE)
    if cookie:
        with _factory(request)() as session, session.begin():
            end_session(session, cookie)
    response.headers.update(NO_STORE)
    auth.clear_cookie(response, request, settings, auth.SESSION_COOKIE)
    return Me(username=None, role="anonymous", csrf_token="")


@router.get("/auth/me", dependencies=[forbid_unknown_query()])
def read_me(request: Request, response: Response, principal: PrincipalDep) -> Me:
    """Who the server takes the caller for, and the CSRF token for cookie-authenticated writes."""
    response.headers.update(NO_STORE)
    return Me(username=principal.username, role=principal.role, csrf_token=auth.csrf_token(request))


@router.post(
    "/datasets/{public_id}/grant",
    responses=ERRORS | {403: {"description": "Wrong password"}, 404: {"description": "None"}},
    dependencies=[forbid_unknown_query()],
)
def create_grant(
    public_id: str,
    body: PasswordBody,
    request: Request,
    response: Response,
    settings: SettingsDep,
    now: NowDep,
) -> GrantRead:
    """Exchange a dataset's password for a short-lived grant (cookie `fieldcat_grant`)."""
    client = auth.client_address(request, settings.access.trusted_proxies)
    grant = exchange_dataset_password(
        _factory(request), public_id, body.password, client=client,
        holder=auth.grant_holder(request), now=now, access=settings.access,
    )  # fmt: skip
    return grant_answer(grant, request, response, settings, now)


def grant_answer(
    grant: IssuedGrant, request: Request, response: Response, settings: Settings, now: datetime
) -> GrantRead:
    """A new grant: kept in the grant cookie (for browsers) and returned (for scripts)."""
    auth.keep_grant(response, request, settings, grant, now)
    response.headers.update(NO_STORE)
    return GrantRead(holder=grant.holder, expires_at=grant.expires_at)
