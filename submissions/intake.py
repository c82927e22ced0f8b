"""What every branch of the intake pipeline shares: the submission's ticket and result, and
the state moves (`set_state`, `finish`, `reject`, `take_duplicate`).

`pipeline` (data files) and `products` (field-catalog products) both build on this module,
so neither imports the other's internals. Every move goes through `Submission.move_to`,
which refuses a move `catalog.submission_models.TRANSITIONS` does not allow.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from catalog.schemas import Principal
from catalog.storage import ArchiveStore
from catalog.submission_models import Submission, SubmissionState
from catalog.submission_records import registered_with_sha
from submissions.acceptance import SubmitOptions
from submissions.reports import Report
from submissions.staging import StagedFile

logger = logging.getLogger(__name__)


@dataclass
class SubmissionResult:
    """A submission's state and report, as receivers show it."""

    submission_id: str
    state: str
    kind: str
    original_name: str
    size: int
    sha256: str
    dataset_public_id: str | None
    product_id: int | None
    report_text: str
    report: dict[str, Any] = field(default_factory=dict)
    duplicate: bool = False
    created_at: datetime | None = None

    @property
    def accepted(self) -> bool:
        """Whether the file is in the catalog."""
        return self.state == SubmissionState.REGISTERED

    @property
    def warnings(self) -> list[dict[str, Any]]:
        """The warning findings of the report."""
        return [d for d in self.report.get("diagnostics", []) if d.get("severity") == "warning"]


def result_of(row: Submission, duplicate: bool = False) -> SubmissionResult:
    """The result view of a submission row."""
    return SubmissionResult(
        submission_id=row.public_id,
        state=row.state,
        kind=row.kind,
        original_name=row.original_name,
        size=row.size,
        sha256=row.sha256,
        dataset_public_id=row.dataset_public_id,
        product_id=row.product_id,
        report_text=row.report_text,
        report=dict(row.report or {}),
        duplicate=duplicate,
        created_at=row.created_at,
    )


@dataclass(frozen=True)
class Intake:
    """Everything one submission's steps need besides the file."""

    sessions: sessionmaker[Session]
    store: ArchiveStore
    submitter: Principal
    center_code: str
    campaign_code: str
    receiver: str
    options: SubmitOptions
    now: datetime


@dataclass(frozen=True)
class Ticket:
    """The submission row a file travels with."""

    row_id: int
    public_id: str
    name: str


def set_state(intake: Intake, ticket: Ticket, state: SubmissionState, **values: Any) -> None:
    """Commit the submission's next state (and any other columns given)."""
    with intake.sessions() as session, session.begin():
        row = session.get_one(Submission, ticket.row_id)
        row.move_to(state)
        row.updated_at = intake.now
        for key, value in values.items():
            setattr(row, key, value)


def finish(
    row: Submission, state: SubmissionState, report: Report, now: datetime, **values: Any
) -> None:
    """Put the final state and report on a row (inside the caller's transaction)."""
    row.move_to(state)
    row.report_text = report.as_text(state)
    row.report = report.as_json(state)
    row.updated_at = now
    for key, value in values.items():
        setattr(row, key, value)


def _write_atomic(path: Path, content: bytes) -> None:
    temp = path.with_name(f".{path.name}.tmp")
    with temp.open("wb") as handle:
        handle.write(content)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temp, path)


def reject(intake: Intake, ticket: Ticket, staged: Path | None, report: Report) -> SubmissionResult:
    """Keep the bytes under rejected/ with the report in text and JSON; commit `rejected`."""
    rejected = intake.store.rejected_dir
    rejected.mkdir(parents=True, exist_ok=True)
    if staged is not None and staged.exists():
        os.replace(staged, rejected / f"{ticket.public_id}.bin")
    text = report.as_text(SubmissionState.REJECTED).encode()
    _write_atomic(rejected / f"{ticket.public_id}.report.txt", text)
    payload = json.dumps(report.as_json(SubmissionState.REJECTED), indent=2).encode()
    _write_atomic(rejected / f"{ticket.public_id}.report.json", payload)
    with intake.sessions() as session, session.begin():
        row = session.get_one(Submission, ticket.row_id)
        finish(row, SubmissionState.REJECTED, report, intake.now)
        logger.info("submission %s (%s) rejected", ticket.public_id, intake.receiver)
        return result_of(row)


def take_duplicate(
    intake: Intake, ticket: Ticket, staged: StagedFile, report: Report, public_id: str | None
) -> SubmissionResult:
    """The same bytes again: one submission. The earlier one answers; nothing changes."""
    staged.path.unlink(missing_ok=True)
    with intake.sessions() as session, session.begin():
        row = session.get_one(Submission, ticket.row_id)
        earlier = registered_with_sha(
            session, staged.sha256, intake.center_code, intake.campaign_code
        )
        if earlier is not None and earlier.id != row.id:
            session.delete(row)
            return result_of(earlier, duplicate=True)
        report.notes.append("identical to the archived version; nothing changed")
        finish(row, SubmissionState.REGISTERED, report, intake.now, dataset_public_id=public_id)
        return result_of(row, duplicate=True)
