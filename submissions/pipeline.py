"""The intake pipeline every receiver calls: received -> staged -> validated -> archived ->
registered, or rejected. Each state is committed as it is reached, so a crash leaves a row
that says how far the file got, and `reconcile` finishes or rolls it back at start-up.

The original is renamed into the archive before the transaction that registers it (dataset,
version, change-log entry and the submission's final state together) commits.
"""

from __future__ import annotations

import dataclasses
import logging
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

import formats
from catalog.errors import CatalogError, IllegalTransitionError
from catalog.registration import CATEGORIES, register_datafile
from catalog.schemas import Principal
from catalog.storage import ArchiveStore
from catalog.submission_models import FIRST_STATES, Submission, SubmissionState
from catalog.submission_records import find_campaign
from formats.model import DataFile
from formats.timeparse import campaign_time
from submissions.acceptance import Decision, SubmitOptions, decide
from submissions.errors import SubmissionForbiddenError, UploadRefusedError
from submissions.intake import (
    Intake,
    SubmissionResult,
    Ticket,
    finish,
    reject,
    result_of,
    set_state,
    take_duplicate,
)
from submissions.names import looks_like_product, sanitise_name
from submissions.products import take_product
from submissions.reports import Report
from submissions.staging import StagedFile, stage_path, stage_stream

logger = logging.getLogger(__name__)

__all__ = [
    "Intake",
    "SubmissionResult",
    "SubmitOptions",
    "open_ticket",
    "set_state",
    "submit_file",
]
HEAD_BYTES = 4096
REGISTER_ATTEMPTS = 2


def submit_file(
    session_factory: sessionmaker[Session],
    store: ArchiveStore,
    *,
    source: Path | BinaryIO | StagedFile,
    original_name: str,
    submitter: Principal,
    center_code: str,
    campaign: str,
    receiver: str,
    options: SubmitOptions,
    now: datetime,
) -> SubmissionResult:
    """Take one file in; the result says whether it was registered or why it was rejected.

    Raises `UnsafeNameError` before anything is stored, and `UploadRefusedError` (recorded as a
    rejected submission, its partial bytes removed) for an over-size or unreadable upload.
    """
    name = sanitise_name(original_name)
    intake = Intake(
        session_factory, store, submitter, center_code, campaign, receiver, options, now
    )
    if isinstance(source, StagedFile):
        ticket = open_ticket(intake, name, SubmissionState.STAGED, source.path.name, source)
        return process_staged(intake, ticket, source)
    path = store.new_staging_path()
    ticket = open_ticket(intake, name, SubmissionState.RECEIVED, path.name, None)
    try:
        if isinstance(source, Path):
            staged = stage_path(store, source, options.max_bytes, path)
        else:
            staged = stage_stream(store, source, options.max_bytes, path)
    except (UploadRefusedError, OSError) as err:
        path.unlink(missing_ok=True)
        message = str(err) if isinstance(err, UploadRefusedError) else "the file could not be read"
        reject(intake, ticket, None, Report(name).refuse("SUB006", message))
        if isinstance(err, UploadRefusedError):
            raise
        raise UploadRefusedError(message) from err
    set_state(intake, ticket, SubmissionState.STAGED, size=staged.size, sha256=staged.sha256)
    return process_staged(intake, ticket, staged)


def options_json(intake: Intake) -> dict[str, Any]:
    opts = intake.options
    return {
        "role": intake.submitter.role.value,
        "category": opts.category,
        "access": opts.access,
        "release_at": opts.release_at.isoformat() if opts.release_at else None,
        "override": opts.override,
        "owner_user_id": opts.owner_user_id,
        "max_bytes": opts.max_bytes,
        "limits": dataclasses.asdict(opts.limits),
    }


def open_ticket(
    intake: Intake,
    name: str,
    state: SubmissionState,
    staging_name: str,
    staged: StagedFile | None,
) -> Ticket:
    """Record the submission (committed) in its first state."""
    if state not in FIRST_STATES:
        raise IllegalTransitionError(f"a submission cannot start {state}")
    with intake.sessions() as session, session.begin():
        find_campaign(session, intake.campaign_code)
        row = Submission(
            receiver=intake.receiver,
            submitter_user_id=intake.submitter.user_id,
            submitter=intake.submitter.username or intake.receiver,
            center_code=intake.center_code,
            campaign_code=intake.campaign_code,
            original_name=name,
            staging_name=staging_name,
            size=staged.size if staged else 0,
            sha256=staged.sha256 if staged else "",
            state=state,
            options=options_json(intake),
            report={},
            created_at=intake.now,
            updated_at=intake.now,
        )
        session.add(row)
        session.flush()
        return Ticket(row.id, row.public_id, name)


def process_staged(intake: Intake, ticket: Ticket, staged: StagedFile) -> SubmissionResult:
    """Validate, archive and register a staged file (or reject it with its report)."""
    with staged.path.open("rb") as handle:
        head = handle.read(HEAD_BYTES)
    if looks_like_product(ticket.name, head):
        return take_product(intake, ticket, staged)
    return take_data(intake, ticket, staged)


def take_data(intake: Intake, ticket: Ticket, staged: StagedFile) -> SubmissionResult:
    """The data-file branch: formats validation, identity rules, archive, register."""
    with intake.sessions() as session:
        campaign = find_campaign(session, intake.campaign_code)
        period = campaign_time(campaign.start, campaign.end)
    validation = formats.validate(
        staged.path, campaign=period, filename=ticket.name, limits=intake.options.limits
    )
    report = Report(ticket.name, validation.format, list(validation.diagnostics))
    datafile = validation.datafile
    if not validation.valid or datafile is None:
        return reject(intake, ticket, staged.path, report)
    set_state(intake, ticket, SubmissionState.VALIDATED)
    category = intake.options.category or datafile.header.category or "research"
    if category not in CATEGORIES:
        report.refuse("SUB004", f"category must be one of {', '.join(CATEGORIES)}")
        return reject(intake, ticket, staged.path, report)
    try:
        with intake.sessions() as session:
            decision = decide_in(intake, session, datafile, staged.sha256, category)
            duplicate_of = decision.dataset.public_id if decision.dataset else None
    except SubmissionForbiddenError as err:
        return reject(intake, ticket, staged.path, report.refuse(err.code, str(err)))
    if decision.duplicate:
        return take_duplicate(intake, ticket, staged, report, duplicate_of)
    intake.store.put_original(staged.path, staged.sha256)
    set_state(intake, ticket, SubmissionState.ARCHIVED)
    for attempt in range(REGISTER_ATTEMPTS):
        try:
            return register(intake, ticket, staged, datafile, category, report)
        except SubmissionForbiddenError as err:  # the DID changed hands meanwhile
            return reject(intake, ticket, None, report.refuse(err.code, str(err)))
        except CatalogError as err:
            return reject(intake, ticket, None, report.refuse("SUB008", str(err)))
        except IntegrityError:  # a concurrent first submission of the same DID won
            if attempt + 1 == REGISTER_ATTEMPTS:
                raise
            logger.info("submission %s: DID registered concurrently; retrying", ticket.public_id)
    raise AssertionError("unreachable")


def decide_in(
    intake: Intake, session: Session, datafile: DataFile, sha256: str, category: str
) -> Decision:
    """The identity and access decision for a validated file, in `session`."""
    return decide(
        session, campaign=find_campaign(session, intake.campaign_code),
        center_code=intake.center_code, datafile=datafile, sha256=sha256,
        category=category, submitter=intake.submitter, options=intake.options, now=intake.now,
    )  # fmt: skip


def register(
    intake: Intake,
    ticket: Ticket,
    staged: StagedFile,
    datafile: DataFile,
    category: str,
    report: Report,
) -> SubmissionResult:
    """One transaction: re-check identity, register the version, finish the submission."""
    with intake.sessions() as session, session.begin():
        find_campaign(session, intake.campaign_code, lock=True)  # identity: one at a time
        decision = decide_in(intake, session, datafile, staged.sha256, category)
        row = session.get_one(Submission, ticket.row_id)
        if decision.duplicate:  # the same bytes were registered meanwhile
            public_id = decision.dataset.public_id if decision.dataset else None
            report.notes.append("identical to the archived version; nothing changed")
            finish(row, SubmissionState.REGISTERED, report, intake.now, dataset_public_id=public_id)
            return result_of(row, duplicate=True)
        dataset = register_datafile(
            session, datafile=datafile, sha256=staged.sha256, size=staged.size,
            original_name=ticket.name, center_code=intake.center_code,
            campaign_code=intake.campaign_code, category=category,
            owner_user_id=decision.owner_user_id, access_state=decision.access_state,
            release_at=decision.release_at, now=intake.now,
        )  # fmt: skip
        report.notes.append(f"registered as dataset {dataset.public_id}")
        public_id = dataset.public_id
        finish(row, SubmissionState.REGISTERED, report, intake.now, dataset_public_id=public_id)
        logger.info("submission %s registered %s", ticket.public_id, dataset.public_id)
        return result_of(row)
