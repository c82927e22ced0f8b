"""The intake pipeline every receiver calls: received -> staged -> validated -> archived ->
registered, or rejected. Each state is committed as it is reached, so a crash leaves a row
that says how far the file got, and `reconcile` finishes or rolls it back at start-up.

The original is renamed into the archive before the transaction that registers it (dataset,
version, change-log entry and the submission's final state together) commits.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime, time
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from catalog.errors import CatalogError
from catalog.models import Campaign
from catalog.registration import CATEGORIES, register_datafile
from catalog.schemas import Principal
from catalog.storage import ArchiveStore
from catalog.submission_models import Submission
from catalog.submission_records import find_campaign, registered_with_sha
from formats.model import DataFile
from formats.timeparse import CampaignTime
from submissions.acceptance import Decision, SubmitOptions, decide
from submissions.errors import SubmissionForbiddenError, UploadRefusedError
from submissions.names import looks_like_product, sanitise_name
from submissions.reports import Report
from submissions.staging import StagedFile, stage_path, stage_stream

logger = logging.getLogger(__name__)

__all__ = ["SubmissionResult", "SubmitOptions", "submit_file"]
HEAD_BYTES = 4096
REGISTER_ATTEMPTS = 2


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
        return self.state == "registered"

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


def campaign_time(campaign: Campaign) -> CampaignTime:
    """The campaign period that places year-less times."""
    start = datetime.combine(campaign.start, time.min, tzinfo=UTC) if campaign.start else None
    end = datetime.combine(campaign.end, time.max, tzinfo=UTC) if campaign.end else None
    return CampaignTime(year=start.year if start else None, start=start, end=end)


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
        ticket = open_ticket(intake, name, "staged", source.path.name, source)
        return process_staged(intake, ticket, source)
    path = store.new_staging_path()
    ticket = open_ticket(intake, name, "received", path.name, None)
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
    set_state(intake, ticket, "staged", size=staged.size, sha256=staged.sha256)
    return process_staged(intake, ticket, staged)


def _options_json(intake: Intake) -> dict[str, Any]:
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
    intake: Intake, name: str, state: str, staging_name: str, staged: StagedFile | None
) -> Ticket:
    """Record the submission (committed) in its first state."""
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
            options=_options_json(intake),
            report={},
            created_at=intake.now,
            updated_at=intake.now,
        )
        session.add(row)
        session.flush()
        return Ticket(row.id, row.public_id, name)


def set_state(intake: Intake, ticket: Ticket, state: str, **values: Any) -> None:
    """Commit the submission's new state (and any other columns given)."""
    with intake.sessions() as session, session.begin():
        row = session.get_one(Submission, ticket.row_id)
        row.state = state
        row.updated_at = intake.now
        for key, value in values.items():
            setattr(row, key, value)


def finish(row: Submission, state: str, report: Report, now: datetime, **values: Any) -> None:
    """Put the final state and report on a row (inside the caller's transaction)."""
    row.state = state
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
    import json

    rejected = intake.store.rejected_dir
    rejected.mkdir(parents=True, exist_ok=True)
    if staged is not None and staged.exists():
        os.replace(staged, rejected / f"{ticket.public_id}.bin")
    _write_atomic(rejected / f"{ticket.public_id}.report.txt", report.as_text("rejected").encode())
    payload = json.dumps(report.as_json("rejected"), indent=2).encode()
    _write_atomic(rejected / f"{ticket.public_id}.report.json", payload)
    with intake.sessions() as session, session.begin():
        row = session.get_one(Submission, ticket.row_id)
        finish(row, "rejected", report, intake.now)
        logger.info("submission %s (%s) rejected", ticket.public_id, intake.receiver)
        return result_of(row)


def process_staged(intake: Intake, ticket: Ticket, staged: StagedFile) -> SubmissionResult:
    """Validate, archive and register a staged file (or reject it with its report)."""
    with staged.path.open("rb") as handle:
        head = handle.read(HEAD_BYTES)
    if looks_like_product(ticket.name, head):
        from submissions.products import take_product

        return take_product(intake, ticket, staged)
    return take_data(intake, ticket, staged)


def take_data(intake: Intake, ticket: Ticket, staged: StagedFile) -> SubmissionResult:
    """The data-file branch: formats validation, identity rules, archive, register."""
    import formats

    with intake.sessions() as session:
        campaign = find_campaign(session, intake.campaign_code)
        period = campaign_time(campaign)
    validation = formats.validate(
        staged.path, campaign=period, filename=ticket.name, limits=intake.options.limits
    )
    report = Report(ticket.name, validation.format, list(validation.diagnostics))
    datafile = validation.datafile
    if not validation.valid or datafile is None:
        return reject(intake, ticket, staged.path, report)
    set_state(intake, ticket, "validated")
    category = intake.options.category or datafile.header.category or "research"
    if category not in CATEGORIES:
        report.refuse("SUB004", f"category must be one of {', '.join(CATEGORIES)}")
        return reject(intake, ticket, staged.path, report)
    try:
        with intake.sessions() as session:
            decision = _decide(intake, session, datafile, staged, category)
            duplicate_of = decision.dataset.public_id if decision.dataset else None
    except SubmissionForbiddenError as err:
        return reject(intake, ticket, staged.path, report.refuse(err.code, str(err)))
    if decision.duplicate:
        return take_duplicate(intake, ticket, staged, report, duplicate_of)
    intake.store.put_original(staged.path, staged.sha256)
    set_state(intake, ticket, "archived")
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


def _decide(
    intake: Intake, session: Session, datafile: DataFile, staged: StagedFile, category: str
) -> Decision:
    return decide(
        session, campaign=find_campaign(session, intake.campaign_code),
        center_code=intake.center_code, datafile=datafile, sha256=staged.sha256,
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
        decision = _decide(intake, session, datafile, staged, category)
        row = session.get_one(Submission, ticket.row_id)
        if decision.duplicate:  # the same bytes were registered meanwhile
            public_id = decision.dataset.public_id if decision.dataset else None
            report.notes.append("identical to the archived version; nothing changed")
            finish(row, "registered", report, intake.now, dataset_public_id=public_id)
            return result_of(row, duplicate=True)
        dataset = register_datafile(
            session, datafile=datafile, sha256=staged.sha256, size=staged.size,
            original_name=ticket.name, center_code=intake.center_code,
            campaign_code=intake.campaign_code, category=category,
            owner_user_id=decision.owner_user_id, access_state=decision.access_state,
            release_at=decision.release_at, now=intake.now,
        )  # fmt: skip
        report.notes.append(f"registered as dataset {dataset.public_id}")
        finish(row, "registered", report, intake.now, dataset_public_id=dataset.public_id)
        logger.info("submission %s registered %s", ticket.public_id, dataset.public_id)
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
        finish(row, "registered", report, intake.now, dataset_public_id=public_id)
        return result_of(row, duplicate=True)
