"""Tables of the federation: configured peers, their signing keys, seen nonces, tombstones."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from catalog.model_base import Base

__all__ = ["Handover", "MirrorTombstone", "Peer", "PeerKey", "SeenNonce"]


class Peer(Base):
    """A center this one exchanges changes with (its replication state is in `PeerState`)."""

    __tablename__ = "peers"
    code: Mapped[str] = mapped_column(String(16), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    url: Mapped[str] = mapped_column(String(500))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    notified_seq: Mapped[int] = mapped_column(Integer, default=0)
    """The newest seq the peer told us it has (a notification); a pull is due while ahead."""
    remote_last_seq: Mapped[int] = mapped_column(Integer, default=0)
    """The peer's newest seq as of the last pull."""
    failures: Mapped[int] = mapped_column(Integer, default=0)
    """Consecutive failed contacts; the back-off grows with it."""
    next_poll_at: Mapped[datetime | None]
    last_success: Mapped[datetime | None]
    created_at: Mapped[datetime]


class PeerKey(Base):
    """A shared HMAC secret with a peer; the newest valid key signs, every valid key verifies."""

    __tablename__ = "peer_keys"
    __table_args__ = (UniqueConstraint("peer_code", "key_id", name="uq_peer_keys_peer_key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    peer_code: Mapped[str] = mapped_column(String(16), index=True)
    key_id: Mapped[str] = mapped_column(String(64))
    secret: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime | None]
    """After this instant the key is refused (set when a newer key replaces it)."""


class SeenNonce(Base):
    """A nonce of a signed request, kept for the replay window."""

    __tablename__ = "seen_nonces"
    __table_args__ = (
        UniqueConstraint("sender", "nonce", name="uq_seen_nonces_sender_nonce"),
        Index("ix_seen_nonces_seen_at", "seen_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    sender: Mapped[str] = mapped_column(String(16))
    nonce: Mapped[str] = mapped_column(String(64))
    seen_at: Mapped[datetime]


class MirrorTombstone(Base):
    """A mirrored record that its origin withdrew or made private: no older change revives it."""

    __tablename__ = "mirror_tombstones"
    public_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    origin_center: Mapped[str] = mapped_column(String(16))
    origin_version: Mapped[int] = mapped_column(Integer)
    removed_at: Mapped[datetime]
    reason: Mapped[str] = mapped_column(Text, default="")


class Handover(Base):
    """A hand-over of every record one center originated to another (`catalog.handover`).

    At the closing center it is `offered` (its records may be pulled by `to_center`) until
    `done` (its records now name the new origin); at the receiving center it is `pulling`
    (the worker resumes it after any crash) until `done`.
    """

    __tablename__ = "handovers"
    __table_args__ = (UniqueConstraint("from_center", "to_center", name="uq_handovers_from_to"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    from_center: Mapped[str] = mapped_column(String(16))
    to_center: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16))
    records: Mapped[int] = mapped_column(Integer, default=0)
    bytes_pulled: Mapped[int] = mapped_column(BigInteger, default=0)
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    last_error: Mapped[str] = mapped_column(Text, default="")
