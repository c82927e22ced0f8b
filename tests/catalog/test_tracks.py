"""Simplified tracks: the shape is kept within the point budget, gaps and missing positions
split the line, and a version's track is stored and replaced."""

from __future__ import annotations

import itertools
import math

import numpy as np
from sqlalchemy.orm import Session

from catalog.models import DatasetTrack, DatasetVersion
from catalog.tracks import geometry_points, simplify, store_track
from tests.catalog.conftest import NOW
from tests.catalog.factories import make_dataset


def _distance_to_polyline(point: np.ndarray, line: np.ndarray) -> float:
    best = math.inf
    for start, end in itertools.pairwise(line):
        segment = end - start
        t = (
            0.0
            if not segment.any()
            else float(np.clip(np.dot(point - start, segment) / np.dot(segment, segment), 0, 1))
        )
        best = min(best, float(np.hypot(*(start + t * segment - point))))
    return best


def test_a_long_flight_keeps_its_shape_within_the_budget() -> None:
    t = np.arange(20_000, dtype=float)
    lons = 73.5 + 3 * np.sin(t / 3000)
    lats = 4.2 + t / 10_000
    geometry = simplify(lons, lats, t, max_points=200)
    assert geometry is not None and geometry["type"] == "LineString"
    line = np.asarray(geometry["coordinates"])
    assert 2 < len(line) <= 200
    assert line[0].tolist() == [round(lons[0], 5), round(lats[0], 5)]
    assert line[-1].tolist() == [round(lons[-1], 5), round(lats[-1], 5)]
    # Every original position lies close to the simplified line (well under 0.05 degrees).
    sample = np.column_stack([lons, lats])[::97]
    assert max(_distance_to_polyline(p, line) for p in sample) < 0.05


def test_gaps_and_missing_positions_split_the_line() -> None:
    t = np.array([0, 1, 2, 3, 500, 501, 502, 503], dtype=float)
    lons = np.array([70, 70.1, 70.2, math.nan, 71, 71.1, 71.2, 71.3])
    lats = np.array([5, 5.1, 5.2, 5.3, 6, 6.1, 6.2, 6.3])
    geometry = simplify(lons, lats, t, max_gap_s=60)
    assert geometry is not None and geometry["type"] == "MultiLineString"
    assert [len(line) for line in geometry["coordinates"]] == [3, 4]
    assert geometry_points(geometry) == 7
    assert simplify([math.nan], [math.nan]) is None
    assert simplify([72.0], [-3.0]) == {"type": "Point", "coordinates": [72.0, -3.0]}


def test_a_track_is_stored_and_replaced(db: Session) -> None:
    dataset = make_dataset(db)
    version = DatasetVersion(dataset=dataset, sha256="0" * 64, size=1, created_at=NOW)
    db.add(version)
    db.flush()
    first = simplify([70, 71, 72], [5, 6, 7])
    store_track(db, version.id, first, 3, version.created_at)
    db.flush()
    second = simplify([80, 81], [1, 2])
    store_track(db, version.id, second, 2, version.created_at, source="navigation")
    db.flush()
    track = db.get_one(DatasetTrack, version.id)
    assert track.geojson == second and track.points == 2 and track.source == "navigation"
    store_track(db, version.id, None, 0, version.created_at)
    db.flush()
    assert db.get(DatasetTrack, version.id) is None
