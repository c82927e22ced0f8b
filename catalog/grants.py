"""Password grants: a dataset or form password, once given, becomes a short-lived grant.

A client holds its grants under one random holder secret (a cookie or a header); the grant
rows live here, so a password change deletes them and they die at `expires_at`. Attempts are
counted per client and target, failed or not, and refused past the limit.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, delete, func, select
from sqlalchemy.orm import Session

from catalog.access import AccessState, effective_state
from catalog.auth_models import AccessGrant, FormPassword, PasswordAttempt
from catalog.errors import NotFoundError, RateLimitedError
from catalog.models import Dataset
from catalog.users import hash_password, hash_token, verify_password
from catalog.web_sessions import purge_expired_sessions

HOLDER_PREFIX = "fcg_"


@dataclass(frozen=True)
class GrantPolicy:
    """How long a grant lives and how many attempts a client has per window."""

    lifetime: timedelta = timedelta(minutes=30)
    max_attempts: int = 5
    window: timedelta = timedelta(minutes=15)


@dataclass(frozen=True)
class IssuedGrant:
    """A grant just issued: the holder secret to present and when it lapses."""

    holder: str
    expires_at: datetime


def new_holder() -> str:
    """A fresh holder secret."""
    return HOLDER_PREFIX + secrets.token_urlsafe(32)


def valid_holder(holder: str | None) -> bool:
    """Whether `holder` is shaped like a holder secret."""
    return holder is not None and holder.startswith(HOLDER_PREFIX) and len(holder) < 200


def check_rate_limit(
    session: Session, *, client: str, target: str, now: datetime, policy: GrantPolicy
) -> PasswordAttempt:
    """Record an attempt; `RateLimitedError` when the client used up its window on `target`.

    Only failed attempts count: the caller marks the returned attempt `succeeded` when the
    password was right, so an office of colleagues behind one address signing in all day is
    never locked out, while guessing still is after `max_attempts` wrong passwords.
    """
    since = now - policy.window
    session.execute(delete(PasswordAttempt).where(PasswordAttempt.at <= since))
    query = select(func.count(), func.min(PasswordAttempt.at)).where(
        PasswordAttempt.client == client[:64],
        PasswordAttempt.target == target,
        PasswordAttempt.at > since,
        PasswordAttempt.succeeded.is_(False),
    )
    count, oldest = session.execute(query).one()
    if count >= policy.max_attempts:
        retry = int((oldest + policy.window - now).total_seconds()) + 1 if oldest else 60
        raise RateLimitedError("too many password attempts; try again later", max(retry, 1))
    attempt = PasswordAttempt(client=client[:64], target=target, at=now, succeeded=False)
    session.add(attempt)
    session.flush()
    return attempt


def _issue(
    session: Session,
    *,
    holder: str | None,
    dataset_id: int | None,
    form_key: str | None,
    now: datetime,
    policy: GrantPolicy,
) -> IssuedGrant:
    holder = holder if valid_holder(holder) else new_holder()
    assert holder is not None
    expires_at = now + policy.lifetime
    session.add(
        AccessGrant(
            holder_hash=hash_token(holder),
            dataset_id=dataset_id,
            form_key=form_key,
            created_at=now,
            expires_at=expires_at,
        )
    )
    session.flush()
    return IssuedGrant(holder, expires_at)


def grant_dataset(
    session: Session,
    public_id: str,
    password: str,
    *,
    client: str,
    holder: str | None,
    now: datetime,
    policy: GrantPolicy,
) -> IssuedGrant | None:
    """Exchange a dataset's password for a grant (None: wrong password; commit the attempt).

    Attempts are rate limited per client and dataset. A dataset that is not password
    protected now answers exactly like one that does not exist.
    """
    dataset = session.scalar(select(Dataset).where(Dataset.public_id == public_id))
    if dataset is None or effective_state(dataset, now) is not AccessState.PASSWORD:
        raise NotFoundError(f"no password-protected dataset {public_id!r}")
    attempt = check_rate_limit(
        session, client=client, target=f"dataset:{dataset.id}", now=now, policy=policy
    )
    if not verify_password(dataset.password_hash, password):
        return None
    attempt.succeeded = True
    return _issue(
        session, holder=holder, dataset_id=dataset.id, form_key=None, now=now, policy=policy
    )


def set_dataset_password(session: Session, dataset: Dataset, password: str | None) -> None:
    """Set (or clear) a dataset's password; every grant on it is revoked."""
    dataset.password_hash = hash_password(password) if password is not None else None
    revoke_dataset_grants(session, dataset.id)


def revoke_dataset_grants(session: Session, dataset_id: int) -> None:
    """Delete every grant on one dataset."""
    session.execute(delete(AccessGrant).where(AccessGrant.dataset_id == dataset_id))


def set_form_password(session: Session, form_key: str, password: str, now: datetime) -> None:
    """Set a status-report form's password; every grant on that form is revoked."""
    row = session.get(FormPassword, form_key)
    if row is None:
        row = FormPassword(form_key=form_key, password_hash="", updated_at=now)
        session.add(row)
    row.password_hash = hash_password(password)
    row.updated_at = now
    session.execute(delete(AccessGrant).where(AccessGrant.form_key == form_key))
    session.flush()


def grant_form(
    session: Session,
    form_key: str,
    password: str,
    *,
    client: str,
    holder: str | None,
    now: datetime,
    policy: GrantPolicy,
) -> IssuedGrant | None:
    """Exchange a form's password for a grant (None: wrong password; commit the attempt)."""
    row = session.get(FormPassword, form_key)
    attempt = check_rate_limit(
        session, client=client, target=f"form:{form_key}"[:100], now=now, policy=policy
    )
    if not verify_password(row.password_hash if row else None, password):
        return None
    attempt.succeeded = True
    return _issue(
        session, holder=holder, dataset_id=None, form_key=form_key, now=now, policy=policy
    )


def holder_dataset_grants(session: Session, holder: str | None, now: datetime) -> frozenset[str]:
    """Public ids of the datasets `holder` has a live grant for."""
    if not valid_holder(holder):
        return frozenset()
    assert holder is not None
    query = (
        select(Dataset.public_id)
        .join(AccessGrant, AccessGrant.dataset_id == Dataset.id)
        .where(AccessGrant.holder_hash == hash_token(holder), AccessGrant.expires_at > now)
    )
    return frozenset(session.scalars(query))


def holds_form_grant(session: Session, holder: str | None, form_key: str, now: datetime) -> bool:
    """Whether `holder` has a live grant for the status-report form `form_key`."""
    if not valid_holder(holder):
        return False
    assert holder is not None
    query = select(AccessGrant.id).where(
        AccessGrant.holder_hash == hash_token(holder),
        AccessGrant.form_key == form_key,
        AccessGrant.expires_at > now,
    )
    return session.scalar(query.limit(1)) is not None


def purge_expired_grants(session: Session, now: datetime) -> int:
    """Delete lapsed grants; returns how many."""
    result = session.execute(delete(AccessGrant).where(AccessGrant.expires_at <= now))
    return int(getattr(result, "rowcount", 0) or 0)


def purge_expired_credentials(session: Session, now: datetime) -> int:
    """Delete lapsed grants and web sessions (local and vouched) and day-old attempts (the
    worker's sweep)."""
    from catalog.vouched import purge_vouched_sessions

    old = session.execute(delete(PasswordAttempt).where(PasswordAttempt.at <= now - timedelta(1)))
    return (
        purge_expired_grants(session, now)
        + purge_expired_sessions(session, now)
        + purge_vouched_sessions(session, now)
        + int(getattr(old, "rowcount", 0) or 0)
    )


def sweep_credentials(engine: Engine, now: datetime) -> int:
    """The worker's task: purge lapsed credentials in a transaction of its own."""
    from catalog.db import make_session_factory  # late: keeps Alembic out of start-up

    with make_session_factory(engine)() as session, session.begin():
        return purge_expired_credentials(session, now)
