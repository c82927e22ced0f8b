"""Sign-in, sign-out and form passwords as one request sees them: the service call of
`web.auth_service`, and its cookie set on (or cleared from) the response.

The pages' sign-in form and the API's `/auth/session` open the same kind of session.
"""

from __future__ import annotations

from datetime import datetime

from fastapi import Request, Response

from catalog.schemas import Principal
from web import auth


def sign_in(
    request: Request, response: Response, username: str, password: str, now: datetime
) -> Principal:
    """Check a user name and password and set the session cookie on `response`.

    Raises a `CatalogError` (wrong credentials, too many attempts) when it refuses.
    """
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
    """A form password for a grant (`web.auth_service`), kept in the grant cookie.

    Raises a `CatalogError` when the password is wrong or the caller is rate limited.
    """
    from web.auth_service import exchange_form_password as exchange

    settings = request.app.state.settings
    grant = exchange(
        request.app.state.session_factory, form_key, password,
        client=auth.client_address(request, settings.access.trusted_proxies),
        holder=auth.grant_holder(request), now=now, access=settings.access,
    )  # fmt: skip
    auth.keep_grant(response, request, settings, grant, now)


def sign_out(request: Request, response: Response) -> None:
    """End the request's web session (if any) and clear its cookie."""
    from catalog.web_sessions import end_session

    cookie = request.cookies.get(auth.SESSION_COOKIE)
    if cookie:
        with request.app.state.session_factory() as session, session.begin():
            end_session(session, cookie)
    auth.clear_cookie(response, request, request.app.state.settings, auth.SESSION_COOKIE)
    vouched = request.cookies.get(auth.VOUCHED_COOKIE)
    if vouched:
        from catalog.vouched import end_vouched_session

        with request.app.state.session_factory() as session, session.begin():
            end_vouched_session(session, vouched)
        auth.clear_cookie(response, request, request.app.state.settings, auth.VOUCHED_COOKIE)
