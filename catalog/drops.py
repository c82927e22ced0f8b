"""Personal drops: a user's secret drop token, and the mail the intake could not attribute.

The token (24 lowercase hex digits, so it survives mail systems that fold case) is the
plus-part of the intake address (`intake+TOKEN@host`) and the FTP drop's password for user
`drop`: whatever arrives with it is the user's, from the first version. Only its SHA-256 is
kept; issuing a new one revokes the old. A message without a valid token is held for staff
(`catalog.held_mail`), never dropped and never attributed: a From address proves nothing.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from catalog.intake_models import DropToken
from catalog.models import User
from catalog.schemas import Principal, Role

TOKEN_SHAPE = re.compile(r"^[0-9a-f]{24}$")


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def revoke_drop_tokens(session: Session, user_id: int, now: datetime) -> int:
    """End every live drop token of the user; how many."""
    result = session.execute(
        update(DropToken)
        .where(DropToken.user_id == user_id, DropToken.revoked_at.is_(None))
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def issue_drop_token(session: Session, user_id: int, now: datetime) -> str:
    """A new drop token of the user (the old one ends); the plaintext, returned once."""
    revoke_drop_tokens(session, user_id, now)
    token = secrets.token_hex(12)
    session.add(DropToken(user_id=user_id, token_hash=_hash(token), created_at=now))
    session.flush()
    return token


def user_for_drop_token(session: Session, token: str) -> User | None:
    """The active user whose live drop token this is, or None."""
    token = token.strip().lower()
    if not TOKEN_SHAPE.match(token):
        return None
    query = (
        select(User)
        .join(DropToken, DropToken.user_id == User.id)
        .where(DropToken.token_hash == _hash(token), DropToken.revoked_at.is_(None))
        .where(User.active.is_(True))
    )
    return session.scalars(query).first()


def drop_principal(session: Session, user_id: int) -> Principal | None:
    """The active user a personal drop belongs to, as the pipeline's submitter (None if gone)."""
    user = session.get(User, user_id)
    if user is None or not user.active:
        return None
    return Principal(user_id=user.id, username=user.username, role=Role(user.role))
