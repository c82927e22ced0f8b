"""The synthetic INDOEX-like campaign: which files exist, which center holds each, writing them.

Everything is derived from one seed, file by file (`default_rng([seed, DID])`), so a file's
bytes do not depend on which other files were generated or in which order.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Literal

from archive_center.demo.flights import FlightSpec, flight_file
from archive_center.demo.headerfile import render
from archive_center.demo.products import (
    flight_track_png,
    product_name,
    soundings_png,
    station_series_png,
)
from archive_center.demo.soundings import SoundingSpec, sounding_file
from archive_center.demo.station import StationSpec, station_file

logger = logging.getLogger(__name__)

DEFAULT_SEED = 1999
CAMPAIGN_YEAR = 1999
EMBARGOED = frozenset({"citation_rf04_19990318.txt"})
"""Preliminary data the demo registers under embargo (metadata public, data not yet)."""


@dataclass(frozen=True)
class DemoCenter:
    """One of the three archive centers the demo starts."""

    code: str
    name: str


CENTERS = (
    DemoCenter("JOSS", "UCAR/JOSS Boulder"),
    DemoCenter("NPL", "NPL New Delhi"),
    DemoCenter("LMD", "LMD Paris"),
)


@dataclass(frozen=True)
class PlannedFile:
    """A file of the campaign before it is written: its name, center and how to make it."""

    name: str
    center: str
    kind: Literal["data", "product"]
    build: Callable[[], bytes]


@dataclass(frozen=True)
class GeneratedFile:
    """A written campaign file."""

    path: Path
    center: str
    kind: Literal["data", "product"]


def _utc(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(CAMPAIGN_YEAR, month, day, hour, minute, tzinfo=UTC)


C130_PI = "Hollis, Margaret (NCAR/ACD)"
CITATION_PI = "de Vries, Anneke (IMAU Utrecht)"
RHB_PI = "Whitfield, Daniel (NOAA/PMEL)"
SAGAR_KANYA_PI = "Raghavan, Kavitha (NPL)"
KCO_PI = "Sorensen, Lars (SIO/C4)"


def _c130(
    no: int, day: tuple[int, int, int], route: tuple[tuple[float, float], ...], aim: str
) -> FlightSpec:
    return FlightSpec(
        platform="C130", aircraft="NCAR C-130", source="c130", flight_no=no, did=200 + no,
        pi_name=C130_PI, center="JOSS", takeoff=_utc(*day), waypoints=route,
        leg_altitudes_m=(5500.0, 3000.0, 1500.0, 300.0, 3000.0), speed_ms=110.0,
        climb_ms=6.0, objective=aim,
    )  # fmt: skip


def _citation(
    no: int, day: tuple[int, int, int], route: tuple[tuple[float, float], ...], aim: str
) -> FlightSpec:
    return FlightSpec(
        platform="CITATION", aircraft="Cessna Citation II", source="citation", flight_no=no,
        did=300 + no, pi_name=CITATION_PI, center="LMD", takeoff=_utc(*day), waypoints=route,
        leg_altitudes_m=(9000.0, 6000.0, 2500.0, 1000.0), speed_ms=180.0, climb_ms=10.0,
        objective=aim,
    )  # fmt: skip


FLIGHTS = (
    _c130(1, (2, 16, 3), ((10.0, 68.5),), "Arabian Sea outflow, stacked legs"),
    _c130(2, (2, 18, 3), ((-7.5, 73.0),), "across the ITCZ into clean southern air"),
    _c130(3, (2, 25, 4), ((7.5, 80.0),), "south of Sri Lanka, Bay of Bengal outflow"),
    _c130(4, (3, 7, 4), ((12.0, 72.5),), "Male northward survey"),
    _c130(5, (3, 13, 3), ((6.0, 66.5), (9.5, 70.0)), "Arabian Sea gradient box"),
    _c130(6, (3, 24, 4), ((0.0, 77.5), (3.0, 79.5)), "equatorial haze layer"),
    _citation(
        1, (2, 19, 5), ((7.5, 73.0), (7.5, 75.5), (5.0, 75.5)), "haze layer above Kaashidhoo"
    ),
    _citation(2, (2, 26, 5), ((1.0, 75.0), (-1.5, 73.0)), "cirrus outflow near the equator"),
    _citation(3, (3, 10, 4), ((6.0, 77.5), (8.0, 76.0)), "pollution plume east of the Maldives"),
    _citation(4, (3, 18, 5), ((-2.0, 71.0),), "southern edge of the plume"),
)

SOUNDINGS = (
    SoundingSpec("Ronald H. Brown", "rhb", 401, RHB_PI, "JOSS", _utc(2, 24, 11, 30), -16.0, 62.0),
    SoundingSpec("Ronald H. Brown", "rhb", 402, RHB_PI, "JOSS", _utc(2, 28, 23, 30), -8.1, 67.2),
    SoundingSpec("Ronald H. Brown", "rhb", 403, RHB_PI, "JOSS", _utc(3, 4, 11, 30), -2.0, 71.0),
    SoundingSpec("Ronald H. Brown", "rhb", 404, RHB_PI, "JOSS", _utc(3, 8, 11, 30), 2.0, 73.0),
    SoundingSpec("Sagar Kanya", "sk", 451, SAGAR_KANYA_PI, "NPL", _utc(2, 20, 5, 30), 13.0, 72.5),
    SoundingSpec("Sagar Kanya", "sk", 452, SAGAR_KANYA_PI, "NPL", _utc(2, 24, 5, 30), 8.0, 71.0),
    SoundingSpec("Sagar Kanya", "sk", 453, SAGAR_KANYA_PI, "NPL", _utc(3, 1, 11, 30), 2.0, 70.0),
    SoundingSpec("Sagar Kanya", "sk", 454, SAGAR_KANYA_PI, "NPL", _utc(3, 10, 11, 30), -2.1, 71.8),
)

STATION = (
    StationSpec(31, KCO_PI, "JOSS", _utc(2, 1, 0), 28 * 24),
    StationSpec(32, KCO_PI, "JOSS", _utc(3, 1, 0), 31 * 24),
)


def _flight_bytes(spec: FlightSpec, seed: int) -> bytes:
    return render(flight_file(spec, seed))


def _sounding_bytes(spec: SoundingSpec, seed: int) -> bytes:
    return render(sounding_file(spec, seed))


def _station_bytes(spec: StationSpec, seed: int) -> bytes:
    return render(station_file(spec, seed))


def _station_png(spec: StationSpec, seed: int) -> bytes:
    return station_series_png(station_file(spec, seed))


def _ship_png(specs: tuple[SoundingSpec, ...], seed: int) -> bytes:
    title = f"{specs[0].ship}: radiosonde ascents"
    return soundings_png([sounding_file(s, seed) for s in specs], title)


def _flight_files(seed: int) -> list[PlannedFile]:
    planned = []
    for spec in FLIGHTS:
        stem = f"{spec.source}_rf{spec.flight_no:02d}_{spec.takeoff:%Y%m%d}"
        data = partial(_flight_bytes, spec, seed)
        planned.append(PlannedFile(f"{stem}.txt", spec.center, "data", data))
        png = product_name(spec.source, spec.takeoff, "flight_track")
        planned.append(
            PlannedFile(png, spec.center, "product", partial(flight_track_png, spec, seed))
        )
    return planned


def _sounding_files(seed: int) -> list[PlannedFile]:
    planned = []
    for spec in SOUNDINGS:
        name = f"{spec.source}_sounding_{spec.launch:%Y%m%d%H%M}.txt"
        planned.append(PlannedFile(name, spec.center, "data", partial(_sounding_bytes, spec, seed)))
    for source in sorted({s.source for s in SOUNDINGS}):
        specs = tuple(s for s in SOUNDINGS if s.source == source)
        png = product_name(source, specs[0].launch, "soundings")
        planned.append(
            PlannedFile(png, specs[0].center, "product", partial(_ship_png, specs, seed))
        )
    return planned


def _station_files(seed: int) -> list[PlannedFile]:
    planned = []
    for spec in STATION:
        name = f"kco_hourly_{spec.first:%Y%m}.txt"
        planned.append(PlannedFile(name, spec.center, "data", partial(_station_bytes, spec, seed)))
        png = product_name("kco", spec.first, "surface_timeseries")
        planned.append(PlannedFile(png, spec.center, "product", partial(_station_png, spec, seed)))
    return planned


def plan_campaign(seed: int = DEFAULT_SEED) -> list[PlannedFile]:
    """Every file of the campaign, data first then products, without making any bytes yet."""
    planned = _flight_files(seed) + _sounding_files(seed) + _station_files(seed)
    return [p for p in planned if p.kind == "data"] + [p for p in planned if p.kind == "product"]


def write_campaign(
    out_dir: Path,
    seed: int = DEFAULT_SEED,
    on_file: Callable[[GeneratedFile], None] | None = None,
) -> list[GeneratedFile]:
    """Write the campaign under `out_dir/<CENTER>/` and return the files written."""
    written = []
    for planned in plan_campaign(seed):
        folder = out_dir / planned.center
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / planned.name
        path.write_bytes(planned.build())
        generated = GeneratedFile(path=path, center=planned.center, kind=planned.kind)
        written.append(generated)
        if on_file is not None:
            on_file(generated)
    logger.info("wrote %d campaign files under %s", len(written), out_dir)
    return written
