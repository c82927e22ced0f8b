"""How fresh this center's copy of each peer's records is (the status route, the CLI, the UI)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel
from sqlalchemy.orm import Session

from catalog.changes import last_seq
from catalog.peer_records import note_notification, peers_with_state


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
    result = []
    for peer, state, records in peers_with_state(session):
        applied = state.last_seq_applied if state is not None else 0
        error = state.last_error if state is not None else None
        result.append(
            PeerStatus(
                code=peer.code,
                name=peer.name,
                url=peer.url,
                enabled=peer.enabled,
                records=records,
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
    note_notification(session, sender, seq, now)
