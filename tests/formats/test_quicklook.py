"""Quick-look plots: PNG and SVG of real files, variable choice, bad requests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from formats import CampaignTime, read
from formats.model import WriteError
from formats.quicklook import MAX_POINTS, _envelope, plot


def test_png_of_a_track(sample_dir: Path) -> None:
    df = read(sample_dir / "valid" / "c130_rf07_track.txt", campaign=CampaignTime(year=1999))
    png = plot(df)
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 10_000


def test_svg_names_the_platform_and_variables(sample_dir: Path) -> None:
    df = read(sample_dir / "valid" / "kco_surface_hourly.txt", campaign=CampaignTime(year=1999))
    svg = plot(df, fmt="svg", variables=["O3", "RH"]).decode()
    assert svg.lstrip().startswith("<?xml") and "</svg>" in svg
    assert "KCO" in svg and "O3" in svg and "WSPD" not in svg


def test_profile_without_time_axis_plots_against_its_vertical(sample_dir: Path) -> None:
    df = read(sample_dir / "real" / "nasa_ames_1001a.na")
    svg = plot(df, fmt="svg").decode()
    assert "Pressure [hPa]" in svg


def test_bad_requests_are_format_errors(sample_dir: Path) -> None:
    df = read(sample_dir / "valid" / "seed_example.txt", campaign=CampaignTime(year=1999))
    with pytest.raises(WriteError):
        plot(df, fmt="gif")
    with pytest.raises(WriteError, match="NOPE"):
        plot(df, variables=["NOPE"])
    with pytest.raises(WriteError, match="SAMPLE"):
        plot(df, variables=["SAMPLE"])


def test_long_series_keep_their_extremes() -> None:
    n = 1_000_003
    y = np.sin(np.arange(n) / 1000.0)
    y[500_000] = 50.0
    x = np.arange(n)
    xs, ys = _envelope(x, y)
    assert len(ys) <= MAX_POINTS and np.nanmax(ys) == 50.0 and len(xs) == len(ys)
