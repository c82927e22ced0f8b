"""The Kaashidhoo Climate Observatory's synthetic hourly surface series."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import numpy.typing as npt

from archive_center.demo.headerfile import SynthColumn, SynthFile

KCO_LAT, KCO_LON = 4.965, 73.466
LOCAL_OFFSET_H = 5  # Maldives time is UTC+5

Floats = npt.NDArray[np.float64]


@dataclass(frozen=True)
class StationSpec:
    """One month (or any span) of hourly means at the observatory."""

    did: int
    pi_name: str
    center: str
    first: datetime
    hours: int


def _episodes(rng: np.random.Generator, n: int) -> Floats:
    """Synoptic pollution episodes: smooth 0..1 wander with a few-day memory."""
    memory = 0.97
    raw = np.empty(n)
    raw[0] = 0.0
    shocks = rng.normal(0.0, 0.25, n)
    for i in range(1, n):
        raw[i] = memory * raw[i - 1] + shocks[i]
    return np.asarray(1.0 / (1.0 + np.exp(-raw)))


def station_file(spec: StationSpec, seed: int) -> SynthFile:
    """The header-format contents of the station's series, deterministic for a seed."""
    rng = np.random.default_rng([seed, spec.did])
    n = spec.hours
    times = [spec.first + timedelta(hours=h) for h in range(n)]
    local_hour = (np.array([t.hour for t in times]) + LOCAL_OFFSET_H) % 24
    sun = np.maximum(np.sin((local_hour - 6.0) / 12.0 * np.pi), 0.0)
    polluted = _episodes(rng, n)
    o3 = 12.0 + 30.0 * polluted - 5.0 * sun + rng.normal(0.0, 1.2, n)
    co = 75.0 + 160.0 * polluted + rng.normal(0.0, 4.0, n)
    aod = 0.08 + 0.45 * polluted + rng.normal(0.0, 0.015, n)
    temp = 27.6 + 1.6 * sun + rng.normal(0.0, 0.3, n)
    rh = 80.0 - 9.0 * sun + rng.normal(0.0, 1.5, n)
    wspd = np.abs(5.0 + 1.5 * np.sin(np.arange(n) / 37.0) + rng.normal(0.0, 1.0, n))
    night = sun <= 0.05  # the sun photometer needs the sun
    outage = np.zeros(n, dtype=bool)
    first = int(rng.integers(24, n - 30))
    outage[first : first + 7] = True  # a power cut on the island
    columns = [
        SynthColumn("O3", "ppbv", np.maximum(o3, 2.0), 2, missing=outage),
        SynthColumn("CO", "ppbv", co, 1, missing=outage),
        SynthColumn("AOD500", "1", np.maximum(aod, 0.02), 3, missing=outage | night),
        SynthColumn("TEMP", "degC", temp, 2, missing=outage),
        SynthColumn("RH", "%", np.clip(rh, 40.0, 100.0), 1, missing=outage),
        SynthColumn("WSPD", "m/s", wspd, 2, missing=outage),
    ]
    return SynthFile(
        did=spec.did,
        pi_name=spec.pi_name,
        platform="KCO",
        instrument="Kaashidhoo Climate Observatory surface package",
        location=f"Kaashidhoo, Maldives; {KCO_LAT:.3f}N {KCO_LON:.3f}E",
        times=times,
        columns=columns,
        time_style="iso",
        data_version="2.0",
        remarks=[
            "Hourly means of 1-minute data",
            "AOD500 from the sun photometer: daytime only",
        ],
        extra={"PROJECT": "INDOEX", "CATEGORY": "research"},
    )
