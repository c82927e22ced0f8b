"""The synthetic campaign: deterministic, valid by the format rules, physically plausible."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import numpy as np
import pytest

import formats
from archive_center.demo.campaign import (
    CENTERS,
    DEFAULT_SEED,
    GeneratedFile,
    plan_campaign,
    write_campaign,
)
from formats import CampaignTime, DataFile, FeatureType

CAMPAIGN = CampaignTime(
    year=1999,
    start=datetime(1999, 1, 1, tzinfo=UTC),
    end=datetime(1999, 4, 30, 23, 59, 59, tzinfo=UTC),
)
PRODUCT_NAME = re.compile(r"^[a-z0-9_]+\.(\d{10})\.[a-z0-9_]+\.png$")
# The region: Arabian Sea, Bay of Bengal, Maldives, south of the ITCZ.
SOUTH, NORTH, WEST, EAST = -25.0, 25.0, 50.0, 100.0


@pytest.fixture(scope="module")
def campaign(tmp_path_factory: pytest.TempPathFactory) -> list[GeneratedFile]:
    """The campaign written once for the module."""
    return write_campaign(tmp_path_factory.mktemp("campaign"))


@pytest.fixture(scope="module")
def datafiles(campaign: list[GeneratedFile]) -> dict[str, DataFile]:
    """Every data file read back with the formats package."""
    return {
        f.path.name: formats.read(f.path, campaign=CAMPAIGN, filename=f.path.name)
        for f in campaign
        if f.kind == "data"
    }


def values(datafile: DataFile, name: str) -> np.ndarray:
    """A numeric column's values with missing and bad values dropped."""
    column = np.asarray(datafile.column(name).values, dtype=float)
    return column[~np.isnan(column)]


def test_the_same_seed_gives_the_same_bytes() -> None:
    first = {p.name: p for p in plan_campaign(DEFAULT_SEED)}
    again = {p.name: p for p in plan_campaign(DEFAULT_SEED)}
    other = {p.name: p for p in plan_campaign(DEFAULT_SEED + 1)}
    name = next(n for n, p in first.items() if p.kind == "data")
    assert first[name].build() == again[name].build()
    assert first[name].build() != other[name].build()
    png = next(n for n, p in first.items() if p.kind == "product")
    assert first[png].build() == again[png].build()


def test_files_are_spread_over_the_three_centers(campaign: list[GeneratedFile]) -> None:
    codes = {c.code for c in CENTERS}
    assert {f.center for f in campaign} == codes
    for code in codes:
        assert any(f.center == code and f.kind == "data" for f in campaign), code
        assert all(f.path.parent.name == f.center for f in campaign)


def test_every_data_file_is_valid(campaign: list[GeneratedFile]) -> None:
    for generated in (f for f in campaign if f.kind == "data"):
        report = formats.validate(generated.path, campaign=CAMPAIGN, filename=generated.path.name)
        assert report.valid, (generated.path.name, [d.to_dict() for d in report.diagnostics])
        assert report.format == "header"


def test_dids_and_pis(datafiles: dict[str, DataFile]) -> None:
    dids = [d.header.did for d in datafiles.values()]
    assert len(set(dids)) == len(dids), "each dataset has its own DID"
    assert len({d.header.pi_name for d in datafiles.values()}) >= 4
    assert {"C130", "CITATION", "KCO", "Ronald H. Brown", "Sagar Kanya"} <= {
        d.header.platform for d in datafiles.values()
    }


def test_times_are_in_february_and_march_1999(datafiles: dict[str, DataFile]) -> None:
    for name, datafile in datafiles.items():
        assert datafile.extent.start is not None and datafile.extent.stop is not None
        assert datetime(1999, 2, 1, tzinfo=UTC) <= datafile.extent.start, name
        assert datafile.extent.stop < datetime(1999, 4, 1, tzinfo=UTC), name


def test_flights_are_realistic_tracks(datafiles: dict[str, DataFile]) -> None:
    flights = {n: d for n, d in datafiles.items() if d.header.location == "mobile"}
    assert len(flights) >= 6
    for name, flight in flights.items():
        assert flight.feature_type == FeatureType.TRAJECTORY, name
        step = np.diff(flight.time.values.astype("datetime64[s]").astype(np.int64))
        assert set(step.tolist()) == {5}, f"{name}: 5-second records"
        lat, lon, alt = values(flight, "LAT"), values(flight, "LON"), values(flight, "ALT")
        assert SOUTH < lat.min() and lat.max() < NORTH and WEST < lon.min() and lon.max() < EAST
        assert alt[0] < 100 and alt[-1] < 100, f"{name}: takes off and lands near sea level"
        assert 2500 < alt.max() < 10000, f"{name}: climbs to its legs"
        assert np.abs(np.diff(alt)).max() < 100, f"{name}: no jumps in altitude"
        speed = np.hypot(np.diff(lat), np.diff(lon) * np.cos(np.radians(lat[1:]))) * 111e3 / 5
        assert 50 < np.median(speed) < 250, f"{name}: aircraft speed"
        assert 5 < values(flight, "O3").min() and values(flight, "O3").max() < 150
        assert 40 < values(flight, "CO").min() and values(flight, "CO").max() < 400
        assert np.isnan(flight.column("O3").values).any(), f"{name}: zero checks missing"
        assert flight.column("CO").quality is not None, f"{name}: flagged spikes"


def test_pollution_is_higher_north_of_the_itcz(datafiles: dict[str, DataFile]) -> None:
    north, south = [], []
    for flight in (d for d in datafiles.values() if d.header.location == "mobile"):
        lat = np.asarray(flight.column("LAT").values, dtype=float)
        alt = np.asarray(flight.column("ALT").values, dtype=float)
        co = np.asarray(flight.column("CO").values, dtype=float)
        low = alt < 2000
        north.append(co[low & (lat > 0)])
        south.append(co[low & (lat < -7)])
    assert np.nanmedian(np.concatenate(north)) > 1.5 * np.nanmedian(np.concatenate(south))


def test_soundings_climb_through_a_tropical_atmosphere(datafiles: dict[str, DataFile]) -> None:
    soundings = {n: d for n, d in datafiles.items() if "sounding" in n}
    assert len(soundings) >= 6
    for name, sounding in soundings.items():
        assert sounding.feature_type == FeatureType.PROFILE, name
        pres = np.asarray(sounding.column("PRES").values, dtype=float)
        hgt = np.asarray(sounding.column("HGT").values, dtype=float)
        assert (np.diff(pres) < 0).all(), f"{name}: pressure decreases"
        assert (np.diff(hgt) > 0).all(), f"{name}: height increases"
        assert 1000 < pres[0] < 1020 and pres[-1] < 100
        temp = np.asarray(sounding.column("TEMP").values, dtype=float)
        dwpt = np.asarray(sounding.column("DWPT").values, dtype=float)
        assert 25 < temp[0] < 32 and -90 < temp.min() < -60, f"{name}: tropical profile"
        both = ~np.isnan(dwpt)
        assert (dwpt[both] <= temp[both]).all(), f"{name}: dew point above temperature"
        rh = values(sounding, "RH")
        assert 0 < rh.min() and rh.max() <= 100
        wdir = values(sounding, "WDIR")
        assert 0 <= wdir.min() and wdir.max() <= 360
        assert sounding.extent.south is not None and SOUTH < sounding.extent.south < NORTH


def test_the_station_is_a_fixed_hourly_site(datafiles: dict[str, DataFile]) -> None:
    kco = [d for d in datafiles.values() if d.header.platform == "KCO"]
    assert len(kco) == 2
    for series in kco:
        assert series.feature_type == FeatureType.TIME_SERIES
        assert series.extent.south == pytest.approx(4.965)
        assert series.extent.west == pytest.approx(73.466)
        step = np.diff(series.time.values.astype("datetime64[s]").astype(np.int64))
        assert set(step.tolist()) == {3600}
        aod = np.asarray(series.column("AOD500").values, dtype=float)
        assert 0.2 < np.isnan(aod).mean() < 0.7, "the sun photometer sees no night"
        assert 0 < values(series, "O3").min() and values(series, "O3").max() < 80


def test_products_are_named_and_drawn(campaign: list[GeneratedFile]) -> None:
    products = [f for f in campaign if f.kind == "product"]
    assert len(products) >= 10
    for product in products:
        match = PRODUCT_NAME.match(product.path.name)
        assert match, product.path.name
        stamp = datetime.strptime(match.group(1), "%y%m%d%H%M")
        assert datetime(1999, 2, 1) <= stamp < datetime(1999, 4, 1)
        assert product.path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
