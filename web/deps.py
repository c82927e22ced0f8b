"""Request dependencies: settings, store, a session per request, the principal and the clock.

Route handlers take these as `Annotated` parameters, so a test can pin any of them with
`app.dependency_overrides`. The cheap ones are `async` so they run on the event loop instead
of costing a thread hop each; the session (database I/O) stays in the threadpool.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy.orm import Session, sessionmaker

from catalog.errors import AuthenticationRequiredError, RoleRequiredError
from catalog.schemas import Principal, Role
from catalog.storage import ArchiveStore
from web.errors import UnknownParameterError
from web.settings import Settings


async def get_settings(request: Request) -> Settings:
    """The node's settings."""
    settings: Settings = request.app.state.settings
    return settings


async def get_store(request: Request) -> ArchiveStore:
    """The node's archive storage."""
    store: ArchiveStore = request.app.state.store
    return store


def get_session(request: Request) -> Iterator[Session]:
    """One session per request, committed when the handler returns without error."""
    factory: sessionmaker[Session] = request.app.state.session_factory
    with factory() as session, session.begin():
        yield session


async def get_now(request: Request) -> datetime:
    """The clock access decisions use (UTC): the application's own when one is set
    (`app.state.clock`, a callable: the tests fix the time with it), else the wall clock.

    A clock on the application, not a dependency override: FastAPI analyses every
    dependency of a route again on each request while any override is set (the access
    matrix spent about a third of its requests' time there)."""
    clock = getattr(request.app.state, "clock", None)
    return clock() if clock is not None else datetime.now(UTC)


def _bearer(request: Request) -> str | None:
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        return None
    return credentials.strip() or None


def _basic(request: Request) -> tuple[str, str] | None:
    """(user name, API token) of an HTTP Basic header on a read (GET or HEAD), else None.

    Only reads: a browser may attach remembered Basic credentials to a cross-site form post,
    which no CSRF check would then stop. DAP clients (netCDF-C, pydap) send these from
    `.netrc`; the password is one of the user's API tokens, never their password."""
    import base64
    import binascii

    scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic" or request.method not in ("GET", "HEAD"):
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return ("", "")
    username, _, token = decoded.partition(":")
    return username, token


def _bearer_principal(session: Session, token: str, now: datetime) -> Principal | None:
    """The caller of a bearer token: a vouched session (`fcv_...`) or an API token."""
    from catalog.users import principal_for_token
    from catalog.vouched import is_vouched_token, resolve_vouched

    if is_vouched_token(token):
        return resolve_vouched(session, token, now)
    return principal_for_token(session, token, now)


def _vouched_cookie_principal(
    request: Request, session: Session, now: datetime
) -> Principal | None:
    """The caller of a vouched session cookie (pages of a user signed in at home), or None."""
    from catalog.vouched import is_vouched_token, resolve_vouched
    from web.auth import VOUCHED_COOKIE

    token = request.cookies.get(VOUCHED_COOKIE)
    if not token or not is_vouched_token(token):
        return None
    return resolve_vouched(session, token, now)


def _token_principal(session: Session, request: Request, now: datetime) -> Principal | None:
    """The principal of a Bearer token (an API token or a vouched session) or of Basic (user
    name, API token); None without either; AuthenticationRequiredError when the one given is
    not valid."""
    from catalog.users import principal_for_token

    token = _bearer(request)
    basic = _basic(request) if token is None else None
    if basic is not None:
        token = basic[1]
    if token is None:
        return None
    if basic is None:
        found = _bearer_principal(session, token, now)
    else:
        found = principal_for_token(session, token, now)
    if found is None or (basic is not None and found.username != basic[0]):
        raise AuthenticationRequiredError(
            "the API token is not valid (unknown, expired or revoked)"
            if basic is None
            else "HTTP Basic needs your user name and one of your API tokens as the password",
            basic=basic is not None,
        )
    return found


def get_principal(
    request: Request,
    session: Annotated[Session, Depends(get_session, scope="function")],
    now: Annotated[datetime, Depends(get_now)],
    settings: Annotated[Settings, Depends(get_settings)],
) -> Principal:
    """Who is asking: a Bearer API token (or, on reads, HTTP Basic with an API token as the
    password), else the session cookie, else anonymous; plus grants.

    On the public listener everyone is anonymous. Routes take `PrincipalDep`, which adds
    the CSRF check of cookie-authenticated writes (`checked_principal`).
    """
    from catalog.grants import holder_dataset_grants
    from catalog.vouched import with_memberships
    from catalog.web_sessions import resolve_session
    from web import auth

    if auth.is_public_face(request):
        return Principal.anonymous()
    principal = Principal.anonymous()
    found = _token_principal(session, request, now)
    cookie = request.cookies.get(auth.SESSION_COOKIE)
    if found is not None:
        principal = found
    elif cookie:
        idle = timedelta(minutes=settings.access.session_idle_minutes)
        info = resolve_session(session, cookie, now=now, idle_timeout=idle)
        if info is not None:
            auth.remember_session_csrf(request, info.csrf_secret)
            principal = info.principal
    if principal.role is Role.ANONYMOUS and found is None:
        principal = _vouched_cookie_principal(request, session, now) or principal
    principal = with_memberships(
        session, principal, local_center=settings.center_code,
        campaign=settings.campaign.code, now=now,
    )  # fmt: skip
    holder = auth.grant_holder(request)
    if holder:
        grants = holder_dataset_grants(session, holder, now)
        if grants:
            principal = principal.model_copy(update={"dataset_grants": grants})
    return principal


async def verify_csrf(
    request: Request, principal: Annotated[Principal, Depends(get_principal)]
) -> None:
    """For form posts: refuse the request unless it carries the expected CSRF token."""
    from web.auth import check_csrf

    await check_csrf(request)


async def checked_principal(
    request: Request, principal: Annotated[Principal, Depends(get_principal)]
) -> Principal:
    """The principal, after refusing a cookie-authenticated write without its CSRF token.

    A Bearer request needs none (a browser never adds that header by itself).
    """
    from web.auth import SAFE_METHODS, SESSION_COOKIE, check_csrf

    if request.method in SAFE_METHODS or _bearer(request) is not None:
        return principal
    local_cookie = principal.user_id is not None and request.cookies.get(SESSION_COOKIE)
    if local_cookie or principal.home_center is not None:  # vouched: the double-submit token
        await check_csrf(request)
    return principal


def require_roles(*roles: Role) -> Any:
    """A dependency giving the principal: 401 problem when anonymous, 403 when the role is wrong."""
    allowed = frozenset(Role(r) for r in roles)

    async def check(principal: Annotated[Principal, Depends(checked_principal)]) -> Principal:
        if principal.role is Role.ANONYMOUS or principal.user_id is None:
            raise AuthenticationRequiredError("sign in or send an API token")
        if principal.role not in allowed:
            raise RoleRequiredError(f"this action needs the role {' or '.join(sorted(allowed))}")
        return principal

    return Depends(check)


async def reject_control_characters(request: Request) -> None:
    """Refuse NUL and other control characters in the path and query (a 422 problem).

    No identifier or filter of ours holds them, and some databases refuse them outright.
    """
    parts = [("path", name, value) for name, value in request.path_params.items()]
    parts += [("query", name, value) for name, value in request.query_params.multi_items()]
    bad = [
        {"loc": (where, name), "msg": "control characters are not allowed", "type": "value_error"}
        for where, name, value in parts
        if isinstance(value, str) and any(ord(ch) < 32 or ord(ch) == 127 for ch in value)
    ]
    if bad:
        raise RequestValidationError(bad)


def forbid_unknown_query(*allowed: str) -> Any:
    """A dependency refusing query parameters other than `allowed` (a 400 problem)."""
    allowed_set = frozenset(allowed)

    async def check(request: Request) -> None:
        unknown = {name for name in request.query_params if name not in allowed_set}
        if unknown:
            raise UnknownParameterError(sorted(unknown))

    return Depends(check)


SettingsDep = Annotated[Settings, Depends(get_settings)]
StoreDep = Annotated[ArchiveStore, Depends(get_store)]
# "function" scope: the transaction ends when the handler returns, before a (possibly long)
# streamed body is sent, so no database connection is held while bytes flow.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
PrincipalDep = Annotated[Principal, Depends(checked_principal)]
"""The caller (anonymous allowed); routes that write should use a role dependency below."""
StaffDep = Annotated[Principal, require_roles(Role.STAFF, Role.ADMIN)]
AdminDep = Annotated[Principal, require_roles(Role.ADMIN)]
SubmitterDep = Annotated[Principal, require_roles(Role.PI, Role.STAFF, Role.ADMIN)]
SignedInDep = Annotated[Principal, require_roles(Role.PI, Role.STAFF, Role.ADMIN)]
CsrfDep = Annotated[None, Depends(verify_csrf)]
"""Add to a form-post route: the form's `csrf_token` field (or header) must match."""
NowDep = Annotated[datetime, Depends(get_now)]


async def get_session_factory(request: Request) -> sessionmaker[Session]:
    """The node's session factory (for work that commits its own steps, like an upload)."""
    factory: sessionmaker[Session] = request.app.state.session_factory
    return factory


def require_role(*roles: Role) -> Any:
    """A dependency giving the signed-in principal when its role is one of `roles`.

    Nobody signed in: `AuthenticationRequiredError` (the error path answers a browser with the
    sign-in page, an API client with a 401 problem); another role: `RoleRequiredError` (403).
    It reads no request body: a form route adds `CsrfDep` (the upload checks its token while
    streaming), so a refused caller costs no byte of an upload.
    """
    allowed = frozenset(Role(r) for r in roles)
    names = " or ".join(sorted(allowed))

    async def check(principal: Annotated[Principal, Depends(get_principal)]) -> Principal:
        if principal.user_id is None or principal.role is Role.ANONYMOUS:
            raise AuthenticationRequiredError("sign in first")
        if principal.role not in allowed:
            raise RoleRequiredError(f"this needs the role {names}")
        return principal

    return Depends(check)


def require_person() -> Any:
    """A dependency giving a signed-in person: a local user or one vouched for by a peer
    (401 otherwise). For what any person may do: ask for access, follow a dataset."""

    async def check(principal: Annotated[Principal, Depends(checked_principal)]) -> Principal:
        if principal.role in (Role.ANONYMOUS, Role.PEER) or principal.username is None:
            raise AuthenticationRequiredError("sign in (here or at your home center) first")
        if principal.user_id is None and principal.home_center is None:
            raise AuthenticationRequiredError("sign in (here or at your home center) first")
        return principal

    return Depends(check)


PersonDep = Annotated[Principal, require_person()]
SessionFactoryDep = Annotated[sessionmaker[Session], Depends(get_session_factory)]
CallerDep = Annotated[Principal, Depends(get_principal)]
"""The caller, without the CSRF check of `PrincipalDep` (which may read a form body)."""
