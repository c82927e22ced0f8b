"""Position columns, site coordinates, feature type and the time/space extent of a file."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from formats.model import Column, ColumnKind, DataFile, Extent, FeatureType
from formats.timeparse import datetime64_to_datetime

if TYPE_CHECKING:
    import numpy.typing as npt

logger = logging.getLogger(__name__)

LAT_NAMES = frozenset({"LAT", "LATITUDE", "GPS_LAT", "GPSLAT"})
LON_NAMES = frozenset({"LON", "LONG", "LONGITUDE", "GPS_LON", "GPSLON"})
ALT_NAMES = frozenset({"ALT", "GPS_ALT", "ALTITUDE", "GPSALT"})
LAT_UNITS = frozenset({"degrees_north", "degree", "degN"})
LON_UNITS = frozenset({"degrees_east", "degree", "degE"})
PRESSURE_NAMES = frozenset({"PRES", "PRESS", "PRESSURE", "P"})
HEIGHT_NAMES = frozenset({"HGT", "HEIGHT", "GEOPOT", "GPH"})

_COORD = r"([-+]?\d+(?:\.\d+)?)\s*(?:°|deg)?\s*([NSEW])?"
# Matched against text whose whitespace runs are single spaces, and never from inside a
# number, so neither a run of spaces nor a run of digits is tried in every split (quadratic).
_SITE = re.compile(r"(?<![\d.])" + _COORD + r"\s*[,/ ]\s*" + _COORD, re.IGNORECASE)
_COORDINATE = re.compile(r"([-+]?\d+(?:\.\d*)?|[-+]?\.\d+)\s*(?:°|deg)?\s*([A-Za-z]?)")


def _numeric(col: Column | None) -> bool:
    return col is not None and col.kind is ColumnKind.NUMBER


def position_columns(
    columns: Sequence[Column],
) -> tuple[Column | None, Column | None, Column | None]:
    """The latitude, longitude and altitude columns, recognised by name and unit."""
    lat = lon = alt = None
    for col in columns[1:]:
        if col.kind is not ColumnKind.NUMBER:
            continue
        key = col.original_name.upper()
        unit = col.unit or ""
        if lat is None and (key in LAT_NAMES or unit == "degrees_north"):
            lat = col
        elif lon is None and (key in LON_NAMES or unit == "degrees_east"):
            lon = col
        elif alt is None and key in ALT_NAMES:
            alt = col
    return lat, lon, alt


def parse_site(text: str) -> tuple[float, float] | None:
    """Latitude and longitude from a LOCATION value like `Kaashidhoo; 4.965N 73.466E`."""
    for match in _SITE.finditer(" ".join(text.split())):
        lat_v, lat_h, lon_v, lon_h = match.groups()
        if lat_h and lat_h.upper() not in "NS":
            continue
        if lon_h and lon_h.upper() not in "EW":
            continue
        if not lat_h and not lon_h and ";" not in text and "," not in text:
            continue
        lat = float(lat_v) * (-1.0 if lat_h and lat_h.upper() == "S" else 1.0)
        lon = float(lon_v) * (-1.0 if lon_h and lon_h.upper() == "W" else 1.0)
        return lat, lon
    return None


def parse_coordinate(text: str, positive: str, negative: str) -> float:
    """A coordinate from `4.965`, `4.965N` or `73.4 E` (ValueError if it is not one)."""
    match = _COORDINATE.fullmatch(" ".join(text.split()))
    if match is None:
        raise ValueError(text)
    value = float(match.group(1))
    hemi = match.group(2).upper()
    if hemi == negative:
        return -value
    if hemi in ("", positive):
        return value
    raise ValueError(text)


def _changes_along(values: npt.NDArray[Any], rising: bool, span: float) -> bool:
    import numpy as np

    finite = values[np.isfinite(values)]
    if finite.size < 3 or float(finite.max() - finite.min()) < span:
        return False
    steps = np.diff(finite)
    moving = steps > 0 if rising else steps < 0
    return bool(moving.mean() >= 0.8)


def is_sounding(columns: Sequence[Column]) -> bool:
    """True when a vertical coordinate (PRES falling or HGT rising) changes along the rows."""
    for col in columns[1:]:
        if not _numeric(col):
            continue
        key = col.original_name.upper()
        if key in PRESSURE_NAMES and _changes_along(col.values, rising=False, span=50.0):
            return True
        if key in HEIGHT_NAMES and _changes_along(col.values, rising=True, span=500.0):
            return True
    return False


def feature_type(columns: Sequence[Column], mobile: bool) -> FeatureType:
    """trajectory for a moving platform, profile for a sounding, else timeSeries."""
    lat, lon, _ = position_columns(columns)
    if mobile or (lat is not None and lon is not None):
        return FeatureType.TRAJECTORY
    if is_sounding(columns):
        return FeatureType.PROFILE
    return FeatureType.TIME_SERIES


_BLOCK = 1 << 20
"""Rows per block of the extent's scans: no temporary copy of a whole column."""


def _blocks(values: npt.NDArray[Any]) -> Iterator[npt.NDArray[Any]]:
    """The finite values of `values` as floats, a block at a time (only non-empty blocks)."""
    import numpy as np

    for first in range(0, len(values), _BLOCK):
        part = values[first : first + _BLOCK].astype(float)
        finite = part[np.isfinite(part)]
        if finite.size:
            yield finite


def longitude_range(lon: npt.NDArray[Any]) -> tuple[float, float] | None:
    """(west, east) of the shortest arc holding every longitude; west > east across 180."""
    import numpy as np

    lows, highs, s_lows, s_highs = [], [], [], []
    for finite in _blocks(lon):
        wrapped = np.where(finite > 180.0, finite - 360.0, finite)
        lows.append(float(wrapped.min()))
        highs.append(float(wrapped.max()))
        shifted = np.where(wrapped < 0.0, wrapped + 360.0, wrapped)
        s_lows.append(float(shifted.min()))
        s_highs.append(float(shifted.max()))
    if not lows:
        return None
    west, east = min(lows), max(highs)
    s_west, s_east = min(s_lows), max(s_highs)
    if s_east - s_west < east - west:
        west = s_west - 360.0 if s_west > 180.0 else s_west
        east = s_east - 360.0 if s_east > 180.0 else s_east
    return west, east


def _min_max(values: npt.NDArray[Any]) -> tuple[float | None, float | None]:
    lows, highs = [], []
    for finite in _blocks(values):
        lows.append(float(finite.min()))
        highs.append(float(finite.max()))
    if not lows:
        return None, None
    return min(lows), max(highs)


def _time_range(times: npt.NDArray[Any]) -> tuple[Any, Any] | None:
    import numpy as np

    lows, highs = [], []
    for first in range(0, len(times), _BLOCK):
        part = times[first : first + _BLOCK]
        valid = part[~np.isnat(part)]
        if valid.size:
            lows.append(valid.min())
            highs.append(valid.max())
    if not lows:
        return None
    return min(lows), max(highs)


def compute_extent(datafile: DataFile) -> Extent:
    """Time extent from the rows; space from position columns, else the site coordinates."""
    extent = Extent()
    found = _time_range(datafile.time.values)
    if found is not None:
        extent.start = datetime64_to_datetime(found[0])
        extent.stop = datetime64_to_datetime(found[1])
    lat, lon, alt = position_columns(datafile.columns)
    header = datafile.header
    if lat is not None and lon is not None:
        extent.south, extent.north = _min_max(lat.values)
        lon_range = longitude_range(lon.values)
        if lon_range is not None:
            extent.west, extent.east = lon_range
    elif header.latitude is not None and header.longitude is not None:
        extent.south = extent.north = header.latitude
        lon0 = header.longitude - 360.0 if header.longitude > 180.0 else header.longitude
        extent.west = extent.east = lon0
    if alt is not None:
        extent.min_altitude, extent.max_altitude = _min_max(alt.values)
    elif header.altitude is not None:
        extent.min_altitude = extent.max_altitude = header.altitude
    return extent
