"""Tables of scheduled jobs: what PIs and staff defined, and each run (catalog/jobs.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from catalog.model_base import Base

PERIODS = ("hourly", "daily", "weekly")
RUN_STATES = ("running", "succeeded", "failed")


class JobDefinition(Base):
    """A job a PI or staff defined: its kind, parameters, period and when it is next due."""

    __tablename__ = "job_definitions"
    __table_args__ = (
        CheckConstraint(f"period IN {PERIODS!r}", name="period"),
        Index("ix_job_definitions_due", "enabled", "next_due"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32))
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    period: Mapped[str] = mapped_column(String(16))
    owner_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    enabled: Mapped[bool] = mapped_column(default=True)
    next_due: Mapped[datetime]
    created_at: Mapped[datetime]


class JobRun(Base):
    """One attempt of one due run of a job; (definition, due, attempt) is unique, so a run
    recorded twice fails at the database even if the queue let it through."""

    __tablename__ = "job_runs"
    __table_args__ = (
        UniqueConstraint("definition_id", "due_at", "attempt"),
        CheckConstraint(f"state IN {RUN_STATES!r}", name="state"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    definition_id: Mapped[int] = mapped_column(
        ForeignKey("job_definitions.id", ondelete="CASCADE"), index=True
    )
    due_at: Mapped[datetime]
    attempt: Mapped[int] = mapped_column(Integer, default=1)
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    duration_s: Mapped[float | None] = mapped_column(Float)
    state: Mapped[str] = mapped_column(String(16), default="running")
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error: Mapped[str] = mapped_column(Text, default="")
    worker: Mapped[str] = mapped_column(String(100), default="")


TRANSFER_AUTH = ("token", "hmac")


class TransferSource(Base):
    """A remote HTTP API that lists new files (see docs/quality.md, pull transfers), pulled
    by a `pull-transfer` job under its PI with its defaults. `cursor` is the listing position
    of the last file taken in; it moves only when a file was archived (or refused with a
    report), never on a transfer error, so an interrupted pull resumes at that file."""

    __tablename__ = "transfer_sources"
    __table_args__ = (CheckConstraint(f"auth IN {TRANSFER_AUTH!r}", name="auth"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    url: Mapped[str] = mapped_column(String(1000))
    auth: Mapped[str] = mapped_column(String(8))
    key_id: Mapped[str] = mapped_column(String(100), default="")
    secret: Mapped[str] = mapped_column(String(500))
    """The pre-shared secret the token or signature is computed from (never shown)."""
    owner_user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    campaign: Mapped[str] = mapped_column(String(32))
    category: Mapped[str | None] = mapped_column(String(16))
    access: Mapped[str | None] = mapped_column(String(16))
    cursor: Mapped[str] = mapped_column(String(500), default="")
    last_checked: Mapped[datetime | None]
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime]


__all__ = ["JobDefinition", "JobRun", "TransferSource"]
