"""NASA Ames: FFI 1001 and 1010 read exactly, scale factors never touch sentinels."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from formats.model import DataFile, FeatureType, Quality, Severity
from formats.nasa_ames import read_nasa_ames, sniff_nasa_ames
from formats.netcdf import write_netcdf_file
from tests.formats.netcdf_checker import unexplained_failures

CENTER = {"metadata_link": "https://joss.example.org/datasets/x"}


def read_ok(path: Path) -> DataFile:
    """Read a sample and assert there is no error."""
    datafile, findings = read_nasa_ames(path.read_bytes(), None)
    assert [f for f in findings if f.severity is Severity.ERROR] == []
    assert datafile is not None
    return datafile


def test_sniff(sample_dir: Path) -> None:
    assert sniff_nasa_ames((sample_dir / "real" / "nasa_ames_1001.na").read_bytes()) > 0
    assert sniff_nasa_ames(b"50, 1001\n") == 0


def test_1001_time_scale_factors(sample_dir: Path) -> None:
    df = read_ok(sample_dir / "real" / "nasa_ames_1001.na")
    assert df.header.pi_name == "Bryan Lawrence"
    assert df.header.project == "Project: Gravity Wave Processes and their Role in Climate"
    assert str(df.time.values[0]) == "2000-09-20T22:00:00.000000000"
    assert list(df.column("Ascent_Rate").values) == pytest.approx([0.0, 4.4, 3.7])
    assert list(df.column("Pressure").values) == pytest.approx([1017.6, 1012.5, 1008.8])
    assert df.column("Pressure").unit == "hPa"
    assert df.feature_type is FeatureType.PROFILE
    assert (df.header.latitude, df.header.longitude) == (-36.79, 174.63)


def test_1001_missing_never_scaled(sample_dir: Path) -> None:
    df = read_ok(sample_dir / "real" / "nasa_ames_1001a.na")
    conc, temp = df.column("Total_concentration"), df.column("Temperature")
    assert conc.values[0] == pytest.approx(2.55e7 * 1e12)
    assert temp.unit == "K"
    assert conc.quality is not None and temp.quality is not None
    missing_rows = [4, 11, 13]
    assert list(np.flatnonzero(conc.quality)) == missing_rows
    assert list(np.flatnonzero(temp.quality)) == missing_rows
    assert set(conc.quality[missing_rows]) == {Quality.MISSING}
    assert np.isnan(conc.values[missing_rows]).all()
    assert df.column("Pressure").values[0] == pytest.approx(1013.3)
    assert str(df.time.values[0]) == "1976-01-01T00:00:00.000000000"


def test_1010_auxiliary_variables(sample_dir: Path) -> None:
    df = read_ok(sample_dir / "real" / "nasa_ames_1010.na")
    names = [c.name for c in df.columns]
    assert names[:4] == ["time", "Altitude", "Pressure", "Air_concentration"]
    assert df.row_count == 19
    assert df.column("Air_concentration").values[0] == pytest.approx(8.61e6 * 1e12)
    o1d = df.column("O_1D__concentration")
    assert o1d.quality is not None and list(np.flatnonzero(o1d.quality))[:2] == [0, 1]
    assert o1d.values[2] == pytest.approx(0.9)
    ozone = df.column("Ozone_concentration")
    assert ozone.quality is not None and ozone.quality[4] == Quality.MISSING


def test_2110_flattened_like_nappy_reads_it(sample_dir: Path) -> None:
    import nappy

    path = sample_dir / "real" / "nasa_ames_2110.na"
    df = read_ok(path)
    names = [c.name for c in df.columns]
    assert names == [
        "time",
        "Altitude",
        "Latitude",
        "Number_of_latitude_points",
        "Pressure",
        "Mean_zonal_wind",
    ]
    ref = nappy.openNAFile(str(path))
    ref.readData()
    na = ref.getNADict()
    expected_x1 = [x for _, x1 in na["X"] for x in x1]
    expected_v = [v for block in na["V"][0] for v in block]
    assert list(df.column("Latitude").values) == expected_x1
    assert list(df.column("Mean_zonal_wind").values) == pytest.approx(expected_v)
    assert df.column("Latitude").unit == "degrees_north"
    assert df.column("Number_of_latitude_points").unit == "1"
    assert df.row_count == sum(int(n) for n in na["A"][0])
    assert df.feature_type is FeatureType.PROFILE


def test_other_ffi_is_unsupported_with_a_clear_message(sample_dir: Path) -> None:
    data = (sample_dir / "real" / "nasa_ames_1001.na").read_bytes().replace(b"1001", b"5010", 1)
    datafile, findings = read_nasa_ames(data, None)
    assert datafile is None
    assert [(f.code, f.line) for f in findings] == [("FMT002", 1)]
    assert "5010 is not supported" in findings[0].message


def test_2110_record_cut_short(sample_dir: Path) -> None:
    text = (sample_dir / "real" / "nasa_ames_2110.na").read_text()
    datafile, findings = read_nasa_ames(text.rstrip().rsplit("\n", 1)[0].encode(), None)
    assert datafile is None and findings[0].code == "FMT004"


def test_bad_token_and_short_record(sample_dir: Path) -> None:
    text = (sample_dir / "real" / "nasa_ames_1001.na").read_text()
    datafile, findings = read_nasa_ames(text.replace("79210", "7x210").encode(), None)
    assert datafile is None and [(f.code, f.line) for f in findings] == [("FMT005", 27)]
    datafile, findings = read_nasa_ames(text.rstrip().rsplit(" ", 2)[0].encode(), None)
    assert datafile is None and findings[0].code == "FMT004"
    datafile, findings = read_nasa_ames(b"25 1001\nonly\n", None)
    assert datafile is None and findings[0].code == "FMT003"


@pytest.mark.parametrize(
    ("name", "positioned"),
    [
        ("nasa_ames_1001.na", True),
        ("nasa_ames_1001a.na", False),
        ("nasa_ames_1010.na", False),
        ("nasa_ames_2110.na", False),
    ],
)
def test_netcdf_passes_the_checker(
    name: str, positioned: bool, sample_dir: Path, tmp_path: Path
) -> None:
    df = read_ok(sample_dir / "real" / name)
    out = tmp_path / "out.nc"
    write_netcdf_file(df, out, attributes=CENTER)
    found = unexplained_failures(out, horizontal=positioned, vertical=positioned)
    assert found == []
