"""Sessions of users vouched for by a peer center, and what a caller's identity adds to its
principal here: campaign memberships and named-reader entries.

A vouched session's bearer token is `fcv_...`, stored as its SHA-256, and lives until the
assertion it was exchanged for would have expired: so a user their home center disabled, or a
center this one stopped trusting, loses access within that bound (the latter at once: the
session is refused while its center is not an enabled peer).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from catalog.access_models import DatasetReader, VouchedSession
from catalog.federation_models import Peer
from catalog.models import Campaign, Dataset, User
from catalog.schemas import Principal, Role

TOKEN_PREFIX = "fcv_"  # noqa: S105 - a prefix, not a secret


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def start_vouched_session(
    session: Session,
    *,
    center: str,
    username: str,
    display_name: str,
    email: str,
    campaigns: Iterable[str],
    now: datetime,
    expires_at: datetime,
) -> str:
    """A bearer token for the vouched user, valid until `expires_at`."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(
        VouchedSession(
            token_hash=_hash(token),
            center=center,
            username=username,
            display_name=display_name,
            email=email,
            campaign_ids=sorted(campaign_ids(session, campaigns)),
            created_at=now,
            expires_at=expires_at,
        )
    )
    session.flush()
    return token


def is_vouched_token(token: str) -> bool:
    """Whether a bearer token is a vouched session's (else it is an API token)."""
    return token.startswith(TOKEN_PREFIX)


def resolve_vouched(session: Session, token: str, now: datetime) -> Principal | None:
    """The vouched caller of a live session whose center is still an enabled peer, or None."""
    query = (
        select(VouchedSession.center, VouchedSession.username, VouchedSession.campaign_ids)
        .join(Peer, Peer.code == VouchedSession.center)
        .where(VouchedSession.token_hash == _hash(token), VouchedSession.expires_at > now)
        .where(Peer.enabled.is_(True))
    )
    row = session.execute(query).one_or_none()
    if row is None:
        return None
    return Principal(
        username=row.username,
        role=Role.PI,
        home_center=row.center,
        campaign_ids=frozenset(int(i) for i in row.campaign_ids),
    )


def end_vouched_session(session: Session, token: str) -> None:
    """End one vouched session (sign-out)."""
    row = session.scalar(select(VouchedSession).where(VouchedSession.token_hash == _hash(token)))
    if row is not None:
        session.delete(row)


def purge_vouched_sessions(session: Session, now: datetime) -> int:
    """Delete expired vouched sessions; how many."""
    rows = list(session.scalars(select(VouchedSession).where(VouchedSession.expires_at <= now)))
    for row in rows:
        session.delete(row)
    return len(rows)


def campaign_ids(session: Session, codes: Iterable[str]) -> frozenset[int]:
    """The local ids of the campaigns named by `codes` (unknown codes name nothing)."""
    wanted = sorted({c.upper() for c in codes})
    if not wanted:
        return frozenset()
    return frozenset(session.scalars(select(Campaign.id).where(Campaign.code.in_(wanted))))


LOCAL_CAMPAIGN_KEY = "fieldcat_local_campaign_ids"
"""`Session.info` key: this center's campaign ids, set once when the node starts."""


def _local_campaign(session: Session, code: str) -> frozenset[int]:
    known = session.info.get(LOCAL_CAMPAIGN_KEY)
    if isinstance(known, frozenset):
        return known
    return campaign_ids(session, [code])


def person(principal: Principal, local_center: str) -> tuple[str, str] | None:
    """How named readers, requests and followers name the caller: (center, username)."""
    if principal.username is None or principal.role in (Role.ANONYMOUS, Role.PEER):
        return None
    if principal.home_center is None and principal.user_id is None:
        return None
    return (principal.home_center or local_center, principal.username)


def named_datasets(session: Session, center: str, username: str, now: datetime) -> frozenset[str]:
    """Public ids of the datasets naming this person as a reader, entries not expired."""
    query = (
        select(Dataset.public_id)
        .join(DatasetReader, DatasetReader.dataset_id == Dataset.id)
        .where(DatasetReader.center == center, DatasetReader.username == username)
        .where(or_(DatasetReader.expires_at.is_(None), DatasetReader.expires_at > now))
    )
    return frozenset(session.scalars(query))


def with_memberships(
    session: Session, principal: Principal, *, local_center: str, campaign: str, now: datetime
) -> Principal:
    """The principal plus its campaign memberships (local users: this center's campaign) and
    its named-reader entries."""
    who = person(principal, local_center)
    if who is None:
        return principal
    update: dict[str, object] = {"named_datasets": named_datasets(session, *who, now)}
    if principal.home_center is None:
        update["campaign_ids"] = _local_campaign(session, campaign)
    return principal.model_copy(update=update)


def email_of(session: Session, principal: Principal) -> str:
    """Where notices to the caller go: a local user's address, or the one its home center
    vouched for in its newest session ('' when none)."""
    if principal.home_center is None and principal.user_id is not None:
        return session.scalar(select(User.email).where(User.id == principal.user_id)) or ""
    query = (
        select(VouchedSession.email)
        .where(VouchedSession.center == principal.home_center)
        .where(VouchedSession.username == principal.username)
        .order_by(VouchedSession.id.desc())
        .limit(1)
    )
    return session.scalar(query) or ""
