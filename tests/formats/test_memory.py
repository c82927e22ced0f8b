"""Memory follows the data: validating and converting a 1,000,000-row file to NetCDF peaks
below 8 times the file's size (peak RSS growth of a fresh child process)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.formats.bench_module import load_bench


@pytest.mark.slow
def test_million_rows_peak_below_eight_times_the_file(tmp_path: Path) -> None:
    bench = load_bench()
    source = tmp_path / "million.txt"
    size = bench.make_header_file(source, 1_000_000)
    growth = bench.peak_rss_growth(source, tmp_path / "million.nc")
    assert (tmp_path / "million.nc").stat().st_size > 0
    assert 0 < growth < 8 * size, f"peak grew {growth / size:.2f} x the file size"
