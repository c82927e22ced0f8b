"""Header format round trip: read, write, read again gives equal header and values."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest

from formats import DataFile, read, write
from tests.formats.conftest import CAMPAIGN, valid_samples


def assert_same(a: DataFile, b: DataFile) -> None:
    assert a.header == b.header
    assert a.feature_type == b.feature_type
    assert a.extent == b.extent
    assert len(a.columns) == len(b.columns)
    for x, y in zip(a.columns, b.columns, strict=True):
        assert (x.name, x.original_name, x.unit, x.kind) == (
            y.name,
            y.original_name,
            y.unit,
            y.kind,
        )
        assert x.decimals == y.decimals, x.name
        if x.values.dtype.kind == "f":
            np.testing.assert_array_equal(x.values, y.values)
        else:
            assert x.values.tolist() == y.values.tolist()
        if x.quality is None:
            assert y.quality is None
        else:
            assert y.quality is not None
            np.testing.assert_array_equal(x.quality, y.quality)


@pytest.mark.parametrize("path", valid_samples(), ids=lambda p: p.name)
def test_round_trip_keeps_header_values_and_precision(path: Path, tmp_path: Path) -> None:
    first = read(path, campaign=CAMPAIGN)
    out = tmp_path / "again.txt"
    write(first, "header", out)
    second = read(out)  # four-digit years now: no campaign needed
    assert_same(first, second)
    # and a second trip writes the same bytes
    out2 = tmp_path / "again2.txt"
    write(second, "header", out2)
    assert out.read_bytes() == out2.read_bytes()


def test_written_values_keep_written_precision(tmp_path: Path) -> None:
    path = next(p for p in valid_samples() if p.name == "c130_external_sampler.txt")
    out = tmp_path / "x.txt"
    write(read(path, campaign=CAMPAIGN), "header", out)
    text = out.read_text()
    assert " 2349.800\n" in text  # NH4 keeps its trailing zero
    assert "1002.70 " in text
    rows = text.split("##END OF HEADER##\n")[1].splitlines()[2:]
    assert " 99.9 " in rows[17] and " 88.8 " in rows[64]  # sentinels written back


def test_write_to_stream_matches_write(tmp_path: Path) -> None:
    from formats import write_to

    datafile = read(valid_samples()[0], campaign=CAMPAIGN)
    buffer = io.BytesIO()
    write_to(datafile, "header", buffer)
    out = tmp_path / "y.txt"
    write(datafile, "header", out)
    assert buffer.getvalue() == out.read_bytes()


def test_atomic_write_leaves_no_partial_file(tmp_path: Path) -> None:
    datafile = read(valid_samples()[0], campaign=CAMPAIGN)
    datafile.header.start = None
    datafile.extent.start = None
    out = tmp_path / "z.txt"
    with pytest.raises(Exception, match="start"):
        write(datafile, "header", out)
    assert list(tmp_path.iterdir()) == []


def test_exponent_columns_round_trip_exactly(tmp_path: Path) -> None:
    from tests.formats.test_header_rules import make

    rows = ["19990201000000 1.5e-3 2", "19990201000100 -2.25E+7 3", "19990201000200 7e0 4"]
    first = read(make(rows=rows))
    assert first.column("O3").decimals is None
    out = tmp_path / "e.txt"
    write(first, "header", out)
    assert_same(first, read(out))
