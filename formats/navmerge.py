"""Positions of a measurement file from a navigation file: linear interpolation in time.

A measurement time gets a position only when navigation samples (with both LAT and LON)
bracket it no more than `max_gap_s` apart; a time on a navigation sample takes it as is.
Longitudes are unwrapped before interpolating, so a track crossing 180 degrees is not
dragged round the globe, and wrapped back to [-180, 180) after. Pure NumPy, no pandas.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from formats.extent import compute_extent, position_columns
from formats.model import Column, ColumnKind, DataFile

Floats = npt.NDArray[np.float64]

METHOD = "linear interpolation in time"


@dataclass(frozen=True)
class Navigation:
    """A navigation record: times (s since an epoch, increasing) and positions."""

    times: Floats
    lat: Floats
    lon: Floats
    alt: Floats | None = None

    def valid(self) -> Navigation:
        """The samples with a finite time, latitude and longitude."""
        keep = np.isfinite(self.times) & np.isfinite(self.lat) & np.isfinite(self.lon)
        alt = None if self.alt is None else self.alt[keep]
        return Navigation(self.times[keep], self.lat[keep], self.lon[keep], alt)


@dataclass(frozen=True)
class Positions:
    """Interpolated positions, one per measurement time (NaN where none can be given)."""

    lat: Floats
    lon: Floats
    alt: Floats | None

    @property
    def positioned(self) -> int:
        """How many times got a position."""
        return int(np.isfinite(self.lat).sum())


def seconds(values: npt.NDArray[Any]) -> Floats:
    """datetime64 values as float seconds since 1970 (NaN for NaT)."""
    as_ns = values.astype("datetime64[ns]")
    out = as_ns.astype(np.int64).astype(np.float64) / 1e9
    out[np.isnat(as_ns)] = np.nan
    return out


def _interp(
    values: Floats, left: npt.NDArray[np.intp], right: npt.NDArray[np.intp], weight: Floats
) -> Floats:
    result: Floats = values[left] + (values[right] - values[left]) * weight
    return result


def _unwrap(lon: Floats) -> Floats:
    """Longitudes made continuous (a jump of more than 180 degrees is a crossing of 180)."""
    jumps = np.diff(lon)
    if not len(jumps) or np.abs(jumps).max() <= 180.0:
        return lon
    turns = np.concatenate([[0.0], np.cumsum(-360.0 * np.round(jumps / 360.0))])
    result: Floats = lon + turns
    return result


def _wrap(lon: Floats) -> Floats:
    """Longitudes back into [-180, 180) (untouched when already inside, so exact)."""
    outside = (lon < -180.0) | (lon >= 180.0)
    if outside.any():
        lon = lon.copy()
        lon[outside] = (lon[outside] + 180.0) % 360.0 - 180.0
    return lon


def interpolate(times: Floats, navigation: Navigation, max_gap_s: float) -> Positions:
    """Positions at `times` (seconds, any order) from `navigation` (see the module)."""
    nav = navigation.valid()
    count = len(times)
    if len(nav.times) == 0:
        empty = np.full(count, np.nan)
        return Positions(empty, empty.copy(), None if nav.alt is None else empty.copy())
    right = np.searchsorted(nav.times, times, side="left")
    exact = (right < len(nav.times)) & (nav.times[np.minimum(right, len(nav.times) - 1)] == times)
    left = np.where(exact, right, right - 1)
    usable = (left >= 0) & (right < len(nav.times)) & np.isfinite(times)
    left_c = np.clip(left, 0, len(nav.times) - 1)
    right_c = np.clip(right, 0, len(nav.times) - 1)
    span = nav.times[right_c] - nav.times[left_c]
    usable &= exact | (span <= max_gap_s)
    with np.errstate(invalid="ignore", divide="ignore"):
        weight = np.where(span > 0, (times - nav.times[left_c]) / span, 0.0)
    lat = _interp(nav.lat, left_c, right_c, weight)
    lon = _wrap(_interp(_unwrap(nav.lon), left_c, right_c, weight))
    alt = None if nav.alt is None else _interp(nav.alt, left_c, right_c, weight)
    lat[~usable] = np.nan
    lon[~usable] = np.nan
    if alt is not None:
        alt[~usable] = np.nan
    return Positions(lat, lon, alt)


def navigation_of(datafile: DataFile) -> Navigation | None:
    """The positions of a file with LAT and LON columns (None without them)."""
    lat, lon, alt = position_columns(datafile.columns)
    if lat is None or lon is None:
        return None
    altitude = None if alt is None else alt.values.astype(np.float64)
    times = seconds(datafile.time.values)
    return Navigation(times, lat.values.astype(np.float64), lon.values.astype(np.float64), altitude)


def with_positions(datafile: DataFile, positions: Positions, source: str) -> DataFile:
    """`datafile` with LAT, LON (and ALT) columns from `positions` after time; `source`
    (the navigation dataset, version and method) goes in each column's attributes."""
    attributes = {"source": source, "comment": f"merged from navigation: {METHOD}"}
    added = [
        _column("LAT", "degrees_north", "degN", positions.lat, attributes),
        _column("LON", "degrees_east", "degE", positions.lon, attributes),
    ]
    if positions.alt is not None:
        added.append(_column("ALT", "m", "m", positions.alt, attributes))
    columns = [datafile.time, *added, *datafile.data_columns]
    result = dataclasses.replace(datafile, columns=columns)
    result.extent = compute_extent(result)
    return result


def _column(
    name: str, unit: str, original_unit: str, values: Floats, attributes: dict[str, str]
) -> Column:
    return Column(
        original_name=name,
        name=name,
        original_unit=original_unit,
        unit=unit,
        kind=ColumnKind.NUMBER,
        values=values,
        decimals=5,
        attributes=dict(attributes),
    )
