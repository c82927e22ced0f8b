"""Instrument profiles: each realistic raw fixture becomes a valid header-format file whose
NetCDF holds exactly the values the instrument wrote; faults name the line or the key."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

import formats
from formats.profile_rows import RowReader, convert
from formats.profiles import ProfileError, load_profile, load_profiles

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
PROFILES = FIXTURES / "profiles"
RAW = FIXTURES / "raw"
MISSING = -9999.0

# What each instrument wrote, read by eye from the raw fixture (NaN: the logger's NAN or a
# blank field), and the first and last time.
EXPECTED = {
    "KCO_Met_1min_19990301.dat": (
        "kco_cr1000_met",
        {
            "TEMP": [27.41, 27.43, 27.44, math.nan, 27.40, 27.38],
            "PRES": [1011.3, 1011.3, 1011.2, 1011.2, 1011.2, 1011.1],
            "RAIN": [0, 0, 0, 0, 0.254, 0.508],
        },
        ("1999-03-01T00:01:00", "1999-03-01T00:06:00"),
    ),
    "rhb_19990305.nmea": (
        "rhb_gps_nmea",
        {
            "LAT": [4 + 30.12 / 60, 4 + 30.126 / 60, 4 + 30.133 / 60, 4 + 30.139 / 60],
            "LON": [73 + 30.54 / 60, 73 + 30.572 / 60, 73 + 30.605 / 60, 73 + 30.637 / 60],
            "SOG": [11.2, 11.3, 11.1, 11.2],
        },
        ("1999-03-05T12:00:00", "1999-03-05T12:00:30"),
    ),
    "sk141_rs80_19990302.txt": (
        "sagar_kanya_rs80",
        {
            "PRES": [1009.8, 1005.3, 1000.9, 996.2, 991.8],
            "GPH": [12, 52, 91, 133, 173],
            "WDIR": [60, 62, 65, 67, math.nan],
        },
        ("1999-03-02T11:30:00", "1999-03-02T11:30:40"),
    ),
}


@pytest.fixture(scope="module")
def profiles() -> dict[str, formats.profiles.Profile]:
    return load_profiles(PROFILES)


@pytest.mark.parametrize("raw", sorted(EXPECTED))
def test_each_fixture_round_trips_into_netcdf_exactly(
    raw: str, profiles: dict[str, formats.profiles.Profile], tmp_path: Path
) -> None:
    import netCDF4

    name, columns, (first, last) = EXPECTED[raw]
    text, diagnostics = convert(profiles[name], (RAW / raw).read_text("utf-8"), source=raw)
    assert diagnostics == [] and text is not None
    report = formats.validate(text.encode(), filename=raw + ".txt")
    assert report.valid, [d.message for d in report.errors]
    assert report.datafile is not None
    out = tmp_path / "out.nc"
    formats.write(report.datafile, "netcdf", out)
    with netCDF4.Dataset(out) as ds:
        time = ds["time"]
        base = np.datetime64(time.units.split(" since ")[1].replace(" ", "T")[:19], "s")
        stamps = base + np.round(time[:].filled(np.nan)).astype("timedelta64[s]")
        assert (str(stamps[0]), str(stamps[-1])) == (first, last)
        by_name = {getattr(v, "original_name", v.name): v for v in ds.variables.values()}
        for column, expected in columns.items():
            values = by_name[column][:].filled(np.nan).astype(np.float64)
            np.testing.assert_allclose(values, expected, rtol=1e-6, atol=1e-6, equal_nan=True)


def test_header_defaults_come_from_the_profile(
    profiles: dict[str, formats.profiles.Profile],
) -> None:
    raw = "KCO_Met_1min_19990301.dat"
    text, _ = convert(profiles["kco_cr1000_met"], (RAW / raw).read_text("utf-8"), source=raw)
    report = formats.validate((text or "").encode(), filename="kco.txt")
    assert report.datafile is not None
    header = report.datafile.header
    assert (header.did, header.platform, header.data_version) == (710, "KCO", "1.0")
    assert report.datafile.extent.south == pytest.approx(4.965)


def test_an_unknown_column_in_the_names_line_names_the_line(
    profiles: dict[str, formats.profiles.Profile],
) -> None:
    lines = (RAW / "KCO_Met_1min_19990301.dat").read_text("utf-8").splitlines()
    lines[1] = lines[1] + ',"SlrW_Avg"'
    _, diagnostics = convert(profiles["kco_cr1000_met"], "\n".join(lines), source="x.dat")
    assert diagnostics[0].code == "PRF004" and diagnostics[0].line == 2
    assert "SlrW_Avg" in diagnostics[0].message


def test_a_line_with_an_extra_field_or_a_backward_time_is_reported_with_the_line(
    profiles: dict[str, formats.profiles.Profile],
) -> None:
    reader = RowReader(profiles["kco_cr1000_met"])
    good = '"1999-03-01 00:01:00",0,27.41,78.2,1011.3,5.12,62.5,0'
    extra = '"1999-03-01 00:02:00",1,27.43,78.0,1011.3,5.30,64.1,0,812.5'
    backwards = '"1999-03-01 00:00:30",2,27.44,77.9,1011.2,4.98,61.7,0'
    row = reader.read(5, good)
    assert not isinstance(row, formats.Diagnostic)
    assert row.time == datetime(1999, 3, 1, 0, 1, tzinfo=UTC)
    bad = reader.read(6, extra)
    assert isinstance(bad, formats.Diagnostic)
    assert (bad.code, bad.line) == ("PRF001", 6) and extra in bad.message
    late = reader.read(7, backwards)
    assert isinstance(late, formats.Diagnostic)
    assert (late.code, late.line) == ("PRF003", 7) and backwards in late.message


def test_a_value_that_is_not_a_number_is_refused(
    profiles: dict[str, formats.profiles.Profile],
) -> None:
    reader = RowReader(profiles["kco_cr1000_met"])
    line = '"1999-03-01 00:01:00",0,27.4x,78.2,1011.3,5.12,62.5,0'
    found = reader.read(9, line)
    assert isinstance(found, formats.Diagnostic) and found.code == "PRF005"
    assert "TEMP" in found.message


@pytest.mark.parametrize(
    ("edit", "key", "line"),
    [
        (('unit = "mm"', 'unit = "mm"\nscale = 2'), "columns.scale", 55),
        (("did = 710", 'did = "seven"'), "header.did", 16),
        (('kind = "delimited"', 'kind = "csv"'), "kind", 3),
        (('format = "%Y-%m-%d %H:%M:%S"', ""), "time", 11),
        (("[header]", "[header\n"), "(syntax)", 15),
    ],
)
def test_a_profile_error_names_the_file_key_and_line(
    edit: tuple[str, str], key: str, line: int, tmp_path: Path
) -> None:
    text = (PROFILES / "campbell_met.toml").read_text("utf-8")
    assert edit[0] in text
    broken = tmp_path / "broken.toml"
    broken.write_text(text.replace(edit[0], edit[1], 1), encoding="utf-8")
    with pytest.raises(ProfileError) as caught:
        load_profile(broken)
    assert (caught.value.path, caught.value.key, caught.value.line) == (broken, key, line)
    assert str(caught.value).startswith(f"{broken}:{line}: {key}: ")


def test_every_fixture_profile_loads_and_matches_its_file_names(
    profiles: dict[str, formats.profiles.Profile],
) -> None:
    assert sorted(profiles) == ["kco_cr1000_met", "rhb_gps_nmea", "sagar_kanya_rs80"]
    assert profiles["rhb_gps_nmea"].matches("rhb_19990305.nmea")
    assert not profiles["rhb_gps_nmea"].matches("KCO_Met_1min_19990301.dat")
