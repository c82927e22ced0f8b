"""Matches between the points of a moving platform and other points, within a time and a
distance window: |t_other - t| <= dt and great-circle distance <= dx.

The other points go into a KD-tree on the unit sphere (chord distance grows with the arc,
so a ball query with the chord of `dx`, slightly widened, finds every candidate); each
candidate is then checked exactly with the haversine distance and the time offset.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from formats.model import DataFile

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.intp]
EARTH_RADIUS_KM = 6371.0088
"""The mean Earth radius (IUGG), the sphere every distance here is measured on."""


@dataclass(frozen=True)
class Points:
    """Positions in time: seconds since an epoch, degrees north and east."""

    times: Floats
    lat: Floats
    lon: Floats


@dataclass(frozen=True)
class Matches:
    """Pairs (index into the track, index into the others), sorted by both, with offsets."""

    track: Ints
    other: Ints
    distance_km: Floats
    dt_s: Floats
    """t_other - t_track."""


def _xyz(lat: Floats, lon: Floats) -> Floats:
    phi, lam = np.deg2rad(lat), np.deg2rad(lon)
    return np.column_stack([np.cos(phi) * np.cos(lam), np.cos(phi) * np.sin(lam), np.sin(phi)])


def haversine_km(lat1: Floats, lon1: Floats, lat2: Floats, lon2: Floats) -> Floats:
    """Great-circle distance on the sphere of `EARTH_RADIUS_KM`."""
    p1, p2 = np.deg2rad(lat1), np.deg2rad(lat2)
    dphi, dlam = p2 - p1, np.deg2rad(lon2 - lon1)
    a = np.sin(dphi / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dlam / 2) ** 2
    result: Floats = 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))
    return result


def _finite(points: Points) -> Ints:
    ok = np.isfinite(points.times) & np.isfinite(points.lat) & np.isfinite(points.lon)
    return np.flatnonzero(ok)


def collocate(track: Points, others: Points, dt_s: float, dx_km: float) -> Matches:
    """Every (track point, other point) pair inside both windows (see the module)."""
    from scipy.spatial import cKDTree  # type: ignore[import-untyped]

    t_idx, o_idx = _finite(track), _finite(others)
    if len(t_idx):  # only other points inside the track's time span widened by dt can match
        first, last = track.times[t_idx].min() - dt_s, track.times[t_idx].max() + dt_s
        o_idx = o_idx[(others.times[o_idx] >= first) & (others.times[o_idx] <= last)]
    empty = Matches(np.empty(0, np.intp), np.empty(0, np.intp), np.empty(0), np.empty(0))
    if not len(t_idx) or not len(o_idx):
        return empty
    chord = 2 * np.sin(min(dx_km / EARTH_RADIUS_KM, np.pi) / 2) * (1 + 1e-9) + 1e-12
    tree = cKDTree(_xyz(track.lat[t_idx], track.lon[t_idx]))
    hits = tree.query_ball_point(_xyz(others.lat[o_idx], others.lon[o_idx]), chord)
    counts = np.fromiter((len(h) for h in hits), dtype=np.intp, count=len(hits))
    if not counts.sum():
        return empty
    pair_o = np.repeat(o_idx, counts)
    pair_t = t_idx[np.concatenate([np.asarray(h, dtype=np.intp) for h in hits if h])]
    dt = others.times[pair_o] - track.times[pair_t]
    keep = np.abs(dt) <= dt_s
    pair_t, pair_o, dt = pair_t[keep], pair_o[keep], dt[keep]
    distance = haversine_km(
        track.lat[pair_t], track.lon[pair_t], others.lat[pair_o], others.lon[pair_o]
    )
    keep = distance <= dx_km
    order = np.lexsort((pair_o[keep], pair_t[keep]))
    return Matches(pair_t[keep][order], pair_o[keep][order], distance[keep][order], dt[keep][order])


def points_of(datafile: DataFile) -> Points | None:
    """Every row's time and position: its LAT/LON columns, or the header's fixed site."""
    from formats.extent import position_columns
    from formats.navmerge import seconds

    times = seconds(datafile.time.values)
    lat, lon, _ = position_columns(datafile.columns)
    if lat is not None and lon is not None:
        return Points(times, lat.values.astype(np.float64), lon.values.astype(np.float64))
    site_lat, site_lon = datafile.header.latitude, datafile.header.longitude
    if site_lat is None or site_lon is None:
        return None
    return Points(times, np.full(len(times), site_lat), np.full(len(times), site_lon))
