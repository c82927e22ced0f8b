"""Property tests: random tables written by every writer read back exactly (times to the
nanosecond the writer keeps, values bit for bit), and mutated real files or random bytes give
a `FormatError` or a file, never another exception."""

from __future__ import annotations

import io
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import formats
from formats import Column, ColumnKind, DataFile, Extent, FeatureType, FormatError, Header, Quality

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "formats"
SEEDS = [p.read_bytes()[:5000] for p in sorted(FIXTURES.rglob("*")) if p.suffix in (".na", ".ict")]
PROPERTY = settings(
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    database=None,
)
SENTINELS = {-9999.0, -8888.0, -7777.0, -99999.0, -999.0, 9999.0}

values_st = st.floats(min_value=-1e9, max_value=1e9, allow_nan=False, width=64).filter(
    lambda v: v not in SENTINELS
)


@st.composite
def tables(draw: st.DrawFn) -> DataFile:
    """A random numeric table: increasing times with sub-second parts, NaN holes."""
    rows = draw(st.integers(1, 30))
    ncols = draw(st.integers(1, 4))
    steps = draw(st.lists(st.integers(1, 10_000), min_size=rows, max_size=rows))
    start_ms = draw(st.integers(0, 86_000_000 - 10_000 * rows))
    offsets = start_ms + np.cumsum(np.asarray(steps, dtype=np.int64)) - steps[0]
    times = np.datetime64("2016-07-20T00:00:00", "ns") + (offsets * 1_000_000).astype(
        "timedelta64[ns]"
    )
    columns = [Column("Start_UTC", "time", "seconds", None, ColumnKind.NUMBER, times)]
    for index in range(ncols):
        vals = np.asarray(draw(st.lists(values_st, min_size=rows, max_size=rows)), dtype=np.float64)
        holes = np.asarray(draw(st.lists(st.booleans(), min_size=rows, max_size=rows)))
        quality = None
        if holes.any() and not holes.all():
            vals[holes] = np.nan
            quality = (holes * Quality.MISSING).astype(np.int8)
        columns.append(Column(f"V{index}", f"V{index}", "m", "m", ColumnKind.NUMBER, vals, quality))
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    start = epoch + timedelta(microseconds=int(times[0].astype("datetime64[us]").astype(np.int64)))
    stop = epoch + timedelta(microseconds=int(times[-1].astype("datetime64[us]").astype(np.int64)))
    header = Header(start=start, stop=stop, pi_name="Doe, Jane", platform="C130", instrument="X")
    return DataFile(header, columns, "icartt", FeatureType.TIME_SERIES, Extent(start, stop))


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    return bool(((a == b) | (np.isnan(a) & np.isnan(b))).all())


@PROPERTY
@given(tables(), st.sampled_from(["header", "icartt", "csv", "netcdf"]))
def test_random_tables_read_back_exactly(datafile: DataFile, fmt: str) -> None:
    out = io.BytesIO()
    formats.write_to(datafile, fmt, out)
    data = out.getvalue()
    if fmt == "csv":
        import pandas as pd

        frame = pd.read_csv(io.BytesIO(data), comment="#")  # pandas >= 3 parses floats exactly
        stamps = (
            pd.to_datetime(frame["time"], utc=True).dt.tz_localize(None).to_numpy("datetime64[ns]")
        )
        assert (stamps == datafile.time.values).all()
        for column in datafile.data_columns:
            assert _same(frame[column.name].to_numpy(np.float64), column.values)
        return
    if fmt == "netcdf":
        import netCDF4

        with tempfile.TemporaryDirectory(prefix="fieldcat-prop-") as folder:
            path = Path(folder) / "round-trip.nc"
            path.write_bytes(data)
            with netCDF4.Dataset(path) as ds:
                for column in datafile.data_columns:
                    assert _same(ds[column.name][:].filled(np.nan), column.values)
                base = np.datetime64(ds["time"].units.split(" since ")[1].replace(" ", "T"), "ns")
                seconds = ds["time"][:].filled(np.nan)
                stamps = base + np.round(seconds * 1e9).astype("timedelta64[ns]")
                assert (np.abs((stamps - datafile.time.values).astype(np.int64)) <= 1000).all()
        return
    second = formats.read(data, filename="x.ict" if fmt == "icartt" else "x.txt")
    assert (second.time.values == datafile.time.values).all()
    for column in datafile.data_columns:
        assert _same(second.column(column.name).values, column.values)


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    """A fixture with a few bytes replaced, lines cut or repeated."""
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, max(0, len(data) - 1)))
        action = draw(st.sampled_from(["replace", "cut", "insert"]))
        if action == "replace" and data:
            data[at] = draw(st.sampled_from(b"0123456789 ,.-eE{}\n\r\txA"))
        elif action == "cut":
            del data[at : at + draw(st.integers(1, 200))]
        else:
            data[at:at] = draw(st.binary(max_size=20))
    return bytes(data)


@pytest.mark.slow
@settings(PROPERTY, max_examples=400)
@given(st.one_of(mutated(), st.binary(max_size=2000)))
def test_mutated_files_give_a_format_error_or_a_file(data: bytes) -> None:
    report = formats.validate(data, filename="x.na")
    assert report.valid == (report.datafile is not None)
    try:
        datafile = formats.read(data, filename="x.na")
    except FormatError:
        return
    for fmt in formats.WRITER_FORMATS:
        try:
            formats.write_to(datafile, fmt, io.BytesIO())
        except FormatError as err:
            assert str(err)
