"""The submission record: one upload through the intake pipeline and where it got to."""

from __future__ import annotations

import enum
import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from catalog.errors import IllegalTransitionError
from catalog.model_base import Base


class SubmissionState(enum.StrEnum):
    """Where a submission got to in the intake pipeline (see `TRANSITIONS`)."""

    RECEIVED = "received"
    STAGED = "staged"
    VALIDATED = "validated"
    ARCHIVED = "archived"
    REGISTERED = "registered"
    REJECTED = "rejected"


S = SubmissionState
FIRST_STATES = frozenset({S.RECEIVED, S.STAGED})
"""A submission starts `received` (bytes arriving) or `staged` (a receiver staged them)."""
TRANSITIONS: dict[SubmissionState, frozenset[SubmissionState]] = {
    S.RECEIVED: frozenset({S.STAGED, S.REJECTED}),
    S.STAGED: frozenset({S.VALIDATED, S.REJECTED}),
    # `validated` and `archived` may be entered again: start-up reconciliation replays the
    # steps of a crashed submission from its complete bytes (every step is idempotent).
    S.VALIDATED: frozenset({S.VALIDATED, S.ARCHIVED, S.REGISTERED, S.REJECTED}),
    S.ARCHIVED: frozenset({S.VALIDATED, S.ARCHIVED, S.REGISTERED, S.REJECTED}),
    S.REGISTERED: frozenset(),
    S.REJECTED: frozenset(),
}
"""The moves the pipeline may make; `registered` from `validated` is a duplicate's answer."""
SUBMISSION_STATES = tuple(state.value for state in SubmissionState)
FINAL_STATES = tuple(state.value for state in SubmissionState if not TRANSITIONS[state])


def check_transition(current: str, new: str) -> SubmissionState:
    """`new` as a state if `current` may move there; IllegalTransitionError if not."""
    target = SubmissionState(new)
    if target not in TRANSITIONS[SubmissionState(current)]:
        raise IllegalTransitionError(f"a submission cannot move from {current} to {new}")
    return target


def new_submission_id() -> str:
    """A random URL-safe submission id (never sequential)."""
    return secrets.token_urlsafe(12)


class Submission(Base):
    """One file received by a receiver (web, REST, FTP, watched directory), and its fate.

    `original_name` is the sanitised name the submitter gave; it is shown, never used as a
    path: the bytes live under `staging_name` (a server-made name) until archived.
    """

    __tablename__ = "submissions"
    __table_args__ = (
        CheckConstraint(f"state IN {SUBMISSION_STATES!r}", name="state"),
        Index("ix_submissions_submitter_created", "submitter_user_id", "created_at"),
        Index("ix_submissions_state", "state"),
        Index("ix_submissions_sha256", "sha256"),
        Index("ix_submissions_receiver_created", "receiver", "created_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True, default=new_submission_id)
    receiver: Mapped[str] = mapped_column(String(16))
    submitter_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    submitter: Mapped[str] = mapped_column(String(100), default="")
    center_code: Mapped[str] = mapped_column(String(16))
    campaign_code: Mapped[str] = mapped_column(String(32))
    original_name: Mapped[str] = mapped_column(String(255), default="")
    staging_name: Mapped[str] = mapped_column(String(64), default="")
    size: Mapped[int] = mapped_column(BigInteger, default=0)
    sha256: Mapped[str] = mapped_column(String(64), default="")
    kind: Mapped[str] = mapped_column(String(16), default="data")
    state: Mapped[str] = mapped_column(String(16), default="received")
    options: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    report_text: Mapped[str] = mapped_column(Text, default="")
    report: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    dataset_public_id: Mapped[str | None] = mapped_column(String(32))
    product_id: Mapped[int | None] = mapped_column(ForeignKey("products.id", ondelete="SET NULL"))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    def move_to(self, state: str) -> None:
        """Put the submission in `state`; IllegalTransitionError unless `TRANSITIONS` allow it."""
        self.state = check_transition(self.state, state).value
