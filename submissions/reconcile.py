"""Start-up reconciliation: finish or roll back what a crash left half done; clean staging.

A submission that stopped after its bytes were complete (staged, validated, archived) is
finished from those bytes (every step is idempotent: the archive is content-addressed and the
same bytes register once). One that stopped while its bytes were still arriving (received)
is rolled back: its partial file is removed and it is marked rejected ("send it again").
"""

from __future__ import annotations

import dataclasses
import logging
import shutil
from datetime import datetime
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from catalog.handover_files import HOLDING_PREFIX
from catalog.schemas import Principal, Role
from catalog.storage import ArchiveStore
from catalog.submission_models import Submission, SubmissionState
from catalog.submission_records import unfinished_submissions
from formats.limits import DEFAULT_LIMITS, Limits
from submissions.acceptance import SubmitOptions
from submissions.intake import Intake, Ticket, reject
from submissions.pipeline import process_staged
from submissions.reports import Report
from submissions.staging import StagedFile, stage_path

logger = logging.getLogger(__name__)


def _options(row: Submission) -> SubmitOptions:
    saved = dict(row.options or {})
    release = saved.get("release_at")
    return SubmitOptions(
        category=saved.get("category"),
        access=saved.get("access"),
        release_at=datetime.fromisoformat(release) if release else None,
        override=bool(saved.get("override")),
        owner_user_id=saved.get("owner_user_id"),
        max_bytes=int(saved.get("max_bytes") or SubmitOptions().max_bytes),
        limits=_limits(saved.get("limits")),
    )


def _limits(saved: object) -> Limits:
    """The caps a submission was received under (the defaults for rows saved before caps)."""
    if not isinstance(saved, dict):
        return DEFAULT_LIMITS
    known = {f.name for f in dataclasses.fields(Limits)}
    try:
        return Limits(**{k: int(v) for k, v in saved.items() if k in known})
    except (TypeError, ValueError):
        return DEFAULT_LIMITS


def _intake(sessions: sessionmaker[Session], store: ArchiveStore, row: Submission) -> Intake:
    role = Role((row.options or {}).get("role") or Role.ANONYMOUS.value)
    submitter = Principal(user_id=row.submitter_user_id, username=row.submitter, role=role)
    return Intake(
        sessions, store, submitter, row.center_code, row.campaign_code, row.receiver,
        _options(row), row.created_at,
    )  # fmt: skip


def _complete_bytes(store: ArchiveStore, row: Submission) -> StagedFile | None:
    """The submission's complete bytes in staging (copied back from the archive if there)."""
    if not row.sha256 or row.state == SubmissionState.RECEIVED:
        return None
    staged = store.staging_dir / row.staging_name if row.staging_name else None
    if staged is not None and staged.is_file() and staged.stat().st_size == row.size:
        return StagedFile(staged, row.size, row.sha256)
    original = store.original_path(row.sha256)
    if original.is_file():
        copy = stage_path(store, original, max(row.size, 1))
        if copy.sha256 == row.sha256:
            return copy
        copy.path.unlink(missing_ok=True)
    return None


def reconcile_one(sessions: sessionmaker[Session], store: ArchiveStore, row: Submission) -> str:
    """Finish or roll back one unfinished submission; its final state."""
    intake = _intake(sessions, store, row)
    ticket = Ticket(row.id, row.public_id, row.original_name)
    complete = _complete_bytes(store, row)
    if complete is not None:
        result = process_staged(intake, ticket, complete)
        logger.info("finished interrupted submission %s: %s", row.public_id, result.state)
        return result.state
    partial = store.staging_dir / row.staging_name if row.staging_name else None
    if partial is not None:
        partial.unlink(missing_ok=True)
    message = "the center restarted while this file was arriving; send it again"
    reject(intake, ticket, None, Report(row.original_name).refuse("SUB007", message))
    logger.info("rolled back interrupted submission %s", row.public_id)
    return SubmissionState.REJECTED


def clean_staging(store: ArchiveStore, started_at: datetime) -> int:
    """Remove staging files last written before `started_at` (no live upload owns them);
    a hand-over's holding folder stays (verified files its next run would fetch again)."""
    if not store.staging_dir.is_dir():
        return 0
    cutoff = started_at.timestamp()
    removed = 0
    for path in store.staging_dir.iterdir():
        if path.name.startswith(HOLDING_PREFIX) and path.is_dir():
            continue
        try:
            if path.stat().st_mtime < cutoff:
                if path.is_dir():
                    shutil.rmtree(path)
                else:
                    path.unlink()
                removed += 1
        except FileNotFoundError:
            continue
    return removed


def reconcile(sessions: sessionmaker[Session], store: ArchiveStore, started_at: datetime) -> int:
    """Settle every submission left unfinished before `started_at`; then clean staging."""
    with sessions() as session:
        rows = unfinished_submissions(session, started_at)
    for row in rows:
        try:
            reconcile_one(sessions, store, row)
        except Exception:  # one bad row must not stop the others; the log keeps it
            logger.exception("could not reconcile submission %s", row.public_id)
    removed = clean_staging(store, started_at)
    if rows or removed:
        logger.info("reconciled %d submission(s), removed %d staging file(s)", len(rows), removed)
    return len(rows)


def staging_files(store: ArchiveStore) -> list[Path]:
    """What is in staging now (for checks and tests)."""
    return sorted(store.staging_dir.iterdir()) if store.staging_dir.is_dir() else []
