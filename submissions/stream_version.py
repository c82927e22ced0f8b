"""A continuous stream's new day version in one transaction.

The ordinary intake commits five states (received, staged, validated, archived, registered)
so that a crash leaves a row saying how far an upload got. A stream's version needs none of
them: its lines are already durable in the day file, and a version that did not commit is
published again (the day's `.published` marker only moves after a commit). So a version is
staged, validated exactly as any file (`formats.validate`), archived, and then its
submission row (final state `registered`, the same report) and its registration are written
in one transaction: one commit instead of five, one identity decision instead of two.

Anything but a clean new version (a refused file, a duplicate, an identity conflict, a DID
registered concurrently) takes the ordinary pipeline from the same file, so refusals are
recorded and reported exactly as for any upload.
"""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

import formats
from catalog.errors import CatalogError
from catalog.registration import CATEGORIES, register_datafile
from catalog.schemas import Principal
from catalog.storage import ArchiveStore
from catalog.submission_models import Submission, SubmissionState
from catalog.submission_records import find_campaign
from formats.model import DataFile
from formats.timeparse import campaign_time
from submissions.acceptance import SubmitOptions
from submissions.errors import SubmissionForbiddenError, UploadRefusedError
from submissions.intake import Intake, SubmissionResult, finish, result_of
from submissions.names import sanitise_name
from submissions.pipeline import decide_in, options_json, submit_file
from submissions.reports import Report
from submissions.staging import StagedFile, stage_path

logger = logging.getLogger(__name__)
S = SubmissionState


class _Ordinary(Exception):
    """This version needs the ordinary pipeline (a refusal or a duplicate to record)."""


def submit_version(
    session_factory: sessionmaker[Session],
    store: ArchiveStore,
    *,
    source: Path,
    original_name: str,
    submitter: Principal,
    center_code: str,
    campaign: str,
    receiver: str,
    options: SubmitOptions,
    now: datetime,
) -> SubmissionResult:
    """`submit_file` for a stream's version: one transaction when it is a clean new version,
    the ordinary pipeline otherwise (same arguments, same result)."""
    name = sanitise_name(original_name)
    intake = Intake(
        session_factory, store, submitter, center_code, campaign, receiver, options, now
    )
    try:
        return _one_transaction(intake, source, name)
    except (_Ordinary, UploadRefusedError, SubmissionForbiddenError, CatalogError,
            IntegrityError) as why:  # fmt: skip
        logger.info("stream version %s takes the ordinary intake: %s", name, why)
    return submit_file(
        session_factory, store, source=source, original_name=original_name,
        submitter=submitter, center_code=center_code, campaign=campaign, receiver=receiver,
        options=options, now=now,
    )  # fmt: skip


def _one_transaction(intake: Intake, source: Path, name: str) -> SubmissionResult:
    staged = stage_path(intake.store, source, intake.options.max_bytes)
    try:
        datafile, report, category = _validated(intake, staged, name)
        intake.store.put_original(staged.path, staged.sha256)  # before the commit, as ever
        return _register(intake, staged, datafile, report, category, name)
    finally:
        staged.path.unlink(missing_ok=True)


def _validated(intake: Intake, staged: StagedFile, name: str) -> tuple[DataFile, Report, str]:
    with intake.sessions() as session:
        campaign = find_campaign(session, intake.campaign_code)
        period = campaign_time(campaign.start, campaign.end)
    validation = formats.validate(
        staged.path, campaign=period, filename=name, limits=intake.options.limits
    )
    datafile = validation.datafile
    if not validation.valid or datafile is None:
        raise _Ordinary("the file does not validate")
    category = intake.options.category or datafile.header.category or "research"
    if category not in CATEGORIES:
        raise _Ordinary(f"category {category}")
    return datafile, Report(name, validation.format, list(validation.diagnostics)), category


def _register(
    intake: Intake, staged: StagedFile, datafile: DataFile, report: Report, category: str,
    name: str,
) -> SubmissionResult:  # fmt: skip
    with intake.sessions() as session, session.begin():
        find_campaign(session, intake.campaign_code, lock=True)  # identity: one at a time
        decision = decide_in(intake, session, datafile, staged.sha256, category)
        if decision.duplicate:
            raise _Ordinary("the same bytes are registered")
        row = _ticket(intake, staged, name)
        session.add(row)
        dataset = register_datafile(
            session, datafile=datafile, sha256=staged.sha256, size=staged.size,
            original_name=name, center_code=intake.center_code,
            campaign_code=intake.campaign_code, category=category,
            owner_user_id=decision.owner_user_id, access_state=decision.access_state,
            release_at=decision.release_at, now=intake.now,
        )  # fmt: skip
        report.notes.append(f"registered as dataset {dataset.public_id}")
        finish(row, S.REGISTERED, report, intake.now, dataset_public_id=dataset.public_id)
        session.flush()
        logger.info("stream version %s registered %s", row.public_id, dataset.public_id)
        return result_of(row)


def _ticket(intake: Intake, staged: StagedFile, name: str) -> Submission:
    """The version's submission row, moved through the ordinary states (not committed)."""
    row = Submission(
        receiver=intake.receiver, submitter_user_id=intake.submitter.user_id,
        submitter=intake.submitter.username or intake.receiver,
        center_code=intake.center_code, campaign_code=intake.campaign_code,
        original_name=name, staging_name=staged.path.name, size=staged.size,
        sha256=staged.sha256, state=S.STAGED.value, options=options_json(intake), report={},
        created_at=intake.now, updated_at=intake.now,
    )  # fmt: skip
    row.move_to(S.VALIDATED)
    row.move_to(S.ARCHIVED)
    return row
