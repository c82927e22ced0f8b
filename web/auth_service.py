"""Sign-in and password exchanges that must commit a failed attempt before they refuse.

A request's own session rolls back on an error, which would erase the attempt the rate
limit counts; these functions run in their own transaction and raise after it commits.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from catalog.errors import AuthenticationRequiredError, InvalidCredentialsError
from catalog.grants import GrantPolicy, IssuedGrant, check_rate_limit, grant_dataset, grant_form
from catalog.schemas import Principal
from catalog.users import authenticate, principal_for_user
from catalog.web_sessions import resolve_session, start_session

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from web.settings import AccessSettings


def grant_policy(access: AccessSettings) -> GrantPolicy:
    """The grant lifetime and rate limit the settings give."""
    return GrantPolicy(
        lifetime=timedelta(minutes=access.grant_minutes),
        max_attempts=access.password_attempts,
        window=timedelta(minutes=access.attempt_window_minutes),
    )


@dataclass(frozen=True)
class SignedIn:
    """A new web session: the cookie value and who it is."""

    cookie: str
    principal: Principal
    expires_at: datetime
    csrf_token: str


def sign_in(
    factory: sessionmaker[Session],
    username: str,
    password: str,
    *,
    client: str,
    now: datetime,
    access: AccessSettings,
) -> SignedIn:
    """Check a user name and password (rate limited per client and name); open a session."""
    policy = grant_policy(access)
    with factory() as session, session.begin():
        target = f"user:{username.strip().lower()}"[:100]
        attempt = check_rate_limit(session, client=client, target=target, now=now, policy=policy)
        user = authenticate(session, username, password)
        signed: SignedIn | None = None
        if user is not None:
            attempt.succeeded = True
            lifetime = timedelta(hours=access.session_hours)
            cookie = start_session(session, user, now=now, lifetime=lifetime)
            info = resolve_session(session, cookie, now=now, idle_timeout=lifetime)
            assert info is not None
            signed = SignedIn(cookie, principal_for_user(user), now + lifetime, info.csrf_secret)
    if signed is None:
        raise AuthenticationRequiredError("wrong user name or password")
    return signed


def exchange_dataset_password(
    factory: sessionmaker[Session],
    public_id: str,
    password: str,
    *,
    client: str,
    holder: str | None,
    now: datetime,
    access: AccessSettings,
) -> IssuedGrant:
    """A dataset password for a grant; the failed attempt is committed before refusing."""
    return _exchange(factory, grant_dataset, public_id, password, client, holder, now, access)


def exchange_form_password(
    factory: sessionmaker[Session],
    form_key: str,
    password: str,
    *,
    client: str,
    holder: str | None,
    now: datetime,
    access: AccessSettings,
) -> IssuedGrant:
    """A status-report form's password for a grant (the same way as a dataset's)."""
    return _exchange(factory, grant_form, form_key, password, client, holder, now, access)


def _exchange(
    factory: sessionmaker[Session],
    grant: Callable[..., IssuedGrant | None],
    target: str,
    password: str,
    client: str,
    holder: str | None,
    now: datetime,
    access: AccessSettings,
) -> IssuedGrant:
    with factory() as session, session.begin():
        issued = grant(
            session, target, password, client=client, holder=holder, now=now,
            policy=grant_policy(access),
        )  # fmt: skip
    if issued is None:
        raise InvalidCredentialsError("wrong password")
    return issued
