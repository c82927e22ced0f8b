"""Which NetCDF file an OPeNDAP request reads, after the one access check.

OPeNDAP serves the same values as the NetCDF download: the worker-made NetCDF of the current
version when it exists (the usual case), else a whole-file conversion made for this request
in staging (deleted once answered). The access decision is `load_dataset_for_data`, the
policy every data route uses; a mirrored record names its origin center instead.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import formats
from catalog.conversion_gate import conversion_gate
from catalog.downloads import (
    current_version,
    derived_netcdf,
    is_public,
    origin_base_url,
    read_original,
)
from catalog.schemas import Principal
from catalog.search import load_dataset_for_data
from catalog.storage import ArchiveStore

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


@dataclass(frozen=True)
class NetcdfSource:
    """The file to read, or the origin center to send the client to."""

    path: Path | None
    is_public: bool
    temporary: bool = False
    origin_base_url: str | None = None

    def discard(self) -> None:
        """Delete a per-request conversion (a stored file is left alone)."""
        if self.temporary and self.path is not None:
            self.path.unlink(missing_ok=True)


def netcdf_source(
    session: Session, store: ArchiveStore, public_id: str, principal: Principal, now: datetime
) -> NetcdfSource:
    """The NetCDF of `public_id`'s current version, if `principal` may read its data
    (NotFoundError / PermissionDeniedError otherwise, as for a download)."""
    dataset = load_dataset_for_data(session, public_id, principal, now)
    public = is_public(dataset, now)
    origin = origin_base_url(session, dataset)
    if origin is not None:
        return NetcdfSource(None, public, origin_base_url=origin)
    version = current_version(session, dataset)
    stored = derived_netcdf(session, store, version)
    if stored is not None:
        return NetcdfSource(stored, public)
    out = store.new_staging_path()
    try:
        with conversion_gate().slot():
            formats.write(read_original(store, dataset, version), "netcdf", out)
    except BaseException:
        if os.path.exists(out):
            out.unlink()
        raise
    return NetcdfSource(out, public, temporary=True)
