"""NetCDF writer: CF/ACDD layout of each feature type, values kept, checker passes."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

import netCDF4
import numpy as np
import pytest

from formats.cf_attributes import all_standard_names, standard_name_for
from formats.model import (
    QUALITY_MEANINGS,
    Column,
    ColumnKind,
    DataFile,
    Extent,
    FeatureType,
    Header,
    Quality,
    WriteError,
)
from formats.netcdf import write_netcdf, write_netcdf_file
from tests.formats.netcdf_checker import (
    check_failures,
    packaged_standard_name_table,
    unexplained_failures,
)

CENTER = {
    "publisher_name": "UCAR/JOSS Boulder",
    "publisher_url": "https://joss.example.org",
    "publisher_email": "archive@joss.example.org",
    "metadata_link": "https://joss.example.org/datasets/abc",
}


def number(name: str, unit: str, canonical: str | None, values: object) -> Column:
    """A numeric column as a reader would build it."""
    return Column(name, name, unit, canonical, ColumnKind.NUMBER, np.asarray(values, float))


def times(n: int, step_s: int = 5) -> Column:
    """A UTC time column of `n` rows from 1999-03-07T04:00:00."""
    start = np.datetime64("1999-03-07T04:00:00", "ns")
    values = start + np.arange(n) * np.timedelta64(step_s, "s")
    return Column("DATE/TIME", "time", "UTC", None, ColumnKind.NUMBER, values)


def datafile(columns: list[Column], feature: FeatureType, **header: object) -> DataFile:
    """A DataFile around `columns`, extent computed from them."""
    head = Header(
        did=214,
        pi_name="Ramanathan, Priya (SIO/C4)",
        platform="C130",
        instrument="Fast ozone analyser",
        location="mobile",
        data_version="1.0",
        remarks=["Research flight RF07", "Missing data = -9999; Bad data = -8888"],
        extra={"FLIGHT": "RF07"},
        **header,  # type: ignore[arg-type]
    )
    t = columns[0].values
    extent = Extent(
        start=_dt(t[0]),
        stop=_dt(t[-1]),
    )
    by_name = {c.name: c.values for c in columns}
    if "LAT" in by_name:
        extent.south, extent.north = (
            float(np.nanmin(by_name["LAT"])),
            float(np.nanmax(by_name["LAT"])),
        )
        extent.west, extent.east = (
            float(np.nanmin(by_name["LON"])),
            float(np.nanmax(by_name["LON"])),
        )
    elif head.latitude is not None and head.longitude is not None:
        extent.south = extent.north = head.latitude
        extent.west = extent.east = head.longitude
    return DataFile(head, columns, "header", feature, extent, "DID = 214\nPI NAME = x\n")


def _dt(value: np.datetime64) -> datetime:
    return datetime.fromisoformat(str(value.astype("datetime64[s]"))).replace(tzinfo=UTC)


def trajectory(n: int = 120) -> DataFile:
    """An aircraft track with a missing and a bad ozone value and a sample-id column."""
    o3 = np.linspace(50, 60, n)
    quality = np.zeros(n, np.int8)
    o3[3], quality[3] = np.nan, Quality.MISSING
    o3[7], quality[7] = np.nan, Quality.BAD
    ozone = number("O3", "ppbv", "1e-9", o3)
    ozone.quality = quality
    sample = Column(
        "SAMPLE", "SAMPLE", "NUMBER", None, ColumnKind.STRING,
        np.array([f"E1.160.{i}" for i in range(n)], dtype=object),
    )  # fmt: skip
    columns = [
        times(n),
        number("LAT", "degN", "degrees_north", np.linspace(4.19, 5.0, n)),
        number("LON", "degE", "degrees_east", np.linspace(73.5, 74.0, n)),
        number("ALT", "m", "m", np.linspace(12, 1200, n)),
        ozone,
        number("BC", "ng/m3", "ng/m3", np.full(n, 1211.6)),
        sample,
    ]
    return datafile(columns, FeatureType.TRAJECTORY)


def station(n: int = 48) -> DataFile:
    """A fixed surface station with coordinates in its header."""
    columns = [
        times(n, 3600),
        number("O3", "ppbv", "1e-9", np.linspace(18, 26, n)),
        number("RH", "%", "percent", np.linspace(60, 80, n)),
        number("WSPD", "m/s", "m/s", np.linspace(4, 6, n)),
    ]
    return datafile(
        columns,
        FeatureType.TIME_SERIES,
        latitude=4.965,
        longitude=73.466,
        altitude=1.0,
    )


def sounding(n: int = 60) -> DataFile:
    """A ship-launched radiosonde: pressure and height change along the ascent."""
    columns = [
        times(n, 20),
        number("PRES", "hPa", "hPa", np.linspace(995, 300, n)),
        number("HGT", "m", "m", np.linspace(102, 9000, n)),
        number("TEMP", "degC", "degC", np.linspace(27.7, -30, n)),
        number("WDIR", "deg", "degree", np.full(n, 240.0)),
    ]
    return datafile(columns, FeatureType.PROFILE, latitude=-2.1, longitude=71.8)


@pytest.mark.parametrize("build", [trajectory, station, sounding])
def test_checker_passes_with_center_attributes(build: object, tmp_path: Path) -> None:
    out = tmp_path / "out.nc"
    write_netcdf_file(build(), out, attributes=CENTER)  # type: ignore[operator]
    assert check_failures(out) == []


def test_compressed_files_pass_the_checker_and_are_much_smaller(tmp_path: Path) -> None:
    from formats.netcdf import worth_compressing

    plain, packed = tmp_path / "plain.nc", tmp_path / "packed.nc"
    big = trajectory(50_000)
    assert worth_compressing(big) and not worth_compressing(trajectory())
    write_netcdf_file(big, plain, attributes=CENTER)
    write_netcdf_file(big, packed, attributes=CENTER, compress=True)
    assert check_failures(packed) == []
    assert packed.stat().st_size < plain.stat().st_size / 2


@pytest.mark.parametrize("name", ["valid/kco_surface_hourly.txt", "real/nasa_ames_2110.na"])
def test_small_files_are_not_worth_compressing(name: str, sample_dir: Path, tmp_path: Path) -> None:
    from formats import CampaignTime, read
    from formats.netcdf import worth_compressing

    df = read(sample_dir / name, campaign=CampaignTime(year=1999))
    write_netcdf_file(df, tmp_path / "plain.nc")
    write_netcdf_file(df, tmp_path / "packed.nc", compress=True)
    grew = (tmp_path / "packed.nc").stat().st_size >= (tmp_path / "plain.nc").stat().st_size
    assert grew and not worth_compressing(df)


def test_stream_writer_takes_the_center_attributes() -> None:
    buffer = io.BytesIO()
    write_netcdf(station(), buffer, attributes={"publisher_name": "NPL New Delhi"})
    with netCDF4.Dataset("mem.nc", memory=buffer.getvalue()) as ds:
        assert ds.publisher_name == "NPL New Delhi"


def test_defaults_miss_only_the_center_metadata_link(tmp_path: Path) -> None:
    out = tmp_path / "out.nc"
    write_netcdf_file(trajectory(), out)
    assert [f.msgs for f in check_failures(out)] == [("metadata_link not present",)]


def test_trajectory_layout_and_values(tmp_path: Path) -> None:
    df = trajectory()
    buffer = io.BytesIO()
    write_netcdf(df, buffer)
    ds = netCDF4.Dataset("mem.nc", memory=buffer.getvalue())
    try:
        assert ds.featureType == "trajectory"
        assert ds.getncattr("original_header") == df.original_header
        assert ds.getncattr("header_FLIGHT") == "RF07"
        [role] = ds.get_variables_by_attributes(cf_role="trajectory_id")
        assert role[:].tobytes().decode() == "C130_DID214"
        time = ds["time"]
        assert time.units == "seconds since 1999-03-07 00:00:00"
        assert time.standard_name == "time" and time.dtype == np.float64
        assert "_FillValue" not in time.ncattrs()
        assert "_FillValue" not in ds["LAT"].ncattrs()
        np.testing.assert_array_equal(time[:], 4 * 3600 + 5 * np.arange(df.row_count))
        o3 = ds["O3"]
        assert o3.units == "1e-9" and o3.original_units == "ppbv"
        assert o3.standard_name == "mole_fraction_of_ozone_in_air"
        assert o3.coordinates == "time LAT LON ALT"
        values = o3[:]
        assert values.mask[3] and values.mask[7] and values.mask.sum() == 2
        np.testing.assert_array_equal(values.filled(np.nan), df.column("O3").values)
        qc = ds[o3.ancillary_variables]
        assert qc.flag_meanings == QUALITY_MEANINGS
        assert list(qc.flag_values) == [int(q) for q in Quality]
        assert qc[3] == Quality.MISSING and qc[7] == Quality.BAD and int(qc[:].sum()) == 3
        assert "ancillary_variables" not in ds["BC"].ncattrs()
        sample = ds["SAMPLE"]
        assert sample.dtype == np.dtype("S1") and sample.ndim == 2
        assert list(sample[:5]) == [f"E1.160.{i}" for i in range(5)]
    finally:
        ds.close()


def test_station_and_profile_coordinates(tmp_path: Path) -> None:
    write_netcdf_file(station(), tmp_path / "s.nc")
    write_netcdf_file(sounding(), tmp_path / "p.nc")
    with netCDF4.Dataset(tmp_path / "s.nc") as ds:
        assert ds.featureType == "timeSeries"
        assert ds["lat"].shape == () and float(ds["lat"][...]) == 4.965
        assert ds.get_variables_by_attributes(cf_role="timeseries_id")
        assert ds.geospatial_bounds == "POINT (4.965 73.466)"
    with netCDF4.Dataset(tmp_path / "p.nc") as ds:
        assert ds.featureType == "profile"
        assert ds["HGT"].axis == "Z" and ds["HGT"].positive == "up"
        assert ds["PRES"].standard_name == "air_pressure"
        assert ds.geospatial_vertical_max == 9000.0


def test_equal_times_use_an_obs_dimension(tmp_path: Path) -> None:
    df = station(4)
    df.time.values[2] = df.time.values[1]
    write_netcdf_file(df, tmp_path / "o.nc")
    with netCDF4.Dataset(tmp_path / "o.nc") as ds:
        assert ds["time"].dimensions == ("obs",)


def test_empty_file_is_a_write_error(tmp_path: Path) -> None:
    df = station(1)
    for col in df.columns:
        col.values = col.values[:0]
    with pytest.raises(WriteError):
        write_netcdf_file(df, tmp_path / "e.nc")


def test_standard_names_exist_in_the_cf_table() -> None:
    table = packaged_standard_name_table().read_text(encoding="utf-8")
    missing = [n for n in all_standard_names() if f'id="{n}"' not in table]
    assert missing == []


@pytest.mark.parametrize(
    ("name", "unit", "expected"),
    [
        ("O3", "1e-9", "mole_fraction_of_ozone_in_air"),
        ("NO2", "nmol m-3", "mole_concentration_of_nitrogen_dioxide_in_air"),
        ("CO2_MixingRatio_PICARRO", "1e-6", "mole_fraction_of_carbon_dioxide_in_air"),
        ("TEMP", "degC", "air_temperature"),
        ("TEMP", "hPa", None),
        ("O3", None, None),
        ("NH4", "1e-6", None),
    ],
)
def test_standard_name_needs_name_and_unit(name: str, unit: str | None, expected: str) -> None:
    assert standard_name_for(name, unit) == expected


# What each valid sample's source says about position: (horizontal, vertical).
VALID_POSITIONS = {
    "c130_external_sampler.txt": (False, False),  # mobile, no LAT/LON columns
    "c130_rf07_track.txt": (True, True),
    "kco_surface_hourly.txt": (True, False),  # fixed site, no altitude given
    "sagar_kanya_sounding.txt": (True, True),
    "seed_example.txt": (False, False),
}


@pytest.mark.parametrize("name", sorted(VALID_POSITIONS))
def test_valid_samples_pass_the_checker(name: str, sample_dir: Path, tmp_path: Path) -> None:
    from formats import CampaignTime, read

    df = read(sample_dir / "valid" / name, campaign=CampaignTime(year=1999))
    out = tmp_path / "out.nc"
    write_netcdf_file(df, out, attributes=CENTER)
    horizontal, vertical = VALID_POSITIONS[name]
    assert unexplained_failures(out, horizontal=horizontal, vertical=vertical) == []
    with netCDF4.Dataset(out) as ds:
        assert ("featureType" in ds.ncattrs()) == horizontal
        assert ds.original_header == df.original_header


def test_non_ascii_text_survives(tmp_path: Path) -> None:
    df = trajectory(10)
    df.header.pi_name = "Müller, Jürgen (Universität)"
    df.columns[-1].values = np.array(["É1", "", "ok", *["x"] * 7], dtype=object)
    write_netcdf_file(df, tmp_path / "u.nc", attributes=CENTER)
    with netCDF4.Dataset(tmp_path / "u.nc") as ds:
        assert ds.creator_name == "Müller, Jürgen (Universität)"
        assert list(ds["SAMPLE"][:3]) == ["É1", "", "ok"]
    assert unexplained_failures(tmp_path / "u.nc") == []


ALL_SAMPLES = [
    *[f"valid/{name}" for name in sorted(VALID_POSITIONS)],
    "real/ACTAMERICA-flag-metadata_C130_20170206_R0.ict",
    "real/ACTAMERICA-mrg05-b200_merge_20170121_R0.ict",
    "real/nasa_ames_1001.na",
    "real/nasa_ames_1001a.na",
    "real/nasa_ames_1010.na",
    "real/nasa_ames_2110.na",
]


@pytest.mark.parametrize("compress", [False, True], ids=["plain", "compressed"])
@pytest.mark.parametrize("name", ALL_SAMPLES)
def test_every_value_and_flag_reads_back(
    name: str, compress: bool, sample_dir: Path, tmp_path: Path
) -> None:
    from formats import CampaignTime, read

    df = read(sample_dir / name, campaign=CampaignTime(year=1999))
    write_netcdf_file(df, tmp_path / "v.nc", compress=compress)
    with netCDF4.Dataset(tmp_path / "v.nc") as ds:
        ds.set_auto_mask(False)
        rows = ds["time"].dimensions[0]
        arrays = [v for v in ds.variables.values() if rows in v.dimensions]
        assert arrays and all(bool(v.filters()["zlib"]) == compress for v in arrays)
        time = ds["time"]
        seconds = np.round(time[:] * 1e9).astype(np.int64).astype("timedelta64[ns]")
        base = np.datetime64(time.units.removeprefix("seconds since ").replace(" ", "T"), "ns")
        np.testing.assert_array_equal(base + seconds, df.time.values)
        for column in df.data_columns:
            var = next(
                v
                for v in ds.variables.values()
                if getattr(v, "original_name", None) == column.original_name
            )
            if column.kind is ColumnKind.STRING:
                assert list(var[:]) == [str(v) for v in column.values]
                continue
            np.testing.assert_array_equal(var[:], column.values)
            if column.quality is not None and column.quality.any():
                np.testing.assert_array_equal(ds[var.ancillary_variables][:], column.quality)
