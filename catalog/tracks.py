"""Simplified tracks of mobile datasets (GeoJSON LineString / MultiLineString).

`simplify` keeps a track's shape in at most `max_points` positions (Ramer-Douglas-Peucker
on longitude/latitude degrees, the tolerance raised until the budget holds); a gap in time
longer than `max_gap_s` or a missing position splits the line, so no segment is drawn
where the platform's position is unknown. `store_track` records it for one version.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy.orm import Session

from catalog.models import DatasetTrack

MAX_POINTS = 500
"""Positions kept per version: enough for a map at any zoom the portal offers."""


def _rdp_mask(points: NDArray[np.float64], tolerance: float) -> NDArray[np.bool_]:
    """Which points Ramer-Douglas-Peucker keeps (iterative, no recursion limit)."""
    keep = np.zeros(len(points), dtype=bool)
    keep[0] = keep[-1] = True
    stack = [(0, len(points) - 1)]
    while stack:
        first, last = stack.pop()
        if last - first < 2:
            continue
        start, end = points[first], points[last]
        segment = end - start
        inner = points[first + 1 : last]
        length = float(np.hypot(*segment))
        if length == 0.0:
            distances = np.hypot(*(inner - start).T)
        else:
            offsets = inner - start
            cross = segment[0] * offsets[:, 1] - segment[1] * offsets[:, 0]
            distances = np.abs(cross) / length
        index = int(np.argmax(distances))
        if distances[index] > tolerance:
            split = first + 1 + index
            keep[split] = True
            stack += [(first, split), (split, last)]
    return keep


def _simplify_line(points: NDArray[np.float64], max_points: int) -> NDArray[np.float64]:
    if len(points) <= max_points:
        return points
    span = float(np.ptp(points, axis=0).max()) or 1.0
    tolerance = span / 10_000
    while True:
        mask = _rdp_mask(points, tolerance)
        if int(mask.sum()) <= max_points:
            return points[mask]
        tolerance *= 2


def _segments(
    lons: NDArray[np.float64],
    lats: NDArray[np.float64],
    times: NDArray[np.float64] | None,
    max_gap_s: float | None,
) -> list[NDArray[np.float64]]:
    valid = np.isfinite(lons) & np.isfinite(lats)
    breaks = ~valid
    if times is not None and max_gap_s is not None:
        gap = np.zeros(len(lons), dtype=bool)
        gap[1:] = np.diff(times) > max_gap_s
        breaks = breaks | gap
    segments: list[NDArray[np.float64]] = []
    start = 0
    for index in [*np.flatnonzero(breaks), len(lons)]:
        piece = np.column_stack([lons[start:index], lats[start:index]])
        piece = piece[np.isfinite(piece).all(axis=1)]
        if len(piece):
            segments.append(piece)
        start = index + 1 if index < len(lons) and not valid[index] else index
    return segments


def simplify(
    lons: Sequence[float] | NDArray[np.float64],
    lats: Sequence[float] | NDArray[np.float64],
    times: Sequence[float] | NDArray[np.float64] | None = None,
    *,
    max_points: int = MAX_POINTS,
    max_gap_s: float | None = None,
) -> dict[str, Any] | None:
    """The simplified GeoJSON geometry of a path, or None when it has no position."""
    lon = np.asarray(lons, dtype=np.float64)
    lat = np.asarray(lats, dtype=np.float64)
    time = None if times is None else np.asarray(times, dtype=np.float64)
    segments = _segments(lon, lat, time, max_gap_s)
    total = sum(len(segment) for segment in segments)
    if total == 0:
        return None
    lines = []
    for segment in segments:
        budget = max(2, round(max_points * len(segment) / total))
        line = _simplify_line(segment, budget)
        lines.append([[round(float(x), 5), round(float(y), 5)] for x, y in line])
    if len(lines) == 1:
        if len(lines[0]) == 1:
            return {"type": "Point", "coordinates": lines[0][0]}
        return {"type": "LineString", "coordinates": lines[0]}
    return {"type": "MultiLineString", "coordinates": lines}


def geometry_points(geometry: dict[str, Any]) -> int:
    """Positions in a geometry made by `simplify`."""
    kind, coordinates = geometry["type"], geometry["coordinates"]
    if kind == "Point":
        return 1
    if kind == "LineString":
        return len(coordinates)
    return sum(len(line) for line in coordinates)


def store_track(
    session: Session,
    version_id: int,
    geometry: dict[str, Any] | None,
    source_points: int,
    now: datetime,
    source: str = "file",
) -> DatasetTrack | None:
    """Record (or replace) the track of one version; a None geometry removes it."""
    existing = session.get(DatasetTrack, version_id)
    if geometry is None:
        if existing is not None:
            session.delete(existing)
        return None
    track = existing or DatasetTrack(version_id=version_id)
    track.geojson = geometry
    track.points = geometry_points(geometry)
    track.source_points = source_points
    track.source = source
    track.created_at = now
    session.add(track)
    return track
