"""Peers and their keys: add, list, rotate, look up; nonces seen; a peer's request verified.

The rows live in the catalog and are read and written through `catalog.peer_records`; this
module adds the federation's rules (key ids and secrets, grace periods, the replay window)
and its errors. Service functions take the session and never commit; the caller owns the
transaction.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from catalog import peer_records
from catalog.federation_models import Peer, PeerKey

# Re-exported: the CLI and the tests reach every peer operation through this module.
from catalog.peer_records import ensure_peer as ensure_peer
from catalog.peer_records import list_peers as list_peers
from catalog.peer_records import valid_keys as valid_keys
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
    peer = peer_records.find_peer(session, code)
    if peer is None:
        raise UnknownPeerError(f"no peer {code!r} is configured")
    return peer


def set_enabled(session: Session, code: str, enabled: bool) -> Peer:
    """Stop (or resume) trusting a peer: a disabled peer is neither pulled from nor notified,
    and its signed requests are refused as from an unknown key. Records already mirrored
    stay, as they were; keys stay too, so enabling it again needs no new exchange."""
    peer = get_peer(session, code)
    peer_records.set_enabled(session, peer, enabled)
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
    existing = peer_records.find_key(session, peer.code, key_id)
    if existing is not None:
        existing.secret = secret
        session.flush()
    else:
        peer_records.add_key(session, peer, key_id, secret, now, grace=grace)
    return NewKey(peer_code=peer.code, key_id=key_id, secret=secret)


def signing_key(session: Session, peer_code: str, now: datetime) -> PeerKey | None:
    """The key to sign requests to the peer with: its newest valid one."""
    keys = valid_keys(session, peer_code, now)
    return keys[0] if keys else None


def retire_keys_except(session: Session, peer_code: str, key_id: str, now: datetime) -> int:
    """End every other key of the peer now (after both sides switched); how many ended."""
    return peer_records.retire_keys_except(session, peer_code, key_id, now)


def secrets_for(session: Session, now: datetime) -> Callable[[str, str], list[str]]:
    """A lookup `(sender, key_id) -> [secret]` for `signing.verify_headers`."""

    def lookup(sender: str, key_id: str) -> list[str]:
        return peer_records.key_secrets(session, sender, key_id, now)

    return lookup


def remember_nonce(factory: sessionmaker[Session], signed: SignedRequest, now: datetime) -> None:
    """Record a request's nonce in its own transaction; SignatureError if it was seen before.

    The unique index decides, so two replays racing each other cannot both pass.
    """
    if not peer_records.note_nonce(factory, signed.sender, signed.nonce, now):
        raise SignatureError("nonce already used (replay)")


def forget_old_nonces(session: Session, now: datetime) -> int:
    """Drop nonces older than the replay window (their timestamps would be refused anyway)."""
    horizon = now - MAX_AGE - MAX_AHEAD - timedelta(minutes=1)
    return peer_records.forget_nonces_before(session, horizon)


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
