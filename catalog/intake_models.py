"""Tables of e-mail intake and personal drops: per-user drop tokens and held mail.

A drop token is a user's secret drop address: the plus-part of the intake e-mail address
(`intake+TOKEN@host`), the FTP drop's login and the watched folder's subfolder (`TOKEN/`).
Only its SHA-256 is stored; revoking it ends every address made from it at once.
"""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from catalog.model_base import Base

__all__ = ["DropToken", "HeldMail"]

HELD_STATES = ("held", "released", "discarded")


def new_held_id() -> str:
    """A random URL-safe id of a held message."""
    return secrets.token_urlsafe(12)


class DropToken(Base):
    """A user's secret drop address (stored as its SHA-256), revocable."""

    __tablename__ = "drop_tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class HeldMail(Base):
    """A message the intake could not attribute to a user: kept for staff, never dropped."""

    __tablename__ = "held_mail"
    __table_args__ = (
        CheckConstraint(f"state IN {HELD_STATES!r}", name="state"),
        Index("ix_held_mail_state_received", "state", "received_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True, default=new_held_id)
    sender: Mapped[str] = mapped_column(String(320), default="")
    """The envelope sender as given (unproven: it is shown, never trusted)."""
    recipient: Mapped[str] = mapped_column(String(320), default="")
    subject: Mapped[str] = mapped_column(String(998), default="")
    reason: Mapped[str] = mapped_column(Text, default="")
    path: Mapped[str] = mapped_column(String(1000))
    """The raw message under the storage root (`mail/held/<public_id>.eml`)."""
    size: Mapped[int] = mapped_column(BigInteger, default=0)
    state: Mapped[str] = mapped_column(String(16), default="held")
    received_at: Mapped[datetime]
