"""The track of a newly registered version, from the file's own position columns.

A mobile dataset (a trajectory: an aircraft, a ship) gets its simplified path stored at
registration (`catalog.tracks`), so the search map can draw a line instead of a box. The
track is data: it is served under the data policy (`GET /datasets/{id}/track`).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

import numpy as np

from catalog.tracks import simplify, store_track
from formats.extent import position_columns
from formats.model import FeatureType

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from catalog.models import DatasetVersion
    from formats.model import DataFile

MAX_GAP_S = 600.0
"""A pause of more than ten minutes between fixes breaks the line (no straight jump)."""


def file_track(datafile: DataFile) -> tuple[dict[str, Any] | None, int]:
    """The simplified GeoJSON path of a trajectory file and its count of fixes (None, 0 if
    the file is not a trajectory or has no position columns)."""
    if datafile.feature_type is not FeatureType.TRAJECTORY:
        return None, 0
    lat, lon, _ = position_columns(datafile.columns)
    if lat is None or lon is None:
        return None, 0
    seconds = datafile.time.values.astype("datetime64[ns]").astype(np.int64) / 1e9
    lats = np.asarray(lat.values, dtype=np.float64)
    lons = np.asarray(lon.values, dtype=np.float64)
    fixes = int(np.count_nonzero(np.isfinite(lats) & np.isfinite(lons)))

    return simplify(lons, lats, seconds, max_gap_s=MAX_GAP_S), fixes


def record_file_track(
    session: Session, version: DatasetVersion, datafile: DataFile, now: datetime
) -> None:
    """Store the track of `version` (flushed, so it has an id) when the file has one."""
    geometry, fixes = file_track(datafile)
    if geometry is None:
        return
    session.flush()
    store_track(session, version.id, geometry, fixes, now, source="file")
