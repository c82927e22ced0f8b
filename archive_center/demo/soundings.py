"""Synthetic ship radiosonde ascents: a tropical atmosphere from the sea surface upward."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import numpy.typing as npt

from archive_center.demo.headerfile import SynthColumn, SynthFile

GRAVITY = 9.80665
R_DRY = 287.05
STEP_S = 10
TROPOPAUSE_M = 16_500.0

Floats = npt.NDArray[np.float64]


@dataclass(frozen=True)
class SoundingSpec:
    """One balloon launch from a ship at a fixed position."""

    ship: str
    source: str
    did: int
    pi_name: str
    center: str
    launch: datetime
    lat: float
    lon: float


def _coordinates(lat: float, lon: float) -> str:
    ns = "N" if lat >= 0 else "S"
    ew = "E" if lon >= 0 else "W"
    return f"{abs(lat):.2f}{ns} {abs(lon):.2f}{ew}"


def _temperature(z: Floats, surface_c: float, rng: np.random.Generator) -> Floats:
    """Moist-adiabatic-like lapse to a cold tropical tropopause, then a warming stratosphere."""
    troposphere = surface_c - 6.5 * z / 1000.0
    at_tropopause = surface_c - 6.5 * TROPOPAUSE_M / 1000.0
    stratosphere = at_tropopause + 2.0 * (z - TROPOPAUSE_M) / 1000.0
    temp = np.where(z <= TROPOPAUSE_M, troposphere, stratosphere)
    inversion = 1.5 * np.exp(-(((z - 1900.0) / 250.0) ** 2))  # the trade-wind inversion
    wiggles = np.cumsum(rng.normal(0.0, 0.08, z.shape))
    return np.asarray(temp + inversion + wiggles - np.linspace(0, wiggles[-1], z.size))


def _relative_humidity(z: Floats, rng: np.random.Generator) -> Floats:
    """Moist marine boundary layer, the drier haze layer, dry free troposphere, moist outflow."""
    rh = 30.0 + 50.0 * np.exp(-z / 1200.0) + 25.0 * np.exp(-(((z - 11_000.0) / 1800.0) ** 2))
    rh += np.cumsum(rng.normal(0.0, 0.4, z.shape))
    return np.clip(rh, 3.0, 99.0)


def _dew_point(temp_c: Floats, rh: Floats) -> Floats:
    """Magnus formula over water."""
    b, c = 17.62, 243.12
    gamma = np.log(rh / 100.0) + b * temp_c / (c + temp_c)
    return np.asarray(c * gamma / (b - gamma))


def _pressure(z: Floats, temp_c: Floats, surface_hpa: float) -> Floats:
    """Hypsometric integration from the surface pressure."""
    t_mid = (temp_c[1:] + temp_c[:-1]) / 2.0 + 273.15
    steps = np.exp(-GRAVITY * np.diff(z) / (R_DRY * t_mid))
    return np.asarray(surface_hpa * np.concatenate([[1.0], np.cumprod(steps)]))


def _wind(z: Floats, lat: float, rng: np.random.Generator) -> tuple[Floats, Floats]:
    """North-east monsoon (or south-east trades south of the ITCZ) veering to upper westerlies."""
    low_dir = 45.0 if lat > -6.0 else 120.0
    turn = np.clip(z / 12_000.0, 0.0, 1.0)
    direction = (low_dir + turn * ((270.0 - low_dir) % 360.0)) + rng.normal(0, 6.0, z.shape)
    speed = 6.0 + 10.0 * np.exp(-(((z - 13_000.0) / 3000.0) ** 2)) + rng.normal(0, 0.8, z.shape)
    return np.mod(direction, 360.0), np.maximum(speed, 0.3)


def sounding_file(spec: SoundingSpec, seed: int) -> SynthFile:
    """The header-format contents of one ascent, deterministic for a seed."""
    rng = np.random.default_rng([seed, spec.did])
    burst_m = float(rng.uniform(18_500.0, 22_000.0))
    ascent = np.maximum(rng.normal(5.0, 0.4, size=int(burst_m / 5.0 / STEP_S)), 3.5)
    z = np.concatenate([[12.0], 12.0 + np.cumsum(ascent * STEP_S)])
    z = z[z <= burst_m]
    temp = _temperature(z, float(rng.uniform(27.5, 29.5)), rng)
    rh = _relative_humidity(z, rng)
    dwpt = _dew_point(temp, rh)
    pres = _pressure(z, temp, float(rng.uniform(1008.0, 1012.0)))
    wdir, wspd = _wind(z, spec.lat, rng)
    too_cold = temp < -40.0  # the humicap is not trusted below -40 C
    telemetry = np.zeros(z.size, dtype=bool)
    start = int(rng.integers(z.size // 3, z.size // 2))
    telemetry[start : start + 3] = True
    times = [spec.launch + timedelta(seconds=STEP_S * i) for i in range(z.size)]
    columns = [
        SynthColumn("PRES", "hPa", pres, 1),
        SynthColumn("HGT", "m", z, 0),
        SynthColumn("TEMP", "degC", temp, 2),
        SynthColumn("DWPT", "degC", dwpt, 2, missing=too_cold | telemetry),
        SynthColumn("RH", "%", rh, 1, missing=too_cold | telemetry),
        SynthColumn("WDIR", "deg", wdir, 0, missing=telemetry),
        SynthColumn("WSPD", "m/s", wspd, 1, missing=telemetry),
    ]
    return SynthFile(
        did=spec.did,
        pi_name=spec.pi_name,
        platform=spec.ship,
        instrument="GPS radiosonde (Vaisala RS80-15G)",
        location=f"{spec.ship}; {_coordinates(spec.lat, spec.lon)}",
        times=times,
        columns=columns,
        remarks=[
            f"Ascent {spec.launch:%m%d-%H%M} launched from the ship's aft deck",
            "Humidity not reported where the temperature is below -40 C",
        ],
        extra={"PROJECT": "INDOEX", "CATEGORY": "operational"},
    )
