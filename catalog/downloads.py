"""Downloads: the archived original streamed as is, or read, subset and converted.

The access decision comes from `catalog.search.load_dataset_for_data` (the one policy); the
caller gets a `Download` holding a chunk iterator that never holds a whole file in memory:
originals are read from the archive in chunks, conversions are written to a staging file
that is streamed and then deleted.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import unicodedata
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

from sqlalchemy import select

import formats
from catalog.access import AccessState, effective_state, facts_at_level
from catalog.conversion_gate import conversion_gate
from catalog.download_formats import DOWNLOAD_FORMATS
from catalog.downloads_window import MIN_WINDOWED_SIZE, read_window, window_rows
from catalog.errors import InvalidQueryError, NotFoundError
from catalog.models import Center, Dataset, DatasetVersion, DerivedFile
from catalog.qc_flags import flags_by_column
from catalog.schemas import Principal
from catalog.search import load_dataset_for_data
from catalog.storage import ArchiveStore, resolve_derived
from formats.flag_columns import FlagMode, flag_column_name, with_flags
from formats.header_stream import stream_subset
from formats.netcdf import worth_compressing
from formats.registry import WRITER_FORMATS, writer_info
from formats.subset import subset as subset_datafile
from formats.timeparse import campaign_time

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from formats.model import DataFile

logger = logging.getLogger(__name__)

CHUNK_SIZE = 1024 * 1024
PROCESSING_LEVELS = (0, 1, 2)
"""0 as submitted, 1 quality controlled, 2 final (released in `catalog.levels`)."""
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class DownloadRequest:
    """What a client asks of one dataset's data: a format and an optional subset."""

    format: str = "original"
    start: datetime | None = None
    end: datetime | None = None
    bbox: tuple[float, float, float, float] | None = None
    variables: tuple[str, ...] | None = None
    qc: FlagMode | None = None
    """Carry the QC flags as flag columns, and mask or drop flagged values (`flag_columns`)."""
    level: int | None = None
    """Serve the newest version released at this processing level or above (None: current)."""

    @property
    def is_subset(self) -> bool:
        """Whether any subset is asked for."""
        return any(v is not None for v in (self.start, self.end, self.bbox, self.variables))


@dataclass
class Download:
    """A prepared download: where the bytes come from and how to label them."""

    filename: str
    media_type: str
    is_public: bool
    chunks: Iterator[bytes]
    size: int | None = None
    origin_base_url: str | None = None
    """Set for a mirrored record: the data live at this center, ask it."""
    notes: tuple[str, ...] = ()
    etag: str | None = None
    """A strong validator for immutable bytes (an archived original), set after the check."""
    path: Path | None = None
    """The immutable file the bytes are, when they are one (an original, a stored derived
    file): byte ranges and HEAD may then be served from it. None for a per-request conversion."""

    @property
    def content_disposition(self) -> str:
        """RFC 6266 `attachment` with an ASCII fallback and the UTF-8 name."""
        return content_disposition(self.filename)


def content_disposition(filename: str) -> str:
    """An RFC 6266 attachment header for a server-made filename."""
    fallback = safe_filename(filename)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def safe_filename(name: str, default: str = "data") -> str:
    """ASCII letters, digits, `._-` only; no leading dot; at most 120 characters."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    cleaned = _UNSAFE.sub("_", ascii_name).strip("._")[:120]
    return cleaned or default


def iter_file(path: Path, *, delete: bool = False, chunk_size: int = CHUNK_SIZE) -> Iterator[bytes]:
    """The file's bytes in chunks; the file is deleted afterwards when `delete`."""
    try:
        with path.open("rb") as handle:
            while chunk := handle.read(chunk_size):
                yield chunk
    finally:
        if delete:
            path.unlink(missing_ok=True)


def current_version(session: Session | None, dataset: Dataset) -> DatasetVersion:
    """The dataset's current archived version."""
    del session  # the versions are loaded with the dataset
    version = dataset.current_version
    if version is None:
        raise InvalidQueryError("this dataset has no archived data at this center")
    return version


def version_at_level(dataset: Dataset, level: int | None) -> DatasetVersion:
    """The current version, or with `level` the newest version released at that level or
    above (levels only go up, so a Level 2 version has been Level 1); NotFoundError if none."""
    if level is None:
        return current_version(None, dataset)
    if level not in PROCESSING_LEVELS:
        raise InvalidQueryError(f"level must be one of {PROCESSING_LEVELS}")
    version = dataset.newest_at_level(level)
    if version is None:
        raise NotFoundError(f"no version of {dataset.public_id} is released at level {level}")
    return version


def origin_base_url(session: Session, dataset: Dataset) -> str | None:
    """The origin center's base URL when the record is mirrored, else None."""
    return center_base_url(session, dataset.origin_center)


def center_base_url(session: Session, code: str) -> str | None:
    """The base URL of center `code` when it is not this one, else None."""
    center = session.scalars(select(Center).where(Center.code == code)).first()
    if center is None or center.is_local:
        return None
    if not center.base_url:  # a redirect to "" would point back here
        raise NotFoundError(f"the data are held by center {center.code}, whose address is unknown")
    return center.base_url.rstrip("/")


def is_public(dataset: Dataset, now: datetime, level: int | None = None) -> bool:
    """Whether anyone may read the data (of the current version, or the newest at `level`)
    right now, so caches may keep it."""
    return effective_state(facts_at_level(dataset, level), now) is AccessState.OPEN


def base_filename(dataset: Dataset, version: DatasetVersion, with_level: bool = False) -> str:
    """A server-made name: campaign, DID, platform and data version (and the version's level
    when a level was asked for); never the upload's."""
    parts = [
        dataset.campaign.code,
        f"did{dataset.did}",
        dataset.platform or "",
        f"v{version.data_version}" if version.data_version else "",
        f"L{version.level}" if with_level else "",
    ]
    return safe_filename("_".join(p for p in parts if p))


def read_original(store: ArchiveStore, dataset: Dataset, version: DatasetVersion) -> DataFile:
    """The archived original parsed with the campaign's period (a large header-format one in
    bounded chunks of rows, see `formats.header_stream`)."""
    return read_for_request(store, dataset, version, DownloadRequest())


def _known_variables(request: DownloadRequest) -> Callable[[DataFile], None]:
    def check(datafile: DataFile) -> None:
        _check_variables(datafile, request)

    return check


def read_for_request(
    store: ArchiveStore, dataset: Dataset, version: DatasetVersion, request: DownloadRequest
) -> DataFile:
    """The original parsed for `request`.

    A large header-format original (8 MB and more) is read in bounded chunks of rows and
    subset chunk by chunk (time window found by binary search first, then box and variables
    applied to each chunk), so memory follows the chunk and the subset, not the file; a
    whole-file conversion reads it the same way, never holding the text beside the arrays.
    A file whose chunks cannot be read exactly on their own is read whole."""
    campaign = campaign_time(dataset.campaign.start, dataset.campaign.end)
    path = store.original_path(version.sha256)
    if version.source_format == "header" and path.stat().st_size >= MIN_WINDOWED_SIZE:
        rows = window_rows(path, request.start, request.end, campaign)
        streamed = stream_subset(
            path,
            campaign,
            start=request.start,
            end=request.end,
            bbox=request.bbox,
            variables=list(request.variables) if request.variables else None,
            filename=version.original_name,
            check_first=_known_variables(request),
            rows=rows,
        )
        if streamed is not None:
            return streamed
        window = read_window(path, request.start, request.end, campaign)
        if window is not None:
            return formats.read(window, campaign=campaign, filename=version.original_name)
    return formats.read(path, campaign=campaign, filename=version.original_name)


def read_with_flags(
    session: Session,
    store: ArchiveStore,
    dataset: Dataset,
    version: DatasetVersion,
    request: DownloadRequest,
    extra: Callable[[DataFile], DataFile] | None = None,
) -> DataFile:
    """The original read for `request`; with `qc` asked, read whole and given its QC flag
    columns (masked or rows dropped as asked) so that the subset keeps rows and flags aligned;
    with `extra` (merged positions), read whole and given what it adds."""
    if request.qc is None and extra is None:
        return read_for_request(store, dataset, version, request)
    datafile = read_original(store, dataset, version)
    if extra is not None:
        datafile = extra(datafile)
    if request.qc is None:
        return datafile
    return with_flags(datafile, flags_by_column(session, store, version, datafile), request.qc)


def _check_variables(datafile: DataFile, request: DownloadRequest) -> None:
    """InvalidQueryError naming the dataset's variables when the request asks for others."""
    if not request.variables:
        return
    known = {name for col in datafile.columns for name in (col.name, col.original_name)}
    unknown = [name for name in request.variables if name not in known]
    if unknown:
        names = ", ".join(col.original_name for col in datafile.data_columns)
        raise InvalidQueryError(
            f"unknown variable(s) {', '.join(unknown)}; this dataset has: {names}"
        )


def apply_subset(datafile: DataFile, request: DownloadRequest) -> DataFile:
    """The rows and columns the request asks for (InvalidQueryError for unknown variables)."""
    if not request.is_subset:
        return datafile
    _check_variables(datafile, request)
    subset = subset_datafile(
        datafile,
        start=request.start,
        end=request.end,
        bbox=request.bbox,
        variables=_with_flag_columns(datafile, request.variables),
    )
    if subset.row_count == 0:
        raise InvalidQueryError("no rows of this dataset fall inside the requested subset")
    return subset


def _with_flag_columns(datafile: DataFile, variables: tuple[str, ...] | None) -> list[str] | None:
    """The asked variables and, where `datafile` has them, their flag columns."""
    if not variables:
        return None
    present = {col.name for col in datafile.columns}
    names = list(variables)
    for name in variables:
        column = next(c for c in datafile.columns if name in (c.name, c.original_name))
        flag_name = flag_column_name(column)
        if flag_name in present and flag_name not in names:
            names.append(flag_name)
    return names


def output_format(version: DatasetVersion, request: DownloadRequest) -> str:
    """The writer to use: the asked format, or the source's own for a subset of `original`."""
    if request.format != "original":
        return request.format
    if version.source_format in WRITER_FORMATS:
        return version.source_format
    raise InvalidQueryError(
        f"a subset of a {version.source_format} original cannot be written in its own format; "
        f"ask for format={', '.join(WRITER_FORMATS[:-1])} or {WRITER_FORMATS[-1]}"
    )


def convert_to_staging(store: ArchiveStore, datafile: DataFile, fmt: str) -> Path:
    """Write `datafile` in `fmt` to a fresh staging file and return its path."""
    out = store.new_staging_path()
    try:
        with out.open("wb") as stream:
            formats.write_to(datafile, fmt, stream)
    except BaseException:
        out.unlink(missing_ok=True)
        raise
    return out


def derived_netcdf(session: Session, store: ArchiveStore, version: DatasetVersion) -> Path | None:
    """The worker-made NetCDF of a version, when it exists on disk."""
    derived = session.scalars(
        select(DerivedFile).where(
            DerivedFile.version_id == version.id, DerivedFile.format == "netcdf"
        )
    ).first()
    if derived is None:
        return None
    path = resolve_derived(store, derived.path)
    return path if path.is_file() else None


Enricher = Callable[[Dataset], Callable[["DataFile"], "DataFile"] | None]
"""Given the dataset, what to add to its whole file before subsetting and converting (None:
nothing); `catalog.navigation.position_enricher` adds merged positions this way."""


def prepare_download(
    session: Session,
    store: ArchiveStore,
    public_id: str,
    principal: Principal,
    now: datetime,
    request: DownloadRequest,
    enrich: Enricher | None = None,
) -> Download:
    """Check access, then prepare the bytes of one dataset's data as `request` asks
    (a converted or subset file with what `enrich` adds: merged positions)."""
    if request.format not in DOWNLOAD_FORMATS:
        raise InvalidQueryError(f"unknown format {request.format!r}")
    dataset = load_dataset_for_data(session, public_id, principal, now, request.level)
    public = is_public(dataset, now, request.level)
    origin = origin_base_url(session, dataset)
    if origin is not None:
        return Download("", "", public, iter(()), origin_base_url=origin)
    version = version_at_level(dataset, request.level)
    name = base_filename(dataset, version, request.level is not None)
    if request.format == "original" and not request.is_subset and request.qc is None:
        suffix = safe_filename(Path(version.original_name).suffix.lstrip("."), "dat")
        path = store.original_path(version.sha256)
        return Download(
            f"{name}.{suffix}",
            "application/octet-stream",
            public,
            iter_file(path),
            size=path.stat().st_size,
            etag=f'"{version.sha256}"',
            path=path,
        )
    fmt = output_format(version, request)
    info = writer_info(fmt)
    ext = info.extension.lstrip(".")
    extra = None if enrich is None else enrich(dataset)
    ready = derived_netcdf(session, store, version) if fmt == "netcdf" else None
    if ready is not None and not request.is_subset and extra is None and request.qc is None:
        return Download(
            f"{name}.{ext}",
            info.media_type,
            public,
            iter_file(ready),
            ready.stat().st_size,
            path=ready,
        )
    with conversion_gate().slot():
        datafile = read_with_flags(session, store, dataset, version, request, extra)
        out = convert_to_staging(store, apply_subset(datafile, request), fmt)
    label = f"{name}_subset" if request.is_subset else name
    size = os.stat(out).st_size
    return Download(f"{label}.{ext}", info.media_type, public, iter_file(out, delete=True), size)


def versions_lacking(
    session: Session,
    fmt: str,
    limit: int = 100,
    skip: Collection[int] = (),
    *,
    newest_first: bool = False,
) -> list[DatasetVersion]:
    """Current versions of local datasets that have no derived file of `fmt` yet (oldest
    first, or newest first: what was uploaded last is what users are about to ask for)."""
    has_derived = (
        select(DerivedFile.id)
        .where(DerivedFile.version_id == DatasetVersion.id, DerivedFile.format == fmt)
        .exists()
    )
    local = select(Center.code).where(Center.is_local.is_(True))
    query = (
        select(DatasetVersion)
        .join(Dataset, Dataset.id == DatasetVersion.dataset_id)
        .where(
            DatasetVersion.is_current.is_(True),
            Dataset.origin_center.in_(local),
            Dataset.withdrawn_at.is_(None),
            ~has_derived,
            DatasetVersion.id.not_in(list(skip)),
        )
        .order_by(DatasetVersion.id.desc() if newest_first else DatasetVersion.id)
        .limit(limit)
    )
    return list(session.scalars(query))


def make_derived_netcdf(
    session: Session, store: ArchiveStore, version: DatasetVersion, now: datetime
) -> DerivedFile:
    """Convert a version's original to NetCDF under archive/derived and record it."""
    dataset = version.dataset
    path = store.derived_path(dataset.public_id, version.id, "nc")
    path.parent.mkdir(parents=True, exist_ok=True)
    # Made once, downloaded many times (often over slow links): compressed where that makes
    # it smaller, unlike the conversions made on request.
    datafile = read_original(store, dataset, version)
    formats.write(datafile, "netcdf", path, compress=worth_compressing(datafile))
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK_SIZE):
            digest.update(chunk)
        # On disk before the row that points at it commits: a power cut never leaves a
        # recorded, truncated derived file to be served.
        os.fsync(handle.fileno())
    stored = path.relative_to(store.root) if path.is_relative_to(store.root) else path
    derived = DerivedFile(
        version_id=version.id,
        format="netcdf",
        path=str(stored),
        sha256=digest.hexdigest(),
        size=path.stat().st_size,
        created_at=now,
    )
    session.add(derived)
    session.flush()
    return derived
