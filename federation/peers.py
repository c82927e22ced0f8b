"""Peers and their keys in the database: add, list, rotate, look up; nonces seen.

Service functions take the session and never commit; the caller owns the transaction.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from catalog.federation_models import Peer, PeerKey, SeenNonce
from catalog.models import PeerState
from federation.errors import SignatureError, UnknownPeerError
from federation.signing import MAX_AGE, MAX_AHEAD, SignedRequest, verify_headers

DEFAULT_GRACE = timedelta(hours=24)
"""How long a replaced key keeps verifying, so both sides can switch at their own pace."""


@dataclass(frozen=True)
class NewKey:
    """A key just made: show its secret once, to give to the peer's administrator."""

    peer_code: str
    key_id: str
    secret: str


def new_secret() -> str:
    """A fresh 256-bit secret, URL-safe text."""
    return secrets.token_urlsafe(32)


def new_key_id(now: datetime) -> str:
    """A key id that sorts by creation and is unique enough to paste."""
    return f"k{now:%Y%m%d%H%M%S}-{secrets.token_hex(3)}"


def get_peer(session: Session, code: str) -> Peer:
    """The peer with `code`; UnknownPeerError if none."""
    peer = session.get(Peer, code.upper())
    if peer is None:
        raise UnknownPeerError(f"no peer {code!r} is configured")
    return peer


def list_peers(session: Session, *, enabled_only: bool = False) -> list[Peer]:
    """Every configured peer, by code."""
    query = select(Peer).order_by(Peer.code)
    if enabled_only:
        query = query.where(Peer.enabled.is_(True))
    return list(session.scalars(query))


def ensure_peer(session: Session, code: str, url: str, name: str, now: datetime) -> Peer:
    """The peer with `code`, created or updated with this URL and name; its state row too."""
    code = code.upper()
    peer = session.get(Peer, code)
    if peer is None:
        peer = Peer(code=code, url=url.rstrip("/"), name=name or code, created_at=now)
        peer.enabled, peer.notified_seq, peer.remote_last_seq, peer.failures = True, 0, 0, 0
        session.add(peer)
    else:
        peer.url, peer.name = url.rstrip("/"), name or peer.name
    if session.get(PeerState, code) is None:
        session.add(PeerState(peer_code=code, last_seq_applied=0))
    session.flush()
    return peer


def set_enabled(session: Session, code: str, enabled: bool) -> Peer:
    """Stop (or resume) trusting a peer: a disabled peer is neither pulled from nor notified,
    and its signed requests are refused as from an unknown key. Records already mirrored
    stay, as they were; keys stay too, so enabling it again needs no new exchange."""
    peer = get_peer(session, code)
    peer.enabled = enabled
    session.flush()
    return peer


def add_key(
    session: Session,
    peer_code: str,
    now: datetime,
    *,
    key_id: str | None = None,
    secret: str | None = None,
    grace: timedelta = DEFAULT_GRACE,
) -> NewKey:
    """Add a key for a peer; it signs from now on and older keys expire after `grace`.

    Adding a key id that exists with the same secret changes nothing (idempotent set-up).
    """
    peer = get_peer(session, peer_code)
    key_id = key_id or new_key_id(now)
    secret = secret or new_secret()
    existing = session.scalars(
        select(PeerKey).where(PeerKey.peer_code == peer.code, PeerKey.key_id == key_id)
    ).one_or_none()
    if existing is not None:
        existing.secret = secret
    else:
        for older in _valid_keys(session, peer.code, now):
            older.expires_at = now + grace if older.expires_at is None else older.expires_at
        session.add(PeerKey(peer_code=peer.code, key_id=key_id, secret=secret, created_at=now))
    session.flush()
    return NewKey(peer_code=peer.code, key_id=key_id, secret=secret)


def _valid_keys(session: Session, peer_code: str, now: datetime) -> list[PeerKey]:
    query = (
        select(PeerKey)
        .where(
            PeerKey.peer_code == peer_code,
            or_(PeerKey.expires_at.is_(None), PeerKey.expires_at > now),
        )
        .order_by(PeerKey.created_at.desc(), PeerKey.id.desc())
    )
    return list(session.scalars(query))


def valid_keys(session: Session, peer_code: str, now: datetime) -> list[PeerKey]:
    """The peer's keys that verify at `now`, newest first."""
    return _valid_keys(session, peer_code.upper(), now)


def signing_key(session: Session, peer_code: str, now: datetime) -> PeerKey | None:
    """The key to sign requests to the peer with: its newest valid one."""
    keys = _valid_keys(session, peer_code.upper(), now)
    return keys[0] if keys else None


def retire_keys_except(session: Session, peer_code: str, key_id: str, now: datetime) -> int:
    """End every other key of the peer now (after both sides switched); how many ended."""
    ended = 0
    for key in _valid_keys(session, peer_code.upper(), now):
        if key.key_id != key_id:
            key.expires_at, ended = now, ended + 1
    session.flush()
    return ended


def secrets_for(session: Session, now: datetime) -> Callable[[str, str], list[str]]:
    """A lookup `(sender, key_id) -> [secret]` for `signing.verify_headers`."""

    def lookup(sender: str, key_id: str) -> list[str]:
        peer = session.get(Peer, sender.upper())
        if peer is None or not peer.enabled:
            return []
        keys = _valid_keys(session, peer.code, now)
        return [k.secret for k in keys if k.key_id == key_id]

    return lookup


def remember_nonce(factory: sessionmaker[Session], signed: SignedRequest, now: datetime) -> None:
    """Record a request's nonce in its own transaction; SignatureError if it was seen before.

    The unique index decides, so two replays racing each other cannot both pass.
    """
    try:
        with factory() as session, session.begin():
            session.add(SeenNonce(sender=signed.sender, nonce=signed.nonce, seen_at=now))
    except IntegrityError as err:
        raise SignatureError("nonce already used (replay)") from err


def forget_old_nonces(session: Session, now: datetime) -> int:
    """Drop nonces older than the replay window (their timestamps would be refused anyway)."""
    horizon = now - MAX_AGE - MAX_AHEAD - timedelta(minutes=1)
    result = session.execute(delete(SeenNonce).where(SeenNonce.seen_at < horizon))
    return int(getattr(result, "rowcount", 0) or 0)


@dataclass(frozen=True)
class ConfiguredPeer:
    """A peer named in the node's configuration (its key too, when the file gives one)."""

    code: str
    url: str
    name: str = ""
    key_id: str = ""
    secret: str = ""


def sync_configured_peers(session: Session, peers: list[ConfiguredPeer], now: datetime) -> None:
    """Make sure each configured peer (and its configured key) is in the database."""
    for configured in peers:
        ensure_peer(session, configured.code, configured.url, configured.name, now)
        if configured.key_id and configured.secret:
            add_key(session, configured.code, now, key_id=configured.key_id,
                    secret=configured.secret)  # fmt: skip


def authenticate_peer_request(
    factory: sessionmaker[Session],
    *,
    local_code: str,
    method: str,
    path: str,
    query: str,
    headers: Mapping[str, str],
    body: bytes,
    now: datetime,
) -> SignedRequest:
    """Verify a peer's signed request against the keys held here, and burn its nonce."""
    with factory() as session:
        lookup = secrets_for(session, now)
        signed = verify_headers(
            audience=local_code, method=method, path=path, query=query, headers=headers,
            body=body, now=now, secrets_for=lookup,
        )  # fmt: skip
    remember_nonce(factory, signed, now)
    return signed
