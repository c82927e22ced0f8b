"""Quick-look plots: made once per version into the derived storage, served after the check.

The derived storage is not public: a plot is computed from the rows, so it counts as data
and is only ever handed out by `get_plot`, after the access policy has said yes.
"""

from __future__ import annotations

import hashlib
import logging
import os
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from catalog.downloads import current_version, is_public, origin_base_url, read_original
from catalog.errors import InvalidQueryError
from catalog.models import Dataset, DatasetVersion, DerivedFile
from catalog.schemas import Principal
from catalog.search import load_dataset_for_data
from catalog.storage import ArchiveStore
from formats.quicklook import plot

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


def plot_path(store: ArchiveStore, dataset: Dataset, version: DatasetVersion, fmt: str) -> Path:
    """Where the quick-look of a version is cached."""
    return store.derived_path(dataset.public_id, version.id, fmt)


def ensure_plot(store: ArchiveStore, dataset: Dataset, version: DatasetVersion, fmt: str) -> Path:
    """The cached quick-look of a version, made now if it is not there yet."""
    if fmt not in PLOT_FORMATS:
        raise InvalidQueryError(f"plot format must be one of {', '.join(PLOT_FORMATS)}")
    path = plot_path(store, dataset, version, fmt)
    if path.is_file():
        return path
    content = plot(read_original(store, dataset, version), fmt=fmt)
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with temp.open("wb") as handle:
        handle.write(content)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temp, path)
    logger.info("made %s quick-look for %s version %s", fmt, dataset.public_id, version.id)
    return path


def get_plot(
    session: Session,
    store: ArchiveStore,
    public_id: str,
    principal: Principal,
    now: datetime,
    fmt: str = "png",
) -> Plot:
    """Check access, then the quick-look of the dataset's current version."""
    if fmt not in PLOT_FORMATS:
        raise InvalidQueryError(f"plot format must be one of {', '.join(PLOT_FORMATS)}")
    dataset = load_dataset_for_data(session, public_id, principal, now)
    public = is_public(dataset, now)
    origin = origin_base_url(session, dataset)
    if origin is not None:
        return Plot(b"", "", "", public, origin_base_url=origin)
    version = current_version(session, dataset)
    content = ensure_plot(store, dataset, version, fmt).read_bytes()
    tag = hashlib.sha256(f"{version.sha256}:{fmt}".encode()).hexdigest()[:32]
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
