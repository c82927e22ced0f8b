"""Synthetic research flights: 5-second tracks out of Male with O3, CO and aerosol."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import numpy.typing as npt

from archive_center.demo.headerfile import SynthColumn, SynthFile

EARTH_RADIUS_M = 6_371_000.0
MALE = (4.1918, 73.5291)  # Male international airport (Hulhule)
ITCZ_LAT = -6.0  # February-March position of the ITCZ over the central Indian Ocean
STEP_S = 5

Floats = npt.NDArray[np.float64]


@dataclass(frozen=True)
class FlightSpec:
    """One research flight: who flew it, when, where to and at which leg altitudes."""

    platform: str
    aircraft: str
    source: str
    flight_no: int
    did: int
    pi_name: str
    center: str
    takeoff: datetime
    waypoints: tuple[tuple[float, float], ...]
    leg_altitudes_m: tuple[float, ...]
    speed_ms: float
    climb_ms: float
    objective: str


@dataclass
class Track:
    """A flight's time, position and altitude arrays (one entry per 5 s)."""

    times: list[datetime]
    lat: Floats
    lon: Floats
    alt: Floats


def _haversine(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp, dl = p2 - p1, np.radians(lon2 - lon1)
    a = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return float(2 * EARTH_RADIUS_M * float(np.arcsin(np.sqrt(a))))


def _altitude_profile(t: Floats, spec: FlightSpec, rng: np.random.Generator) -> Floats:
    """Stacked level legs, joined at the climb rate, under climb-out and descent envelopes."""
    total = float(t[-1])
    legs = np.array(spec.leg_altitudes_m)
    leg_index = np.minimum((t / total * len(legs)).astype(int), len(legs) - 1)
    target = legs[leg_index]
    limited = np.empty_like(target)
    limited[0] = 0.0
    step = spec.climb_ms * STEP_S
    for i in range(1, len(target)):
        limited[i] = limited[i - 1] + np.clip(target[i] - limited[i - 1], -step, step)
    envelope = np.minimum(spec.climb_ms * t, 0.8 * spec.climb_ms * (total - t))
    alt = np.minimum(limited, envelope)
    wobble = rng.normal(0.0, 4.0, size=alt.shape) * (alt > 50)
    return np.asarray(np.round(np.maximum(alt + wobble, 0.0), 1), dtype=np.float64)


def simulate_track(spec: FlightSpec, rng: np.random.Generator) -> Track:
    """Position along the waypoints at the cruise speed, every 5 s, and the altitude legs."""
    points = (MALE, *spec.waypoints, MALE)
    seg = [_haversine(*points[i], *points[i + 1]) for i in range(len(points) - 1)]
    cumulative = np.concatenate([[0.0], np.cumsum(seg)])
    n = int(cumulative[-1] / spec.speed_ms / STEP_S) + 1
    t = np.arange(n, dtype=np.float64) * STEP_S
    distance = np.minimum(t * spec.speed_ms, cumulative[-1])
    lat = np.interp(distance, cumulative, [p[0] for p in points])
    lon = np.interp(distance, cumulative, [p[1] for p in points])
    times = [spec.takeoff + timedelta(seconds=float(s)) for s in t]
    return Track(times=times, lat=lat, lon=lon, alt=_altitude_profile(t, spec, rng))


def _red_noise(rng: np.random.Generator, n: int, sigma: float, memory: float = 0.98) -> Floats:
    """AR(1) noise: the slow wander of a real airmass along a track."""
    shocks = rng.normal(0.0, sigma * np.sqrt(1 - memory**2), size=n)
    out = np.empty(n)
    out[0] = rng.normal(0.0, sigma)
    for i in range(1, n):
        out[i] = memory * out[i - 1] + shocks[i]
    return out


def _pollution(track: Track) -> Floats:
    """0 in the clean southern hemisphere air, 1 in the polluted outflow north of the ITCZ."""
    north = 1.0 / (1.0 + np.exp(-(track.lat - ITCZ_LAT) / 1.5))
    layer = np.where(track.alt < 3200.0, 1.0, np.exp(-(track.alt - 3200.0) / 800.0))
    return np.asarray(north * layer, dtype=np.float64)


def _gap_mask(rng: np.random.Generator, n: int, runs: int, longest: int) -> npt.NDArray[np.bool_]:
    mask = np.zeros(n, dtype=bool)
    for _ in range(runs):
        length = int(rng.integers(3, longest))
        first = int(rng.integers(0, max(n - length, 1)))
        mask[first : first + length] = True
    return mask


def flight_file(spec: FlightSpec, seed: int) -> SynthFile:
    """The header-format contents of one flight, deterministic for a seed."""
    rng = np.random.default_rng([seed, spec.did])
    track = simulate_track(spec, rng)
    n = len(track.times)
    p = _pollution(track)
    co = 62.0 + 190.0 * p + _red_noise(rng, n, 6.0) + rng.normal(0, 1.5, n)
    o3 = 16.0 + 44.0 * p + 8.0 * track.alt / 6000.0 + _red_noise(rng, n, 3.0) + rng.normal(0, 1, n)
    bc = (40.0 + 1600.0 * p) * np.exp(_red_noise(rng, n, 0.25) + rng.normal(0, 0.05, n))
    cn = (280.0 + 2600.0 * p) * np.exp(_red_noise(rng, n, 0.2) + rng.normal(0, 0.05, n))
    bad_co = np.zeros(n, dtype=bool)
    bad_co[rng.choice(n, size=3, replace=False)] = True
    columns = [
        SynthColumn("LAT", "degN", track.lat, 4),
        SynthColumn("LON", "degE", track.lon, 4),
        SynthColumn("ALT", "m", track.alt, 1),
        SynthColumn("O3", "ppbv", np.maximum(o3, 5.0), 2, missing=_gap_mask(rng, n, 2, 60)),
        SynthColumn("CO", "ppbv", np.maximum(co, 45.0), 2, bad=bad_co),
        SynthColumn("BC", "ng/m3", bc, 1, missing=_gap_mask(rng, n, 1, 30)),
        SynthColumn("CN", "cm-3", cn, 0),
    ]
    return SynthFile(
        did=spec.did,
        pi_name=spec.pi_name,
        platform=spec.platform,
        instrument="Fast-response ozone (UV) and CO (VUV) analysers; aethalometer; CN counter",
        location="mobile",
        times=track.times,
        columns=columns,
        time_style="yyyymmddhhmmss" if spec.platform == "C130" else "mmddhhmmss",
        remarks=[
            f"{spec.aircraft} research flight RF{spec.flight_no:02d}: {spec.objective}",
            "Position from GPS; ALT is GPS altitude above mean sea level",
            "O3 gaps are in-flight zero checks; flagged CO spikes are cabin-pressure transients",
        ],
        extra={"PROJECT": "INDOEX", "CATEGORY": "research"},
        # The Citation team wrote positive sentinels, as some groups did.
        missing_value=-9999.0 if spec.platform == "C130" else 99999.0,
        bad_value=-8888.0 if spec.platform == "C130" else 88888.0,
    )
