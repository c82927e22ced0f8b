"""Tables of the supervised receivers: what staff want of each (written by the CLI and the
staff page) and what the worker's supervisor last saw (read by `/readyz` and the pages)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from catalog.model_base import Base

__all__ = ["ReceiverControl", "ReceiverStatus"]


class ReceiverControl(Base):
    """Staff's wish for one receiver: run or stop it, and a restart counter they raise."""

    __tablename__ = "receiver_controls"
    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    desired: Mapped[str] = mapped_column(String(16))
    """`running` or `stopped`; no row: the configuration's `enabled` decides at boot."""
    restart_seq: Mapped[int] = mapped_column(Integer, default=0)
    """Raised by each `restart`; the supervisor restarts when it sees a new value."""
    changed_at: Mapped[datetime]
    changed_by: Mapped[str] = mapped_column(String(100), default="")


class ReceiverStatus(Base):
    """What the supervisor last saw of one receiver (rewritten every few seconds)."""

    __tablename__ = "receiver_status"
    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16))
    """`running`, `stopped`, `restarting` (crashed, waiting out its back-off)."""
    restarts: Mapped[int] = mapped_column(Integer, default=0)
    detail: Mapped[str] = mapped_column(Text, default="")
    started_at: Mapped[datetime | None]
    updated_at: Mapped[datetime]
