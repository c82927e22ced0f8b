"""Bundles: several datasets, subset and converted, in one zip with their documentation.

A bundle is built per request from the datasets the policy lets the caller read; the
manifest lists every file inside with its SHA-256, and every requested dataset left out with
the reason (not found, closed until a date, held at its origin center with its address).
"""

from __future__ import annotations

import hashlib
import logging
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, cast

from sqlalchemy import select

import formats
from catalog.citations import citation_for, citation_text
from catalog.downloads import (
    DownloadRequest,
    apply_subset,
    base_filename,
    is_public,
    iter_file,
    output_format,
    read_for_request,
)
from catalog.errors import InvalidQueryError, NotFoundError
from catalog.links import ResourceLinks
from catalog.models import Center, Dataset, DatasetVersion
from catalog.order_items import HeldElsewhere, LeftOut, classify
from catalog.schemas import Principal
from catalog.storage import ArchiveStore
from formats.registry import writer_info

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from formats.model import DataFile

logger = logging.getLogger(__name__)

MAX_BUNDLE_DATASETS = 100


@dataclass
class Bundle:
    """A built zip, streamed from staging and deleted once sent."""

    filename: str
    is_public: bool
    size: int
    included: list[str]
    chunks: Iterator[bytes]


@dataclass
class BundleEntry:
    dataset: Dataset
    version: DatasetVersion
    name: str
    public: bool
    link: str
    """The dataset's API record at this center (empty when no local center is known)."""
    origin: Center | None = None
    """The dataset's origin center, credited by the citation."""
    notes: list[str] = field(default_factory=list)


def local_center(session: Session) -> Center | None:
    return session.scalars(select(Center).where(Center.is_local.is_(True))).first()


def origin_of(session: Session, dataset: Dataset) -> Center | None:
    return session.scalars(select(Center).where(Center.code == dataset.origin_center)).first()


def processing_notes(
    datafile: DataFile, version: DatasetVersion, request: DownloadRequest, fmt: str
) -> list[str]:
    """What FieldCat did to the original to make this file."""
    notes: list[str] = []
    if request.format == "original" and not request.is_subset:
        notes.append(f"The original file as archived (SHA-256 {version.sha256}), unchanged.")
    else:
        notes.append(
            f"Read from the archived {version.source_format} original and written as {fmt}."
        )
    header = datafile.header
    if fmt != "original" and request.format != "original":
        if header.missing_value is not None:
            notes.append(f"Missing-data sentinel {header.missing_value:g} became fill values.")
        if header.bad_value is not None:
            notes.append(
                f"Bad-data sentinel {header.bad_value:g} became fill values, flagged 'bad' "
                "in the quality variable where the format has one."
            )
    if request.start or request.end:
        notes.append(f"Time window: {request.start or 'start'} to {request.end or 'end'} (UTC).")
    if request.bbox:
        notes.append("Box W,S,E,N: " + ",".join(f"{v:g}" for v in request.bbox) + ".")
    if request.variables:
        notes.append("Variables kept: " + ", ".join(request.variables) + " (with time/position).")
    return notes


def readme_text(entry: BundleEntry, datafile: DataFile, center: Center | None, member: str) -> str:
    """The README beside one dataset's file in a bundle."""
    dataset = entry.dataset
    lines = [
        dataset.title or f"{dataset.platform} {dataset.instrument}",
        "=" * 72,
        f"Dataset: {dataset.public_id} (DID {dataset.did}), campaign {dataset.campaign.code}",
        f"File: {member}",
        f"PI: {dataset.pi_name}; platform: {dataset.platform}; instrument: {dataset.instrument}",
        "",
        "How to cite",
        "-----------",
        citation_text(citation_for(dataset, entry.origin, entry.version)),
        *([f"This record at {center.name}: {entry.link}"] if center and entry.link else []),
        "",
        "Processing notes",
        "----------------",
        *(f"- {note}" for note in entry.notes),
        "",
        "Header as submitted",
        "-------------------",
        datafile.original_header.rstrip("\n") or "(no header text)",
        "",
    ]
    return "\n".join(lines)


def add_dataset(
    archive: zipfile.ZipFile,
    store: ArchiveStore,
    entry: BundleEntry,
    request: DownloadRequest,
    center: Center | None,
) -> str | None:
    """Add one dataset's file and README; None when added, else why it was left out."""
    datafile = read_for_request(store, entry.dataset, entry.version, request)
    try:
        fmt = output_format(entry.version, request)
        subset = apply_subset(datafile, request)
    except InvalidQueryError as err:
        logger.info("bundle leaves out %s: %s", entry.dataset.public_id, err)
        return str(err)
    verbatim = request.format == "original" and not request.is_subset
    if verbatim:
        ext = Path(entry.version.original_name).suffix or ".dat"
        member = f"{entry.name}/{entry.name}{ext}"
        archive.write(store.original_path(entry.version.sha256), member)
    else:
        member = f"{entry.name}/{entry.name}{writer_info(fmt).extension}"
        with archive.open(member, "w", force_zip64=True) as stream:
            formats.write_to(subset, fmt, cast("BinaryIO", stream))
    entry.notes = processing_notes(datafile, entry.version, request, fmt)
    archive.writestr(f"{entry.name}/README.txt", readme_text(entry, datafile, center, member))
    return None


def member_sha256(archive: zipfile.ZipFile, name: str) -> str:
    """The SHA-256 of one member as written (read back in chunks from the zip)."""
    digest = hashlib.sha256()
    with archive.open(name) as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def left_out_lines(left_out: list[tuple[str, str]]) -> list[str]:
    """The manifest's account of every requested dataset that is not inside, and why."""
    if not left_out:
        return []
    lines = ["", f"Not in this bundle ({len(left_out)} requested dataset(s)):"]
    return lines + [f"  {public_id}: {reason}" for public_id, reason in left_out]


def manifest_text(archive: zipfile.ZipFile, left_out: list[tuple[str, str]]) -> str:
    """The bundle's manifest: every member with its size and SHA-256, then each requested
    dataset that is not inside with the reason."""
    lines = ["FieldCat bundle", "", "Files (size, SHA-256):"]
    lines += [
        f"  {info.filename}  {info.file_size} bytes  sha256:{member_sha256(archive, info.filename)}"
        for info in archive.infolist()
    ]
    return "\n".join(lines + left_out_lines(left_out)) + "\n"


def build_bundle(
    session: Session,
    store: ArchiveStore,
    public_ids: list[str],
    principal: Principal,
    now: datetime,
    request: DownloadRequest,
    links: ResourceLinks,
) -> Bundle:
    """Check each dataset, then zip the readable ones with a README each and a manifest.

    `links` (the web layer's) gives the dataset links each README carries beside its
    citation (which credits the origin center, `catalog.citations`).
    """
    ids = list(dict.fromkeys(public_ids))
    if not ids or len(ids) > MAX_BUNDLE_DATASETS:
        raise InvalidQueryError(f"a bundle holds 1 to {MAX_BUNDLE_DATASETS} datasets")
    center = local_center(session)
    out = store.new_staging_path()
    included: list[str] = []
    left_out: list[tuple[str, str]] = []
    public = True
    try:
        with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for public_id in ids:
                found = classify(session, public_id, principal, now)
                if isinstance(found, LeftOut):
                    left_out.append((public_id, found.reason))
                    continue
                if isinstance(found, HeldElsewhere):
                    where = f"{found.origin_url}{links.dataset(public_id, 'data')}"
                    left_out.append((public_id, f"held at its origin center: {where}"))
                    continue
                dataset, version = found.dataset, found.version
                name = f"{len(included) + 1:02d}_{base_filename(dataset, version)}"
                link = f"{center.base_url.rstrip('/')}{links.dataset(public_id)}" if center else ""
                entry = BundleEntry(dataset, version, name, is_public(dataset, now), link)
                entry.origin = origin_of(session, dataset)
                why = add_dataset(archive, store, entry, replace(request), center)
                if why is None:
                    included.append(public_id)
                    public = public and entry.public
                else:
                    left_out.append((public_id, why))
            if not included:  # one answer whatever the reasons (a hidden id = a missing one)
                raise NotFoundError("none of the requested datasets can be bundled here")
            archive.writestr("MANIFEST.txt", manifest_text(archive, left_out))
    except BaseException:
        out.unlink(missing_ok=True)
        raise
    stamp = now.strftime("%Y%m%dT%H%M%SZ")
    return Bundle(
        f"fieldcat_bundle_{stamp}.zip",
        public,
        out.stat().st_size,
        included,
        iter_file(out, delete=True),
    )
