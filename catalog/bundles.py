"""Bundles: several datasets, subset and converted, in one zip with their documentation.

A bundle is built per request from the datasets the policy lets the caller read; the others
are left out, and the manifest names only what is inside.
"""

from __future__ import annotations

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
    current_version,
    is_public,
    iter_file,
    origin_base_url,
    output_format,
    read_for_request,
)
from catalog.errors import InvalidQueryError, NotFoundError, PermissionDeniedError
from catalog.links import ResourceLinks
from catalog.models import Center, Dataset, DatasetVersion
from catalog.schemas import Principal
from catalog.search import load_dataset_for_data
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
class _Entry:
    dataset: Dataset
    version: DatasetVersion
    name: str
    public: bool
    link: str
    """The dataset's API record at this center (empty when no local center is known)."""
    origin: Center | None = None
    """The dataset's origin center, credited by the citation."""
    notes: list[str] = field(default_factory=list)


def _local_center(session: Session) -> Center | None:
    return session.scalars(select(Center).where(Center.is_local.is_(True))).first()


def _origin(session: Session, dataset: Dataset) -> Center | None:
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


def readme_text(entry: _Entry, datafile: DataFile, center: Center | None, member: str) -> str:
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


def _readable(
    session: Session, public_id: str, principal: Principal, now: datetime
) -> tuple[Dataset, DatasetVersion] | None:
    """The dataset and its current version when the caller may read it here, else None."""
    try:
        dataset = load_dataset_for_data(session, public_id, principal, now)
        if origin_base_url(session, dataset) is not None:  # the bytes live at its origin
            return None
        return dataset, current_version(session, dataset)
    except (NotFoundError, PermissionDeniedError, InvalidQueryError):
        return None


def _add_dataset(
    archive: zipfile.ZipFile,
    store: ArchiveStore,
    entry: _Entry,
    request: DownloadRequest,
    center: Center | None,
) -> bool:
    datafile = read_for_request(store, entry.dataset, entry.version, request)
    try:
        fmt = output_format(entry.version, request)
        subset = apply_subset(datafile, request)
    except InvalidQueryError as err:
        logger.info("bundle leaves out %s: %s", entry.dataset.public_id, err)
        return False
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
    return True


def manifest_text(archive: zipfile.ZipFile, requested: int) -> str:
    """The bundle's manifest: every member with its size, and nothing that is not inside."""
    lines = ["FieldCat bundle", "", "Files:"]
    lines += [f"  {info.filename}  {info.file_size} bytes" for info in archive.infolist()]
    included = len({info.filename.split("/")[0] for info in archive.infolist()})
    if included < requested:
        lines += ["", f"{requested - included} requested dataset(s) are not in this bundle."]
    return "\n".join(lines) + "\n"


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
    center = _local_center(session)
    out = store.new_staging_path()
    included: list[str] = []
    public = True
    try:
        with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for public_id in ids:
                found = _readable(session, public_id, principal, now)
                if found is None:
                    continue
                dataset, version = found
                name = f"{len(included) + 1:02d}_{base_filename(dataset, version)}"
                link = f"{center.base_url.rstrip('/')}{links.dataset(public_id)}" if center else ""
                entry = _Entry(dataset, version, name, is_public(dataset, now), link)
                entry.origin = _origin(session, dataset)
                if _add_dataset(archive, store, entry, replace(request), center):
                    included.append(public_id)
                    public = public and entry.public
            if not included:
                raise NotFoundError("none of the requested datasets can be bundled here")
            archive.writestr("MANIFEST.txt", manifest_text(archive, len(ids)))
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
