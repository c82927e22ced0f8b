"""Calibration certificates: the file itself, stored beside the originals.

A certificate is archived content-addressed like an original (`ArchiveStore.put_original`:
staged, hashed while written, fsynced, linked into place), so one set of bytes is one file
however often it is sent. Its SHA-256 and name go on the calibration in one conditional
update: a SHA-256 declared before (with the calibration, or by an earlier upload) must match,
so concurrent uploads of different files leave exactly one of them recorded. The upload is an
edit of the instrument: audited, its origin version raised, the record sent to the peers.
A mirrored calibration's file stays at its origin (`origin_ref` names it there).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import CursorResult, or_, update
from sqlalchemy.orm import Session

from catalog.audit import record_event
from catalog.downloads import center_base_url
from catalog.errors import ConflictError, InvalidQueryError, NotFoundError
from catalog.links import ResourceLinks
from catalog.registry import editable_instrument, get_instrument
from catalog.registry_models import Calibration
from catalog.registry_records import edited, local_code
from catalog.schemas import Principal
from catalog.storage import ArchiveStore

DEFAULT_NAME = "certificate"


@dataclass(frozen=True)
class Certificate:
    """Where a certificate's bytes are: a local file (`path`, `name`) or the origin's URL."""

    path: Path | None
    name: str
    redirect: str | None = None


def get_calibration(session: Session, calibration_id: int) -> Calibration:
    """A calibration by id (NotFoundError)."""
    cal = session.get(Calibration, calibration_id)
    if cal is None:
        raise NotFoundError(f"no calibration {calibration_id}")
    return cal


def store_certificate(
    session: Session,
    store: ArchiveStore,
    calibration_id: int,
    *,
    staged: Path,
    sha256: str,
    name: str,
    actor: Principal,
    now: datetime,
) -> Calibration:
    """Archive a staged certificate of a local instrument's calibration and record it.

    NotFoundError, ConflictError for a mirrored instrument or a SHA-256 declared before that
    differs; InvalidQueryError for an empty file. The caller commits."""
    cal = get_calibration(session, calibration_id)
    instrument = editable_instrument(session, cal.instrument_id)
    if staged.stat().st_size == 0:
        raise InvalidQueryError("the certificate file is empty")
    before = {
        "certificate_name": cal.certificate_name,
        "certificate_sha256": cal.certificate_sha256,
    }
    name = name or cal.certificate_name or DEFAULT_NAME
    result: CursorResult[Any] = session.execute(  # type: ignore[assignment]
        update(Calibration)
        .where(
            Calibration.id == cal.id,
            or_(Calibration.certificate_sha256.is_(None), Calibration.certificate_sha256 == sha256),
        )
        .values(certificate_name=name, certificate_sha256=sha256)
        .execution_options(synchronize_session=False)
    )
    if not result.rowcount:
        session.refresh(cal)
        raise ConflictError(
            f"calibration {cal.id} declares a certificate with SHA-256 {cal.certificate_sha256}; "
            f"this file's is {sha256}"
        )
    store.put_original(staged, sha256)
    session.refresh(cal)
    record_event(
        session, actor=actor, action="calibration.certificate", now=now, reason="",
        before={"calibration": cal.id, **before},
        after={"calibration": cal.id, "certificate_name": name, "certificate_sha256": sha256},
    )  # fmt: skip
    edited(session, instrument, now)
    return cal


def find_certificate(
    session: Session, store: ArchiveStore, calibration_id: int, links: ResourceLinks
) -> Certificate:
    """A calibration's certificate file; a mirrored one's is a redirect to its origin.

    NotFoundError when no file is held (none uploaded, or the origin has not said where)."""
    cal = get_calibration(session, calibration_id)
    instrument = get_instrument(session, cal.instrument_id)
    name = cal.certificate_name or DEFAULT_NAME
    if instrument.center_code != local_code(session):
        base = center_base_url(session, instrument.center_code)
        if base is None or cal.origin_ref is None or cal.certificate_sha256 is None:
            raise NotFoundError(f"calibration {calibration_id}'s certificate is not known here")
        return Certificate(None, name, redirect=base + links.certificate(cal.origin_ref))
    if cal.certificate_sha256 is None:
        raise NotFoundError(f"calibration {calibration_id} has no certificate")
    path = store.original_path(cal.certificate_sha256)
    if not path.is_file():
        raise NotFoundError(f"calibration {calibration_id}'s certificate file was not uploaded")
    return Certificate(path, name)
