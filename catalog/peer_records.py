"""The rows the federation reads and writes: peers, their keys, state and seen nonces; the
centers named in a feed; the shared records a digest covers.

The catalog owns these tables like every other; `federation.peers` and the replicator call
these functions and never build SQL of their own. Service functions take the session and
never commit; the caller owns the transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Select, delete, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload, sessionmaker

from catalog.access_states import SHARED_STATES
from catalog.federation_models import Peer, PeerKey, SeenNonce
from catalog.models import Center, Dataset, PeerState


def find_peer(session: Session, code: str) -> Peer | None:
    """The peer with `code` (any case), or None."""
    return session.get(Peer, code.upper())


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


def set_enabled(session: Session, peer: Peer, enabled: bool) -> None:
    """Trust (or stop trusting) a peer; its keys and mirrored records stay."""
    peer.enabled = enabled
    session.flush()


def peer_state(session: Session, code: str) -> PeerState | None:
    """How far this center has applied the peer's log, and how the last contact went."""
    return session.get(PeerState, code.upper())


def _valid_keys(codes: list[str], now: datetime) -> Select[PeerKey]:
    """These peers' keys that verify at `now`, by peer, newest first."""
    return (
        select(PeerKey)
        .where(
            PeerKey.peer_code.in_(codes),
            or_(PeerKey.expires_at.is_(None), PeerKey.expires_at > now),
        )
        .order_by(PeerKey.peer_code, PeerKey.created_at.desc(), PeerKey.id.desc())
    )


def valid_keys(session: Session, peer_code: str, now: datetime) -> list[PeerKey]:
    """The peer's keys that verify at `now`, newest first."""
    return list(session.scalars(_valid_keys([peer_code.upper()], now)))


@dataclass(frozen=True)
class ReplicationTarget:
    """What a replicator's tick reads of one enabled peer."""

    code: str
    url: str
    notified_seq: int
    next_poll_at: datetime | None
    applied: int
    key: PeerKey | None


def replication_targets(session: Session, now: datetime) -> list[ReplicationTarget]:
    """Every enabled peer, by code: how far its log is applied here, what it last announced,
    when it is due, and its signing key (its newest valid one; None without one). Two
    statements whatever the number of peers: a replicator asks this at every tick."""
    rows = session.execute(
        select(Peer.code, Peer.url, Peer.notified_seq, Peer.next_poll_at,
               PeerState.last_seq_applied)
        .outerjoin(PeerState, PeerState.peer_code == Peer.code)
        .where(Peer.enabled.is_(True))
        .order_by(Peer.code)
    ).all()  # fmt: skip
    if not rows:
        return []
    keys: dict[str, PeerKey] = {}
    for key in session.scalars(_valid_keys([row.code for row in rows], now)):
        keys.setdefault(key.peer_code, key)  # the first is the newest
    return [
        ReplicationTarget(row.code, row.url, int(row.notified_seq or 0), row.next_poll_at,
                          int(row.last_seq_applied or 0), keys.get(row.code))
        for row in rows
    ]  # fmt: skip


def find_key(session: Session, peer_code: str, key_id: str) -> PeerKey | None:
    """The peer's key with this id, valid or not."""
    query = select(PeerKey).where(PeerKey.peer_code == peer_code.upper(), PeerKey.key_id == key_id)
    return session.scalars(query).one_or_none()


def add_key(
    session: Session,
    peer: Peer,
    key_id: str,
    secret: str,
    now: datetime,
    *,
    grace: timedelta,
) -> PeerKey:
    """A new key for `peer`; its other valid keys expire `grace` from now (if not sooner)."""
    for older in valid_keys(session, peer.code, now):
        older.expires_at = now + grace if older.expires_at is None else older.expires_at
    key = PeerKey(peer_code=peer.code, key_id=key_id, secret=secret, created_at=now)
    session.add(key)
    session.flush()
    return key


def retire_keys_except(session: Session, peer_code: str, key_id: str, now: datetime) -> int:
    """End every other key of the peer now (after both sides switched); how many ended."""
    ended = 0
    for key in valid_keys(session, peer_code, now):
        if key.key_id != key_id:
            key.expires_at, ended = now, ended + 1
    session.flush()
    return ended


def key_secrets(session: Session, sender: str, key_id: str, now: datetime) -> list[str]:
    """The secrets of an enabled peer's valid key `key_id` (none if unknown or disabled)."""
    peer = find_peer(session, sender)
    if peer is None or not peer.enabled:
        return []
    return [k.secret for k in valid_keys(session, peer.code, now) if k.key_id == key_id]


def note_nonce(factory: sessionmaker[Session], sender: str, nonce: str, now: datetime) -> bool:
    """Record a request's nonce in its own transaction; False if it was seen before.

    The unique index decides, so two replays racing each other cannot both pass.
    """
    try:
        with factory() as session, session.begin():
            session.add(SeenNonce(sender=sender, nonce=nonce, seen_at=now))
    except IntegrityError:
        return False
    return True


def forget_nonces_before(session: Session, horizon: datetime) -> int:
    """Drop the nonces seen before `horizon`; how many."""
    result = session.execute(delete(SeenNonce).where(SeenNonce.seen_at < horizon))
    return int(getattr(result, "rowcount", 0) or 0)


def record_pull_success(
    session: Session, code: str, remote_last_seq: int, now: datetime, next_poll_at: datetime
) -> None:
    """A pull from the peer worked: reset its failures, note its newest seq and next poll."""
    peer, state = find_peer(session, code), peer_state(session, code)
    if peer is None or state is None:
        return
    peer.failures, peer.remote_last_seq, peer.last_success = 0, remote_last_seq, now
    peer.next_poll_at = next_poll_at
    state.last_contact, state.last_error = now, None


def record_pull_failure(
    session: Session, code: str, message: str, next_poll: Callable[[int], datetime]
) -> int | None:
    """A pull from the peer failed: count it, keep the message, poll again at
    `next_poll(failures in a row)`; the failures in a row (None for an unknown peer)."""
    peer, state = find_peer(session, code), peer_state(session, code)
    if peer is None:
        return None
    peer.failures += 1
    peer.next_poll_at = next_poll(peer.failures)
    # a notification that arrived while it failed is served by the back-off poll
    peer.notified_seq = min(peer.notified_seq, state.last_seq_applied if state else 0)
    if state is not None:
        state.last_error = message[:500]
    return peer.failures


def peer_codes(session: Session) -> set[str]:
    """The codes of every configured peer (enabled or not)."""
    return set(session.scalars(select(Peer.code)))


def lock_checkpoint(session: Session, peer_code: str) -> PeerState:
    """The peer's state row, locked for this transaction (made if missing)."""
    state = session.get(PeerState, peer_code, with_for_update=True)
    if state is None:
        state = PeerState(peer_code=peer_code, last_seq_applied=0)
        session.add(state)
    return state


def set_checkpoint(session: Session, state: PeerState, seq: int, now: datetime) -> None:
    """The peer's log is applied up to `seq`; the contact at `now` went well."""
    state.last_seq_applied = seq
    state.last_contact, state.last_error = now, None
    session.flush()


def peers_with_state(session: Session) -> list[tuple[Peer, PeerState | None, int]]:
    """Every configured peer by code, with its replication state and its records held here."""
    rows = session.execute(
        select(Peer, PeerState, Center.shared_records)
        .outerjoin(PeerState, PeerState.peer_code == Peer.code)
        .outerjoin(Center, Center.code == Peer.code)
        .order_by(Peer.code)
    ).all()
    return [(peer, state, int(records or 0)) for peer, state, records in rows]


def note_notification(session: Session, sender: str, seq: int, now: datetime) -> None:
    """A peer said its log reached `seq`: make a pull due at once (the replicator looks)."""
    peer = find_peer(session, sender)
    if peer is not None and seq > peer.notified_seq:
        peer.notified_seq = seq
        peer.next_poll_at = now


def centers_named(session: Session, codes: set[str]) -> list[tuple[str, str, str]]:
    """(code, name, base URL) of the centers known here among `codes`."""
    rows = session.execute(
        select(Center.code, Center.name, Center.base_url).where(Center.code.in_(codes))
    ).all()
    return [(code, name, url) for code, name, url in rows]


def shared_datasets(session: Session) -> Iterator[Dataset]:
    """Every shared record held here (own and mirrored), with its variables and versions."""
    query = (
        select(Dataset)
        .where(Dataset.access_state.in_([s.value for s in SHARED_STATES]))
        .options(selectinload(Dataset.variables), selectinload(Dataset.versions))
        .execution_options(yield_per=1000)
    )
    yield from session.scalars(query)
