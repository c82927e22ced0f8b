"""Server-side web sessions: the cookie carries a random secret, the row everything else."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from catalog.auth_models import UserSession
from catalog.models import User
from catalog.schemas import Principal
from catalog.users import hash_token, principal_for_user

SESSION_PREFIX = "fcs_"
_TOUCH_RESOLUTION = timedelta(minutes=1)


@dataclass(frozen=True)
class SessionInfo:
    """A resolved web session: who, and the CSRF secret its forms must carry."""

    principal: Principal
    csrf_secret: str
    session_id: int


def start_session(session: Session, user: User, *, now: datetime, lifetime: timedelta) -> str:
    """Open a web session for `user`; returns the cookie value (shown once, stored hashed)."""
    token = SESSION_PREFIX + secrets.token_urlsafe(32)
    session.add(
        UserSession(
            token_hash=hash_token(token),
            user_id=user.id,
            csrf_secret=secrets.token_urlsafe(32),
            created_at=now,
            expires_at=now + lifetime,
            last_seen_at=now,
        )
    )
    session.flush()
    return token


def resolve_session(
    session: Session, token: str, *, now: datetime, idle_timeout: timedelta
) -> SessionInfo | None:
    """The live session a cookie value names, else None (expired, idle too long, user off)."""
    if not token.startswith(SESSION_PREFIX) or len(token) > 200:
        return None
    row = session.execute(
        select(UserSession, User)
        .join(User, User.id == UserSession.user_id)
        .where(UserSession.token_hash == hash_token(token))
    ).first()
    if row is None:
        return None
    web_session, user = row
    if not user.active or web_session.expires_at <= now:
        return None
    if now - web_session.last_seen_at > idle_timeout:
        return None
    if now - web_session.last_seen_at > _TOUCH_RESOLUTION:
        web_session.last_seen_at = now
    return SessionInfo(principal_for_user(user), web_session.csrf_secret, web_session.id)


def end_session(session: Session, token: str) -> None:
    """Sign out: delete the session a cookie value names (nothing if none)."""
    session.execute(delete(UserSession).where(UserSession.token_hash == hash_token(token)))


def purge_expired_sessions(session: Session, now: datetime) -> int:
    """Delete sessions past their absolute lifetime; returns how many."""
    result = session.execute(delete(UserSession).where(UserSession.expires_at <= now))
    return int(getattr(result, "rowcount", 0) or 0)
