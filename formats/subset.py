"""Subsets of a data file by time window, bounding box and variables."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from formats.bbox import BBoxError, check_bbox
from formats.extent import compute_extent, position_columns
from formats.model import DataFile, FormatError
from formats.timeparse import datetime_to_datetime64

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

logger = logging.getLogger(__name__)


def in_bbox(
    lat: npt.NDArray[Any], lon: npt.NDArray[Any], bbox: tuple[float, float, float, float]
) -> npt.NDArray[np.bool_]:
    """Which points lie in (W, S, E, N); W > E means the box crosses the antimeridian."""
    import numpy as np

    west, south, east, north = bbox
    lon = np.where(lon > 180.0, lon - 360.0, lon)
    inside_lat = (lat >= south) & (lat <= north)
    crosses = west > east
    inside_lon = ((lon >= west) | (lon <= east)) if crosses else ((lon >= west) & (lon <= east))
    result: npt.NDArray[np.bool_] = inside_lat & inside_lon
    return result


def _check_bbox(bbox: tuple[float, float, float, float]) -> None:
    try:
        check_bbox(bbox)
    except BBoxError as err:
        raise FormatError(f"{err}, got {bbox}") from err


def subset(
    datafile: DataFile,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    bbox: tuple[float, float, float, float] | None = None,
    variables: Sequence[str] | None = None,
) -> DataFile:
    """Rows in [start, end] and inside `bbox`, with the named `variables` (plus time,
    position and the bounded independent variables of a multi-dimensional file)."""
    import numpy as np

    keep = np.ones(datafile.row_count, dtype=bool)
    times = datafile.time.values
    if start is not None:
        keep &= times >= datetime_to_datetime64(start)
    if end is not None:
        keep &= times <= datetime_to_datetime64(end)
    if bbox is not None:
        _check_bbox(bbox)
        keep &= _bbox_rows(datafile, bbox)
    columns = _select_columns(datafile, variables)
    new_columns = []
    for col in columns:
        quality = col.quality[keep] if col.quality is not None else None
        if quality is not None and not quality.any():
            quality = None
        new_columns.append(
            dataclasses.replace(
                col, values=col.values[keep], quality=quality, attributes=dict(col.attributes)
            )
        )
    result = dataclasses.replace(
        datafile,
        header=dataclasses.replace(datafile.header),
        columns=new_columns,
    )
    result.extent = compute_extent(result)
    return result


def _bbox_rows(datafile: DataFile, bbox: tuple[float, float, float, float]) -> Any:
    import numpy as np

    lat_col, lon_col, _ = position_columns(datafile.columns)
    if lat_col is not None and lon_col is not None:
        lat = lat_col.values.astype(float)
        lon = lon_col.values.astype(float)
        return in_bbox(lat, lon, bbox)
    lat0, lon0 = datafile.header.latitude, datafile.header.longitude
    if lat0 is None or lon0 is None:
        # A file with no position anywhere cannot be placed in a box.
        return np.zeros(datafile.row_count, dtype=bool)
    inside = bool(in_bbox(np.array([lat0]), np.array([lon0]), bbox)[0])
    return np.full(datafile.row_count, inside, dtype=bool)


def _select_columns(datafile: DataFile, variables: Sequence[str] | None) -> list[Any]:
    if variables is None:
        return list(datafile.columns)
    wanted = set(variables)
    known = {n for c in datafile.columns for n in (c.name, c.original_name)}
    unknown = sorted(wanted - known)
    if unknown:
        raise FormatError(f"unknown variables: {', '.join(unknown)}")
    lat_col, lon_col, alt_col = position_columns(datafile.columns)
    always = {id(datafile.time)} | {id(c) for c in (lat_col, lon_col, alt_col) if c is not None}
    # The independent variables of a multi-dimensional file say where each row is.
    always |= {id(c) for c in datafile.columns if c.name in datafile.bounded}
    return [
        c
        for c in datafile.columns
        if id(c) in always or c.name in wanted or c.original_name in wanted
    ]
