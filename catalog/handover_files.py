"""The derived files of a hand-over: what the closing center lists, what it serves, and how
the receiving center records the verified copies as its own.

A dataset's derived files (NetCDF, quick-look pages, QC flags...) live under
`archive/derived/<public id>/<version id>.<ext>`; a product's thumbnail under
`archive/derived/products/<product SHA-256>.png`. The manifest names each by that path
below `archive/derived` (`name`) with its SHA-256 and size; the receiving center fetches it
into a holding folder, keeps it only if it matches, and moves it to the path of its own
version id when it imports the record (`place_derived`). A file it could not verify is not
recorded, so its worker makes it again (`versions_lacking`).
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog.handover_registry import handed_over_certificates
from catalog.models import Dataset, DatasetVersion, Product
from catalog.registry_models import QcResult
from catalog.storage import CHUNK, ArchiveStore

logger = logging.getLogger(__name__)

PRODUCTS = "products"
"""The folder of product thumbnails below `archive/derived` (`submissions.products`)."""
TRANSFER_CHUNK = 4 * 1024 * 1024
"""The read size of a hand-over's file transfers, at both ends (`web.responses`,
`federation.handover_transfer`): a few large reads instead of many small ones."""
NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}/[A-Za-z0-9_-]{1,64}\.[a-z0-9]{1,16}$")
"""A derived file's name in a manifest: `<folder>/<stem>.<ext>` below `archive/derived`."""


def file_sha256(path: Path) -> str:
    """The SHA-256 of a file, read in the archive's chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _entry(store: ArchiveStore, path: Path, sha256: str | None = None) -> dict[str, Any]:
    return {"name": path.relative_to(store.derived_dir).as_posix(),
            "sha256": sha256 or file_sha256(path), "size": path.stat().st_size}  # fmt: skip


def qc_results(session: Session, datasets: list[Dataset]) -> dict[int, list[QcResult]]:
    """The QC results of these datasets' current versions, by version id (a query per 500
    versions, not one per dataset)."""
    ids = [v.id for d in datasets for v in d.versions if v.is_current]
    found: dict[int, list[QcResult]] = {}
    for start in range(0, len(ids), 500):
        query = select(QcResult).where(QcResult.version_id.in_(ids[start : start + 500]))
        for result in session.scalars(query.order_by(QcResult.id)):
            found.setdefault(result.version_id, []).append(result)
    return found


def derived_entries(
    store: ArchiveStore, dataset: Dataset, qc: dict[int, list[QcResult]]
) -> list[dict[str, Any]]:
    """The derived files of a dataset's current version, as the manifest lists them: the
    recorded ones with their format (and QC results, from `qc_results`), the cached ones
    (further plot pages, the pages' listing) without."""
    current = next((v for v in dataset.versions if v.is_current), None)
    if current is None:
        return []
    recorded = {Path(d.path).name: d for d in current.derived_files}
    folder = store.derived_dir / dataset.public_id
    entries = []
    for path in sorted(folder.glob(f"{current.id}.*")) if folder.is_dir() else []:
        derived = recorded.get(path.name)
        entry = _entry(store, path, derived.sha256 if derived is not None else None)
        if derived is not None:
            entry["format"] = derived.format
            entry["qc"] = [
                {"variable": r.variable, "counts": r.counts, "stretches": r.stretches}
                for r in qc.get(current.id, [])
            ] if derived.format == "qc" else []  # fmt: skip
        entries.append(entry)
    return entries


def thumbnail_entry(store: ArchiveStore, product: Product) -> dict[str, Any] | None:
    """A product image's thumbnail as the manifest lists it (None when it has none)."""
    path = store.derived_path(PRODUCTS, product.sha256, "png")
    return _entry(store, path) if path.is_file() else None


def served_file(session: Session, store: ArchiveStore, local: str, name: str) -> Path | None:
    """The derived file `name` of a record this center originated (None otherwise): what
    the blob route serves to the peer taking the records over (which checks its SHA-256)."""
    if not NAME.match(name):
        return None
    folder, file = name.split("/")
    if folder == PRODUCTS:
        query = select(Product.id).where(Product.sha256 == file.split(".")[0],
                                         Product.center_code == local)  # fmt: skip
    else:
        query = select(Dataset.id).where(
            Dataset.public_id == folder, Dataset.origin_center == local
        )
    path = store.derived_dir / folder / file
    return path if session.scalar(query.limit(1)) is not None and path.is_file() else None


HOLDING_PREFIX = "handover-"
"""The folder in staging where a hand-over from a center (`handover-<code>`) holds the verified
derived files until their records are imported: kept across restarts (the start-up clean-up
of staging leaves it), removed by the hand-over once every record is in."""


def holding_dir(store: ArchiveStore, source: str) -> Path:
    """Where the hand-over from `source` holds its verified derived files."""
    return store.staging_dir / f"{HOLDING_PREFIX}{source}"


BUNDLE_FILES = 256
"""Files asked in one bundle request at most: the small files of a hand-over travel many to
a request (one signature, one round trip), each still checked on its own."""
NOT_SERVED = 2**64 - 1
"""A bundle's length field for a file that is not among the records offered (or missing)."""


def bundle_paths(session: Session, store: ArchiveStore, local: str,
                 asked: list[tuple[str, str | None]]) -> list[Path | None]:  # fmt: skip
    """The files of a bundle request, in its order: (SHA-256, None) an original, (SHA-256,
    name) a derived file as the manifest names it; None for one this center does not hand
    over. An original is a dataset version's, a product's or a calibration's certificate
    (`catalog.handover_registry`), as the single-file route serves them. Set-based: a few
    queries whatever the bundle's size."""
    shas = {sha for sha, name in asked if name is None}
    names = {name for _, name in asked if name is not None and NAME.match(name)}
    folders = {name.split("/")[0] for name in names}
    stems = {name.split("/")[1].split(".")[0] for name in names if name.startswith(f"{PRODUCTS}/")}
    versions = (
        select(DatasetVersion.sha256)
        .join(Dataset)
        .where(DatasetVersion.sha256.in_(shas), Dataset.origin_center == local)
    )
    products = select(Product.sha256).where(Product.sha256.in_(shas | stems),
                                            Product.center_code == local)  # fmt: skip
    ours = set(session.scalars(versions)) | set(session.scalars(products))
    certificates = handed_over_certificates(session, local, shas - ours)  # as originals only
    datasets = set(session.scalars(select(Dataset.public_id).where(
        Dataset.public_id.in_(folders), Dataset.origin_center == local)))  # fmt: skip
    paths: list[Path | None] = []
    for sha, name in asked:
        if name is None:
            path = store.original_path(sha) if sha in ours or sha in certificates else None
        elif name not in names:
            path = None
        else:
            folder, file = name.split("/")
            mine = file.split(".")[0] in ours if folder == PRODUCTS else folder in datasets
            path = store.derived_dir / folder / file if mine else None
        paths.append(path if path is not None and path.is_file() else None)
    return paths


def bundle_stream(paths: list[Path | None]) -> Iterator[bytes]:
    """The bundle's body: each file as its length (8 bytes, big-endian; `NOT_SERVED` for a
    file not served) then its bytes, small files gathered into `TRANSFER_CHUNK` writes."""
    out = bytearray()
    for path in paths:
        try:
            stream = open(path, "rb") if path is not None else None  # noqa: SIM115 (closed below)
        except FileNotFoundError:
            stream = None
        if path is None or stream is None:
            out += NOT_SERVED.to_bytes(8, "big")
            continue
        with stream:
            left = os.fstat(stream.fileno()).st_size
            out += left.to_bytes(8, "big")
            while left > 0:
                chunk = stream.read(min(TRANSFER_CHUNK, left))
                if not chunk:  # cut short: the receiver sees a truncated body, keeps nothing
                    raise OSError(f"{path.name} shrank while it was sent")
                left -= len(chunk)
                out += chunk
                if len(out) >= TRANSFER_CHUNK:
                    yield bytes(out)
                    out.clear()
    if out:
        yield bytes(out)


@dataclass
class Placed:
    """The derived files `place_derived` put in place: their rows to insert, the folders to
    fsync before the rows commit, and those not verified (made again here), as (name,
    public id)."""

    derived: list[dict[str, Any]] = field(default_factory=list)
    qc: list[dict[str, Any]] = field(default_factory=list)
    unverified: list[tuple[str, str]] = field(default_factory=list)
    folders: set[Path] = field(default_factory=set)


def _link(held: Path, target: Path) -> None:
    """A new name for the held file at `target`, replacing in one step a file there (left
    by a run a crash stopped before its commit)."""
    try:
        os.link(held, target)
    except FileExistsError:
        temp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        temp.unlink(missing_ok=True)
        os.link(held, temp)
        os.replace(temp, target)


def place_derived(store: ArchiveStore, holding: Path, public_id: str, version_id: int,
                  entries: list[dict[str, Any]], now: Any, placed: Placed) -> None:  # fmt: skip
    """Put the verified copies of a handed-over dataset's derived files at its current
    version's paths here, their rows, folder (and unverified names) added to `placed`: the
    caller fsyncs the folders (`catalog.storage.fsync_dirs`, a group's at once) before it
    commits the rows."""
    for entry in entries:
        held = holding / entry["sha256"]
        if not held.is_file():
            placed.unverified.append((str(entry["name"]), public_id))
            continue
        ext = str(entry["name"]).split(".", 1)[1]
        target = store.derived_path(public_id, version_id, ext)
        if target.parent not in placed.folders:
            target.parent.mkdir(parents=True, exist_ok=True)
            placed.folders.add(target.parent)
        _link(held, target)  # the held copy stays until the record is committed
        if "format" in entry:
            stored = str(target.relative_to(store.root))
            placed.derived.append({"version_id": version_id, "format": entry["format"],
                                   "path": stored, "sha256": entry["sha256"],
                                   "size": int(entry["size"]), "created_at": now})  # fmt: skip
            placed.qc += [  # a QC run's results; the configurations stay behind
                {"version_id": version_id, "variable": r["variable"], "config_id": None,
                 "counts": r["counts"], "stretches": r["stretches"], "path": stored,
                 "created_at": now}
                for r in entry.get("qc", [])
            ]  # fmt: skip
