"""Tables of what the center tells people: the outbox of e-mail waiting for the relay."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from catalog.model_base import Base


class OutgoingMail(Base):
    """One e-mail to send through the configured relay (`[mail]`), kept until it is sent.

    Mail is written in the same transaction as the event it reports (an approval, a
    validation report, a release), so a crash never loses a notice nor sends one for an
    event that was rolled back; the worker hands it to the relay (`catalog.outbox`).
    """

    __tablename__ = "outgoing_mail"
    __table_args__ = (Index("ix_outgoing_mail_due", "sent_at", "next_attempt_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    recipient: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(String(998))
    body: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(64), default="")
    """What the mail is about (`access-request`, `release`, `receipt`...), for the staff list."""
    dedupe_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    """When set, a second notice with the same key is not queued (a release told once)."""
    created_at: Mapped[datetime]
    next_attempt_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    sent_at: Mapped[datetime | None]
    last_error: Mapped[str] = mapped_column(Text, default="")
