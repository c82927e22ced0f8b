"""Quick-look plots: PNG and SVG of real files, variable choice, bad requests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from formats import CampaignTime, read
from formats.model import WriteError
from formats.quicklook import MAX_POINTS, PANELS_PER_PAGE, _envelope, plot, plot_pages


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
    pages = plot_pages(df)
    assert [p.kind for p in pages] == ["skew-t", "profiles"]
    svg = plot(df, fmt="svg").decode()
    assert "pressure [hPa]" in svg and "temperature [°C]" in svg


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


def _header_file(
    tmp_path: Path,
    names: list[str],
    units: list[str],
    rows: list[list[float]],
    instrument: str = "GPS radiosonde",
) -> Path:
    """A campaign header file with one row every 20 s from 1999-03-10 11:30 UTC."""
    lines = [
        "DID = 990",
        "FILE START TIME (UTC) = 19990310113000",
        f"FILE STOP TIME (UTC) = 19990310{11 + (30 * 60 + 20 * (len(rows) - 1)) // 3600:02d}"
        f"{(30 + 20 * (len(rows) - 1) // 60) % 60:02d}{20 * (len(rows) - 1) % 60:02d}",
        "PI NAME = Test, Pat",
        "PLATFORM = Sagar Kanya",
        f"INSTRUMENT = {instrument}",
        "LOCATION = R/V Sagar Kanya; 2.10S 71.80E",
        "DATA VERSION = 1.0",
        "##END OF HEADER##",
        " ".join(["DATE/TIME", *names]),
        " ".join(["UTC", *units]),
    ]
    start = np.datetime64("1999-03-10T11:30:00")
    for i, row in enumerate(rows):
        stamp = (
            str(start + np.timedelta64(20 * i, "s"))
            .replace("-", "")
            .replace("T", "")
            .replace(":", "")
        )
        lines.append(" ".join([stamp, *(f"{v:g}" for v in row)]))
    path = tmp_path / "file.txt"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_a_sounding_gets_a_skew_t_with_wind_barbs_then_profiles(sample_dir: Path) -> None:
    df = read(sample_dir / "valid" / "sagar_kanya_sounding.txt", campaign=CampaignTime(year=1999))
    pages = plot_pages(df)
    assert [p.kind for p in pages] == ["skew-t", "profiles"]
    assert pages[0].variables == ["TEMP", "DWPT"]
    assert sorted(pages[1].variables) == ["HGT", "WDIR", "WSPD"]
    svg = plot(df, fmt="svg").decode()
    for label in (
        "skew-T / log-P (wind barbs in knots)",
        "temperature [°C]",
        "pressure [hPa]",
        "dew point",
        "Page 1 of 2",
    ):
        assert label in svg, label
    png = plot(df, fmt="png")
    import io

    from PIL import Image

    with Image.open(io.BytesIO(png)) as image:
        assert image.size == (750, 800)
        # Drawn, not blank: many distinct colours (lines, adiabats, barbs).
        assert len(image.convert("RGB").getcolors(maxcolors=100_000) or []) > 50
    profiles = plot(df, fmt="svg", page=2).decode()
    assert "pressure [hPa]" in profiles and "WSPD" in profiles and "[m/s]" in profiles


def test_a_sounding_with_humidity_and_no_wind_gets_a_dew_point_and_no_barbs(tmp_path: Path) -> None:
    pres = np.linspace(1000, 200, 30)
    temp = 28 - 0.0065 * (44330 * (1 - (pres / 1013.25) ** 0.1903))
    rh = np.linspace(90, 20, 30)
    path = _header_file(
        tmp_path,
        ["PRES", "TEMP", "RH"],
        ["hPa", "degC", "%"],
        [list(r) for r in zip(pres, temp, rh, strict=True)],
    )
    df = read(path, campaign=CampaignTime(year=1999))
    pages = plot_pages(df)
    assert [p.kind for p in pages] == ["skew-t", "profiles"]
    svg = plot(df, fmt="svg").decode()
    assert "dew point" in svg and "wind barbs" not in svg
    assert "RH" in plot(df, fmt="svg", page=2).decode()


def test_every_variable_is_on_some_page_and_each_page_names_the_rest(tmp_path: Path) -> None:
    names = [f"V{i:02d}" for i in range(14)]
    rows = [[float(i + j) for j in range(14)] for i in range(40)]
    path = _header_file(tmp_path, names, ["ppbv"] * 14, rows, instrument="Chemistry suite")
    df = read(path, campaign=CampaignTime(year=1999))
    pages = plot_pages(df)
    assert [p.kind for p in pages] == ["series"] * 3
    assert [n for p in pages for n in p.variables] == names
    assert all(len(p.variables) <= PANELS_PER_PAGE for p in pages)
    first = plot(df, fmt="svg", page=1).decode()
    assert "Page 1 of 3" in first and "V06" in first and "V13" in first
    assert "ppbv" in first and "1e-9" not in first
    third = plot(df, fmt="svg", page=3).decode()
    assert "Page 3 of 3" in third and "V12" in third
    with pytest.raises(WriteError, match="3 page"):
        plot(df, page=4)


def test_an_aircraft_climbing_is_a_time_series_not_a_sounding(sample_dir: Path) -> None:
    df = read(sample_dir / "valid" / "c130_rf07_track.txt", campaign=CampaignTime(year=1999))
    assert {p.kind for p in plot_pages(df)} == {"series"}
