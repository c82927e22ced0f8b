"""Contract suite over real and made files: every readable fixture is read, checked against
an independent reader (nappy for NASA Ames, the icartt package for ICARTT), written by every
writer and read back, comparing every value and every time (fractional seconds included).
A writer that cannot hold a file must refuse with a `FormatError`."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import formats
from formats import DataFile, FormatError
from formats.names import safe_name
from tests.formats.netcdf_checker import unexplained_failures

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "formats"
FILES = sorted(p for p in FIXTURES.rglob("*") if p.suffix in (".na", ".ict"))
IDS = [f"{p.parent.name}/{p.name}" for p in FILES]
CENTER = {
    "publisher_name": "Test archive",
    "publisher_email": "archive@example.org",
    "publisher_url": "https://archive.example.org",
    "license": "CC-BY-4.0",
}


def _nan_equal(a: Any, b: Any) -> bool:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return a.shape == b.shape and bool(((a == b) | (np.isnan(a) & np.isnan(b))).all())


def _read(path: Path) -> DataFile:
    return formats.read(path.read_bytes(), filename=path.name)


def _matching(first: DataFile, second: DataFile) -> list[tuple[Any, Any]]:
    """Pairs of columns (source, re-read) matched by safe name (writers may rename to make
    names unique, then the suffix differs; those are matched by position among the rest)."""
    by_name = {c.name.lower(): c for c in second.data_columns}
    pairs = []
    for column in first.data_columns:
        found = by_name.get(column.name.lower()) or by_name.get(safe_name(column.name).lower())
        assert found is not None, f"{column.name} is missing after the round trip"
        pairs.append((column, found))
    return pairs


def _same_times(a: Any, b: Any, tolerance_ns: int = 0) -> None:
    diff = np.abs(
        a.astype("datetime64[ns]").view(np.int64) - b.astype("datetime64[ns]").view(np.int64)
    )
    assert int(diff.max()) <= tolerance_ns, f"times differ by up to {int(diff.max())} ns"


@pytest.mark.parametrize("path", FILES, ids=IDS)
def test_fixture_reads_like_the_independent_reader(path: Path) -> None:
    datafile = _read(path)
    assert datafile.row_count > 0
    if path.suffix == ".na":
        _compare_with_nappy(path, datafile)
    elif datafile.header.extra["FFI"] in ("1001", "2110"):
        _compare_with_icartt_package(path, datafile)


def _flatten(values: Any) -> list[Any]:
    if isinstance(values, list | tuple):
        return [v for item in values for v in _flatten(item)]
    return [values]


def _compare_with_nappy(path: Path, datafile: DataFile) -> None:
    import nappy

    preamble = 1 if "PREAMBLE" in datafile.header.extra else 0
    ref = nappy.openNAFile(str(path), ignore_header_lines=preamble)
    ref.readData()
    na = ref.getNADict()
    ffi = int(datafile.header.extra["FFI"])
    primaries = datafile.data_columns[-na["NV"] :]
    for n, column in enumerate(primaries):
        raw = np.asarray(_flatten(na["V"][n]), dtype=np.float64)
        expected = np.where(raw == na["VMISS"][n], np.nan, raw * na["VSCAL"][n])
        if ffi == 2110:
            expected = expected[: len(column.values)]
        assert _nan_equal(column.values, expected), column.name
    if ffi == 1001 and "time_axis" in datafile.time.attributes:
        x = np.asarray(_flatten(na["X"]), dtype=np.float64)
        unit_seconds = {"seconds": 1, "minutes": 60, "hours": 3600, "days": 86400}
        word = datafile.time.attributes["time_axis"].split()[0]
        epoch = np.datetime64(datafile.time.attributes["time_axis"].split(" since ")[1], "ns")
        expected_t = epoch + np.round(x * unit_seconds[word] * 1e9).astype("timedelta64[ns]")
        _same_times(datafile.time.values, expected_t)


def _compare_with_icartt_package(path: Path, datafile: DataFile) -> None:
    import icartt

    ds = icartt.Dataset(str(path), format=icartt.Formats(int(datafile.header.extra["FFI"])))
    if ds.format == icartt.Formats.FFI1001:
        data = ds.data[:]
        seconds = np.asarray(data[ds.independentVariable.shortname], dtype=np.float64)
        day = datafile.time.values[0].astype("datetime64[D]").astype("datetime64[ns]")
        expected = day + np.round(seconds * 1e9).astype("timedelta64[ns]")
        _same_times(datafile.time.values, expected)
        for name in ds.dependentVariables:
            ours = datafile.column(name)
            theirs = np.ma.filled(np.ma.asarray(data[name], dtype=np.float64), np.nan)
            good = ours.quality == 0 if ours.quality is not None else np.ones(len(theirs), bool)
            assert _nan_equal(
                ours.values[good], theirs[good] * float(ds.dependentVariables[name].scale)
            )
    else:
        levels = sum(len(np.atleast_1d(rec["DEP"][:])) for rec in ds.data.data.values())
        assert levels == datafile.row_count


def _round_trip(datafile: DataFile, fmt: str, tmp_path: Path) -> bytes | None:
    out = io.BytesIO()
    try:
        formats.write_to(datafile, fmt, out)
    except FormatError as err:
        assert str(err), "a refusal must say why"
        return None
    return out.getvalue()


def _check_values(first: DataFile, second: DataFile) -> None:
    for a, b in _matching(first, second):
        if a.kind is formats.ColumnKind.STRING:
            assert [str(v) for v in a.values] == [str(v) for v in b.values]
        else:
            assert _nan_equal(a.values, b.values), a.name


@pytest.mark.parametrize("path", FILES, ids=IDS)
@pytest.mark.parametrize("fmt", ["header", "icartt"])
def test_text_round_trip_is_exact_or_refused(path: Path, fmt: str, tmp_path: Path) -> None:
    datafile = _read(path)
    data = _round_trip(datafile, fmt, tmp_path)
    if data is None:
        # Only a structure the format cannot hold is refused: a second dimension, or text
        # columns in ICARTT.
        texts = any(c.kind is formats.ColumnKind.STRING for c in datafile.data_columns)
        assert datafile.bounded or texts
        return
    suffix = ".txt" if fmt == "header" else ".ict"
    second = formats.read(data, filename="out" + suffix)
    _same_times(second.time.values, datafile.time.values)
    _check_values(datafile, second)
    if fmt == "icartt":
        out = tmp_path / "out.ict"
        out.write_bytes(data)
        _compare_with_icartt_package(out, second)


@pytest.mark.parametrize("path", FILES, ids=IDS)
def test_csv_round_trip_is_exact(path: Path) -> None:
    import pandas as pd

    datafile = _read(path)
    data = _round_trip(datafile, "csv", Path())
    assert data is not None
    frame = pd.read_csv(io.BytesIO(data), comment="#")  # pandas >= 3 parses floats exactly
    times = pd.to_datetime(frame["time"], utc=True).dt.tz_localize(None).to_numpy("datetime64[ns]")
    _same_times(times, datafile.time.values)
    names = [c for c in frame.columns if c != "time" and not c.endswith("_qc")]
    for column, name in zip(datafile.data_columns, names, strict=True):
        if column.kind is formats.ColumnKind.NUMBER:
            assert _nan_equal(frame[name].to_numpy(dtype=np.float64), column.values), name


@pytest.mark.parametrize("path", FILES, ids=IDS)
def test_netcdf_round_trip_and_checker(path: Path, tmp_path: Path) -> None:
    import netCDF4

    datafile = _read(path)
    out = tmp_path / "out.nc"
    formats.write(datafile, "netcdf", out, attributes=CENTER)
    with netCDF4.Dataset(out) as ds:
        time = ds["time"]
        base = np.datetime64(time.units.split(" since ")[1].replace(" ", "T"), "ns")
        stamps = base + np.round(time[:].filled(np.nan) * 1e9).astype("timedelta64[ns]")
        _same_times(stamps, datafile.time.values, tolerance_ns=1000)
        assert datafile.source_sha256 in ds.history and path.name in ds.history
        unitless: set[str] = set()
        candidates = [v for v in ds.variables.values() if hasattr(v, "original_name")]
        for column in datafile.data_columns:
            var = next(v for v in candidates if v.original_name == column.original_name)
            candidates.remove(var)
            if column.kind is formats.ColumnKind.NUMBER:
                assert _nan_equal(var[:].filled(np.nan), column.values), column.name
            if column.unit is None:
                unitless.add(var.name)
    positioned = datafile.extent.south is not None
    vertical = datafile.extent.min_altitude is not None
    found = unexplained_failures(out, horizontal=positioned, vertical=vertical)
    # A variable whose source unit maps to no UDUNITS unit has none to give (the reader
    # warned, FMT007, and `original_units` keeps the text); nothing else is excused.
    high = [f for f in found if f.weight >= 2 and not _unit_unknown(f, unitless)]
    assert high == [], high


def _unit_unknown(failure: Any, unitless: set[str]) -> bool:
    named = any(f'variable "{name}"' in failure.name for name in unitless)
    return named and set(failure.msgs) <= {"standard_name", "units"}


def test_ebas_days_since_reference_with_end_time() -> None:
    datafile = _read(FIXTURES / "made" / "ebas_days_end_time.na")
    times = datafile.time.values.astype("datetime64[ms]").astype(str).tolist()
    assert times[:2] == ["2019-01-01T00:00:00.000", "2019-01-01T01:00:00.028"]
    assert times[-1] == "2019-02-01T12:00:00.000"
    end = datafile.column("end_time_of_measurement")
    assert end.unit == "days since 2019-01-01 00:00:00" and end.values[0] == 0.041667
    scattering = datafile.column("aerosol_light_scattering_coefficient")
    assert scattering.unit == "Mm-1"
    assert scattering.attributes["ebas_wavelength"] == "550 nm"
    assert len(scattering.attributes["long_name"]) > 300
    assert datafile.column("numflag").unit == "1"
    assert (datafile.extent.south, datafile.extent.west) == (78.906, 11.888)


def test_start_utc_without_units_sub_second_and_loose_units() -> None:
    datafile = _read(FIXTURES / "made" / "start_utc_subsecond_annotated.na")
    assert str(datafile.time.values[1]) == "2008-04-16T21:26:25.600000000"
    units = {c.name: c.unit for c in datafile.data_columns}
    assert units == {
        "G_LAT": "degrees_north",
        "LONGITUDE": "degrees_east",
        "GGALT": "m",
        "CN": "1",
        "NO2_column": "1e21 m-3",
        "FLAG": "1",
    }
    assert datafile.column("CN").original_unit == "#"
    assert datafile.extent.west == pytest.approx(-105.10) and datafile.extent.north == 40.04
    csv = _round_trip(datafile, "csv", Path())
    assert csv is not None and b"2008-04-16T21:26:25.6Z" in csv
    header = _round_trip(datafile, "header", Path())
    assert header is not None and b"20080416212625.6 " in header


def test_annotated_nasa_ames_is_sniffed_as_nasa_ames_whatever_its_name() -> None:
    data = (FIXTURES / "nappy" / "1001_cb.na").read_bytes()
    assert formats.sniff(data[:4096], "file.txt") == "nasa_ames"


def test_every_ffi_nappy_reads_is_read() -> None:
    ffis = {_read(p).header.extra["FFI"] for p in FILES if p.suffix == ".na"}
    assert ffis >= {"1001", "1010", "1020", "2010", "2110", "2160", "2310", "3010", "4010"}


def test_icartt_2110_is_written_as_2110_with_unique_names() -> None:
    datafile = _read(FIXTURES / "made" / "icartt_v2_2110.ict")
    datafile.columns[-1].name = datafile.columns[-1].original_name = "Latitude"
    data = _round_trip(datafile, "icartt", Path())
    assert data is not None and data.split(b"\r\n", 1)[0].endswith(b", 2110")
    second = formats.read(data, filename="x.ict")
    names = [c.name for c in second.columns]
    assert len({n.lower() for n in names}) == len(names)


def test_icartt_validator_flags_repeated_times_and_duplicate_names() -> None:
    data = (FIXTURES / "made" / "icartt_v2_1001.ict").read_bytes()
    repeated = data.replace(b"36001.5, 37.11", b"36000.5, 37.11")
    report = formats.validate(repeated, filename="x.ict")
    assert not report.valid and "does not increase" in report.errors[0].message
    twice = data.replace(b"O3, ppbv, N/A", b"CN, ppbv, N/A")
    report = formats.validate(twice, filename="x.ict")
    assert [d.code for d in report.errors] == ["FMT006"]


def test_long_descriptor_names_never_crash_netcdf(tmp_path: Path) -> None:
    datafile = _read(FIXTURES / "made" / "ebas_days_end_time.na")
    for column in datafile.data_columns:
        column.name = "x" * 300
    out = tmp_path / "long.nc"
    formats.write(datafile, "netcdf", out)
    import netCDF4

    with netCDF4.Dataset(out) as ds:
        assert all(len(name) <= 256 for name in ds.variables)


def test_variable_subset_of_a_2d_file_keeps_its_independent_variables() -> None:
    datafile = _read(FIXTURES / "made" / "icartt_v2_2110.ict")
    part = formats.subset(datafile, variables=["O3"])
    assert [c.name for c in part.columns][:2] == ["time", "Altitude"]
    data = _round_trip(part, "icartt", Path())
    assert data is not None and data.split(b"\r\n", 1)[0].endswith(b", 2110")


def test_non_monotonic_independent_variable_is_an_error() -> None:
    lines = (FIXTURES / "nappy" / "1001a.na").read_text().splitlines()
    nlhead = int(lines[0].split()[0])
    lines[nlhead], lines[nlhead + 3] = lines[nlhead + 3], lines[nlhead]
    report = formats.validate(("\n".join(lines) + "\n").encode(), filename="x.na")
    assert [d.code for d in report.errors] == ["FMT004"]
    assert "not monotonic" in report.errors[0].message
