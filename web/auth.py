"""The web side of sign-in: cookies, CSRF tokens, client addresses and the public face.

Cookies: `fieldcat_session` (a server-side session), `fieldcat_grant` (the holder of
password grants), `fieldcat_csrf` (the double-submit token of forms shown before sign-in),
`fieldcat_vouched` (a session vouched for by the user's home center).
All are HttpOnly, SameSite=Lax, and Secure when the node is served over https.
"""

from __future__ import annotations

import hmac
import ipaddress
import secrets
from typing import TYPE_CHECKING

from fastapi import Request, Response

from web.errors import CsrfError

if TYPE_CHECKING:
    from datetime import datetime

    from sqlalchemy.orm import Session

    from catalog.grants import IssuedGrant
    from web.settings import Settings

SESSION_COOKIE = "fieldcat_session"
GRANT_COOKIE = "fieldcat_grant"
CSRF_COOKIE = "fieldcat_csrf"
VOUCHED_COOKIE = "fieldcat_vouched"
"""A browser's session vouched for by its home center (see `federation.vouching`)."""
GRANT_HEADER = "x-fieldcat-grant"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
READ_ONLY_POSTS = frozenset({"/api/v1/bundles", "/stac/search", "/oai"})
"""POST routes that only read (a bundle is built per request); the public face serves them."""
_STATE_CSRF = "fieldcat_csrf_expected"
_STATE_NEW_CSRF = "fieldcat_csrf_new"
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def cookie_secure(request: Request, settings: Settings) -> bool:
    """Whether cookies get the `Secure` flag (configured, or the node speaks https)."""
    if settings.access.cookie_secure is not None:
        return settings.access.cookie_secure
    return settings.public_url.startswith("https:") or request.url.scheme == "https"


def set_cookie(
    response: Response, request: Request, settings: Settings, name: str, value: str, max_age: int
) -> None:
    """Set one of our cookies with the flags above."""
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path="/",
        httponly=True,
        samesite="lax",
        secure=cookie_secure(request, settings),
    )


def keep_grant(
    response: Response, request: Request, settings: Settings, grant: IssuedGrant, now: datetime
) -> None:
    """Keep a new password grant in the grant cookie, for as long as the grant lives."""
    max_age = int((grant.expires_at - now).total_seconds())
    set_cookie(response, request, settings, GRANT_COOKIE, grant.holder, max_age)


def clear_cookie(response: Response, request: Request, settings: Settings, name: str) -> None:
    """Delete one of our cookies."""
    response.delete_cookie(
        name, path="/", httponly=True, samesite="lax", secure=cookie_secure(request, settings)
    )


def _trusted(address: str, proxies: list[str]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    for entry in proxies:
        try:
            if ip in ipaddress.ip_network(entry, strict=False):
                return True
        except ValueError:
            continue
    return False


def client_address(request: Request, trusted_proxies: list[str]) -> str:
    """The client's address: the socket peer, or `X-Forwarded-For` only via a trusted proxy.

    The header is read right to left, skipping trusted proxies; the first other hop is the
    client (a client can prepend anything, but not what our proxies appended after it).
    """
    peer = request.client.host if request.client else "unknown"
    if not trusted_proxies or not _trusted(peer, trusted_proxies):
        return peer
    hops = [h.strip() for h in request.headers.get("x-forwarded-for", "").split(",") if h.strip()]
    for hop in reversed(hops):
        if not _trusted(hop, trusted_proxies):
            return hop
    return hops[0] if hops else peer


def grant_holder(request: Request) -> str | None:
    """The grant holder secret the request presents (header first, then cookie)."""
    return request.headers.get(GRANT_HEADER) or request.cookies.get(GRANT_COOKIE)


def holds_form_access(request: Request, session: Session, form_key: str, now: datetime) -> bool:
    """Whether the request presents a live grant for the status-report form `form_key`.

    The ui calls this before showing or accepting a password-protected form; the password
    itself is exchanged with `web.auth_service.exchange_form_password`.
    """
    from catalog.grants import holds_form_grant

    return holds_form_grant(session, grant_holder(request), form_key, now)


def remember_session_csrf(request: Request, secret: str) -> None:
    """Called by `get_principal`: the signed-in session's CSRF secret for this request."""
    setattr(request.state, _STATE_CSRF, secret)


def csrf_token(request: Request) -> str:
    """The CSRF token a form rendered for this request must carry (field `csrf_token`).

    Signed in: the session's server-side secret (resolve the principal first). Anonymous: a
    double-submit cookie, set on the response by the middleware when new.
    """
    expected: str | None = getattr(request.state, _STATE_CSRF, None)
    if expected:
        return expected
    current = request.cookies.get(CSRF_COOKIE) or getattr(request.state, _STATE_NEW_CSRF, None)
    if current and 20 <= len(current) <= 100:
        return current
    fresh = secrets.token_urlsafe(32)
    setattr(request.state, _STATE_NEW_CSRF, fresh)
    return fresh


async def submitted_csrf(request: Request) -> str | None:
    """The CSRF token the request carries: the `X-CSRF-Token` header or the form field."""
    header = request.headers.get(CSRF_HEADER)
    if header:
        return header
    if request.headers.get("content-type", "").startswith(_FORM_TYPES):
        value = (await request.form()).get(CSRF_FIELD)
        return value if isinstance(value, str) else None
    return None


async def check_csrf(request: Request) -> None:
    """`CsrfError` unless the request carries the token `csrf_token(request)` expects."""
    expected: str | None = getattr(request.state, _STATE_CSRF, None) or request.cookies.get(
        CSRF_COOKIE
    )
    given = await submitted_csrf(request)
    if not expected or not given or not hmac.compare_digest(expected, given):
        raise CsrfError("the form's CSRF token is missing or wrong; reload the page")


def is_public_face(request: Request) -> bool:
    """Whether the request arrived on the read-only public listener."""
    return bool(getattr(request.app.state, "public_face", False))


def carries_credentials(request: Request) -> bool:
    """Whether the request presents any credential or grant (so its answer is per caller)."""
    if request.headers.get("authorization") or request.headers.get(GRANT_HEADER):
        return True
    return any(name in request.cookies for name in (SESSION_COOKIE, GRANT_COOKIE, VOUCHED_COOKIE))


def new_csrf_token(request: Request) -> str | None:
    """The anonymous CSRF token `csrf_token` made for this request, if it made one.

    The middleware sets it as a cookie on the response.
    """
    return getattr(request.state, _STATE_NEW_CSRF, None)


def expected_csrf(request: Request) -> str | None:
    """The token a form post of this request must carry: the session's, else the cookie's.

    Resolve the principal first (it remembers the session's secret).
    """
    expected: str | None = getattr(request.state, _STATE_CSRF, None)
    return expected or request.cookies.get(CSRF_COOKIE)


def same_token(expected: str | None, given: str | None) -> bool:
    """Whether `given` is the expected CSRF token (compared in constant time)."""
    return bool(expected and given and hmac.compare_digest(expected, given))
