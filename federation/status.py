"""How fresh this center's copy of each peer's records is (the status route, the CLI, the UI)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog.changes import last_seq
from catalog.federation_models import Peer
from catalog.models import Center, PeerState


class PeerStatus(BaseModel):
    """One peer as this center sees it."""

    code: str
    name: str
    url: str
    enabled: bool
    records: int
    """The peer's shared datasets held here."""
    last_seq_applied: int
    remote_last_seq: int
    """The peer's newest seq at the last pull."""
    behind: int
    last_contact: datetime | None
    last_success: datetime | None
    last_error: str | None
    failures: int
    next_poll_at: datetime | None
    stale: bool
    """The last attempt failed: its records here may be out of date."""


class FederationStatus(BaseModel):
    """This center's log position and its peers."""

    center: str
    last_seq: int
    peers: list[PeerStatus]


def peer_status(session: Session) -> list[PeerStatus]:
    """Every configured peer with its replication state, by code."""
    rows = session.execute(
        select(Peer, PeerState, Center.shared_records)
        .outerjoin(PeerState, PeerState.peer_code == Peer.code)
        .outerjoin(Center, Center.code == Peer.code)
        .order_by(Peer.code)
    ).all()
    result = []
    for peer, state, records in rows:
        applied = state.last_seq_applied if state is not None else 0
        error = state.last_error if state is not None else None
        result.append(
            PeerStatus(
                code=peer.code,
                name=peer.name,
                url=peer.url,
                enabled=peer.enabled,
                records=records or 0,
                last_seq_applied=applied,
                remote_last_seq=peer.remote_last_seq,
                behind=max(peer.remote_last_seq - applied, 0),
                last_contact=state.last_contact if state is not None else None,
                last_success=peer.last_success,
                last_error=error,
                failures=peer.failures,
                next_poll_at=peer.next_poll_at,
                stale=error is not None or peer.failures > 0,
            )
        )
    return result


def federation_status(session: Session, local_code: str) -> FederationStatus:
    """The public status document: our log position and every peer."""
    peers = peer_status(session)
    return FederationStatus(center=local_code, last_seq=last_seq(session), peers=peers)


def record_notification(session: Session, sender: str, seq: int, now: datetime) -> None:
    """A peer said its log reached `seq`: make a pull due at once (the replicator looks)."""
    peer = session.get(Peer, sender.upper())
    if peer is not None and seq > peer.notified_seq:
        peer.notified_seq = seq
        peer.next_poll_at = now
