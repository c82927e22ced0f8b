"""Quick-look plots: made once per version and page into the derived storage, served after
the check.

The derived storage is not public: a plot is computed from the rows, so it counts as data
and is only ever handed out by `get_plot`, after the access policy has said yes. A plot has
pages (`formats.quicklook.plot_pages`: every variable is shown on some page); the list of
pages is kept beside page 1 (`<version>.plotpages`, JSON) so the dataset page can show them
all without reading the data file.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from catalog.access import can_read_data, facts_at_level
from catalog.downloads import current_version, is_public, origin_base_url, read_original
from catalog.errors import CatalogError, InvalidQueryError
from catalog.models import Dataset, DatasetVersion, DerivedFile
from catalog.schemas import Principal
from catalog.search import load_dataset_for_data
from catalog.storage import ArchiveStore
from formats.quicklook import MAX_PAGES, PlotPage, plot, plot_pages

__all__ = [
    "MAX_PAGES",
    "PLOT_FORMATS",
    "Plot",
    "ensure_plot",
    "get_plot",
    "plot_pages_of",
    "record_plot",
    "stored_pages",
]

if TYPE_CHECKING:
    from pathlib import Path

    from sqlalchemy.orm import Session

logger = logging.getLogger(__name__)

PLOT_FORMATS: dict[str, str] = {"png": "image/png", "svg": "image/svg+xml"}


@dataclass(frozen=True)
class Plot:
    """A quick-look plot ready to send."""

    content: bytes
    media_type: str
    etag: str
    is_public: bool
    origin_base_url: str | None = None
    """Set for a mirrored record: its origin center makes and serves the plot."""


PAGES_EXT = "plotpages"


def plot_path(
    store: ArchiveStore, dataset: Dataset, version: DatasetVersion, fmt: str, page: int = 1
) -> Path:
    """Where page `page` of the quick-look of a version is cached."""
    ext = fmt if page == 1 else f"p{page}{fmt}"
    return store.derived_path(dataset.public_id, version.id, ext)


def _write(path: Path, content: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with temp.open("wb") as handle:
        handle.write(content)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temp, path)


def stored_pages(store: ArchiveStore, dataset: Dataset, version: DatasetVersion) -> list[PlotPage]:
    """The pages of a version's quick look as recorded when it was first drawn (empty when
    it has not been drawn yet)."""
    path = store.derived_path(dataset.public_id, version.id, PAGES_EXT)
    try:
        rows = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return []
    return [PlotPage(int(r["number"]), str(r["kind"]), list(r["variables"])) for r in rows]


def ensure_plot(
    store: ArchiveStore, dataset: Dataset, version: DatasetVersion, fmt: str, page: int = 1
) -> Path:
    """The cached page of a version's quick look, made now if it is not there yet."""
    if fmt not in PLOT_FORMATS:
        raise InvalidQueryError(f"plot format must be one of {', '.join(PLOT_FORMATS)}")
    if not 1 <= page <= MAX_PAGES:
        raise InvalidQueryError(f"plot page must be between 1 and {MAX_PAGES}")
    path = plot_path(store, dataset, version, fmt, page)
    if path.is_file():
        return path
    datafile = read_original(store, dataset, version)
    pages = plot_pages(datafile)
    listing = [{"number": p.number, "kind": p.kind, "variables": p.variables} for p in pages]
    _write(
        store.derived_path(dataset.public_id, version.id, PAGES_EXT), json.dumps(listing).encode()
    )
    if page > len(pages):
        raise InvalidQueryError(
            f"this quick look has {len(pages)} page(s); there is no page {page}"
        )
    _write(path, plot(datafile, fmt=fmt, page=page))
    logger.info(
        "made %s quick-look page %d for %s version %s", fmt, page, dataset.public_id, version.id
    )
    return path


def get_plot(
    session: Session,
    store: ArchiveStore,
    public_id: str,
    principal: Principal,
    now: datetime,
    fmt: str = "png",
    page: int = 1,
) -> Plot:
    """Check access, then page `page` of the quick look of the dataset's current version."""
    if fmt not in PLOT_FORMATS:
        raise InvalidQueryError(f"plot format must be one of {', '.join(PLOT_FORMATS)}")
    dataset = load_dataset_for_data(session, public_id, principal, now)
    public = is_public(dataset, now)
    origin = origin_base_url(session, dataset)
    if origin is not None:
        return Plot(b"", "", "", public, origin_base_url=origin)
    version = current_version(session, dataset)
    content = ensure_plot(store, dataset, version, fmt, page).read_bytes()
    tag = hashlib.sha256(f"{version.sha256}:{fmt}:{page}".encode()).hexdigest()[:32]
    return Plot(content, PLOT_FORMATS[fmt], f'"{tag}"', public)


def record_plot(
    session: Session, store: ArchiveStore, version: DatasetVersion, fmt: str, now: datetime
) -> DerivedFile:
    """Make (if needed) a version's quick-look and record it as a derived file."""
    path = ensure_plot(store, version.dataset, version, fmt)
    content = path.read_bytes()
    stored = path.relative_to(store.root) if path.is_relative_to(store.root) else path
    derived = DerivedFile(
        version_id=version.id,
        format=fmt,
        path=str(stored),
        sha256=hashlib.sha256(content).hexdigest(),
        size=len(content),
        created_at=now,
    )
    session.add(derived)
    session.flush()
    return derived


def plot_pages_of(
    store: ArchiveStore, dataset: Dataset, principal: Principal, now: datetime, *, mirrored: bool
) -> list[PlotPage]:
    """The pages of the current version's quick look the caller may see (the dataset page
    lists them, for the dataset it loaded); empty when the caller may not read its data
    (per-level rules applied, as `load_dataset_for_data` decides), for a `mirrored` record
    (its plot is at its origin) or a plot not drawn yet."""
    if mirrored or not can_read_data(principal, facts_at_level(dataset, None), now):
        return []
    try:
        return stored_pages(store, dataset, current_version(None, dataset))
    except CatalogError:  # no archived version: no plot pages
        return []
