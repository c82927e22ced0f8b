"""ICARTT: the real samples read exactly, sentinels kept as flags, round trip, bad input."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest

from formats.icartt import read_icartt, sniff_icartt
from formats.icartt_writer import write_icartt
from formats.model import ColumnKind, DataFile, FeatureType, Quality, Severity, WriteError
from formats.netcdf import write_netcdf_file
from tests.formats.netcdf_checker import MEMOIZED, check_failures, unexplained_failures

FLAGS = "ACTAMERICA-flag-metadata_C130_20170206_R0.ict"
MERGE = "ACTAMERICA-mrg05-b200_merge_20170121_R0.ict"
CENTER = {"metadata_link": "https://joss.example.org/datasets/x"}

SMALL_V2 = (
    "{nlhead}, 1001, V02_2016\r\n"
    "Doe, Jane\r\nNCAR\r\nFast ozone analyser\r\nINDOEX\r\n1, 1\r\n"
    "1999, 03, 07, 1999, 04, 01\r\n0\r\n"
    "Start_UTC, seconds, Time_Start, start time in seconds after midnight\r\n"
    "3\r\n1, 0.1, 1\r\n-9999, -99999, -9999\r\n"
    "O3, ppbv, Ozone_Mixing_Ratio, ozone\r\n"
    "CO, ppbv, CO_Mixing_Ratio, carbon monoxide\r\n"
    "LATITUDE, degN\r\n"
    "1\r\nA special comment\r\n"
    "18\r\n"
    "PI_CONTACT_INFO: jane@example.org\r\nPLATFORM: C130\r\nLOCATION: Indian Ocean\r\n"
    "ASSOCIATED_DATA: N/A\r\nINSTRUMENT_INFO: N/A\r\nDATA_INFO: N/A\r\nUNCERTAINTY: 5%\r\n"
    "ULOD_FLAG: -7777\r\nULOD_VALUE: 500\r\nLLOD_FLAG: -8888\r\nLLOD_VALUE: 1\r\n"
    "DM_CONTACT_INFO: N/A\r\nPROJECT_INFO: INDOEX\r\nSTIPULATIONS_ON_USE: N/A\r\n"
    "OTHER_COMMENTS: first line\r\n  second line\r\nREVISION: R1\r\n"
    "Start_UTC, O3, CO, LATITUDE\r\n"
)
ROWS = (
    "14400, 55.5, 1105, 4.25\r\n"
    "14405, -9999, 1106, 4.26\r\n"
    "14410, -8888, -99999, 4.27\r\n"
    "14415.5, -7777, -8888, 4.28\r\n"
)


def small_v2(rows: str = ROWS) -> bytes:
    """An ICARTT v2.0 file with scale factors and every kind of sentinel."""
    nlhead = SMALL_V2.count("\r\n")
    return (SMALL_V2.format(nlhead=nlhead) + rows).encode()


def read_ok(data: bytes) -> DataFile:
    """Read and assert there is no error."""
    datafile, findings = read_icartt(data, None)
    assert [f for f in findings if f.severity is Severity.ERROR] == []
    assert datafile is not None
    return datafile


def test_sniff(sample_dir: Path) -> None:
    assert sniff_icartt((sample_dir / "real" / FLAGS).read_bytes()[:4096]) > 0
    assert sniff_icartt(b"25    1001\n") == 0
    assert sniff_icartt(b"DID = 100\n") == 0


def test_flag_file_v1(sample_dir: Path) -> None:
    df = read_ok((sample_dir / "real" / FLAGS).read_bytes())
    head = df.header
    assert head.pi_name == "Campbell, Lily; Gerken, Tobias; Pal, Sandip"
    assert head.platform == "NASA C130 Aircraft"
    assert head.data_version == "R0"
    assert head.project == "NASA ACT America Mission Winter 2017"
    assert head.extra["LLOD_FLAG"] == "-888888"
    assert df.row_count == 2041
    assert str(df.time.values[0]) == "2017-02-06T17:32:22.000000000"
    assert df.column("Mid_UTC").values[0] == 63144.5
    assert df.column("LATITUDE").unit == "degrees_north"
    assert df.column("LONGITUDE").values[0] == 266.16555786
    assert df.feature_type is FeatureType.TRAJECTORY
    assert df.extent.west is not None and -94 < df.extent.west < -93
    assert df.original_header.startswith("50, 1001\n")


def test_merge_file_crlf_97_variables(sample_dir: Path) -> None:
    df = read_ok((sample_dir / "real" / MERGE).read_bytes())
    assert len(df.columns) == 98 and df.row_count == 1118
    assert df.column("O3_MixingRatio").unit == "1e-9"
    assert df.column("U_WINDS").unit == "m s-1"
    assert df.column("CH4C13_PFP").unit == "1e-3"  # per mil
    assert all(c.kind is ColumnKind.NUMBER for c in df.columns)
    flagged = [c for c in df.data_columns if c.quality is not None]
    assert flagged, "the merge marks missing values with -999999"
    for column in flagged:
        assert column.quality is not None
        assert np.array_equal(np.isnan(column.values), column.quality == Quality.MISSING)


def test_v2_sentinels_scale_and_header() -> None:
    df = read_ok(small_v2())
    o3, co = df.column("O3"), df.column("CO")
    assert o3.quality is not None and co.quality is not None
    assert list(o3.quality) == [
        0,
        Quality.MISSING,
        Quality.BELOW_DETECTION,
        Quality.ABOVE_DETECTION,
    ]
    assert list(co.quality) == [0, 0, Quality.MISSING, Quality.BELOW_DETECTION]
    assert co.values[0] == pytest.approx(110.5) and co.values[1] == pytest.approx(110.6)
    assert np.isnan(o3.values[1:]).all()
    assert o3.attributes["comment"] == "ozone"
    assert str(df.time.values[3]) == "1999-03-07T04:00:15.500000000"
    assert df.header.data_version == "R1"
    assert df.header.extra["ICARTT_VERSION"] == "V02_2016"
    assert df.header.remarks == ["A special comment", "first line", "second line"]


@pytest.mark.parametrize("name", [FLAGS, MERGE])
def test_round_trip_keeps_values_flags_and_header(name: str, sample_dir: Path) -> None:
    first = read_ok((sample_dir / "real" / name).read_bytes())
    out = io.BytesIO()
    write_icartt(first, out)
    second = read_ok(out.getvalue())
    assert second.header.pi_name == first.header.pi_name
    assert second.header.platform == first.header.platform
    assert second.header.data_version == first.header.data_version
    assert second.header.extra["LLOD_FLAG"] == first.header.extra["LLOD_FLAG"]
    assert second.header.remarks == first.header.remarks
    assert second.header.extra == first.header.extra
    np.testing.assert_array_equal(second.time.values, first.time.values)
    for a, b in zip(first.data_columns, second.data_columns, strict=True):
        assert (a.original_name, a.original_unit) == (b.original_name, b.original_unit)
        np.testing.assert_array_equal(a.values, b.values)
        assert (a.quality is None) == (b.quality is None)
        if a.quality is not None and b.quality is not None:
            np.testing.assert_array_equal(a.quality, b.quality)


def test_round_trip_of_flags_and_scaled_values() -> None:
    first = read_ok(small_v2())
    out = io.BytesIO()
    write_icartt(first, out)
    second = read_ok(out.getvalue())
    for name in ("O3", "CO", "LATITUDE"):
        a, b = first.column(name), second.column(name)
        np.testing.assert_array_equal(a.values, b.values)
        np.testing.assert_array_equal(a.quality, b.quality)  # type: ignore[arg-type]


def test_text_column_cannot_be_written() -> None:
    df = read_ok(small_v2())
    df.columns[1].kind = ColumnKind.STRING
    with pytest.raises(WriteError, match="O3"):
        write_icartt(df, io.BytesIO())


def test_other_ffi_is_unsupported() -> None:
    data = small_v2().replace(b", 1001, V02", b", 3010, V02", 1)
    datafile, findings = read_icartt(data, None)
    assert datafile is None
    assert [(f.code, f.line) for f in findings] == [("FMT002", 1)]
    assert "3010" in findings[0].message and "not supported" in findings[0].message


def test_bad_value_named_on_its_line() -> None:
    rows = ROWS.replace("1106", "abc")
    datafile, findings = read_icartt(small_v2(rows), None)
    assert datafile is None
    nlhead = SMALL_V2.count("\r\n")
    assert [(f.code, f.line) for f in findings] == [("FMT005", nlhead + 2)]
    assert "'abc'" in findings[0].message


def test_short_row_and_truncated_header() -> None:
    rows = ROWS.replace(", 4.27", "")
    datafile, findings = read_icartt(small_v2(rows), None)
    nlhead = SMALL_V2.count("\r\n")
    assert datafile is None and [(f.code, f.line) for f in findings] == [("FMT004", nlhead + 3)]
    datafile, findings = read_icartt(small_v2()[:300], None)
    assert datafile is None and findings[0].code == "FMT003"


FFI_2110 = """{nlhead}, 2110
Doe, Jane
NCAR
Lidar
INDOEX
1, 1
1999, 03, 07, 1999, 04, 01
0, 0
Altitude, m
Start_UTC, s
2
1, 1
-9999, -9999
Backscatter, none
Extinction, km-1
2
1, 1
-9999, -9999
nAlt, none
Ship_Lat, degN
0
18
PI_CONTACT_INFO: N/A
PLATFORM: Lidar
LOCATION: N/A
ASSOCIATED_DATA: N/A
INSTRUMENT_INFO: N/A
DATA_INFO: N/A
UNCERTAINTY: N/A
ULOD_FLAG: -7777
ULOD_VALUE: N/A
LLOD_FLAG: -8888
LLOD_VALUE: N/A
DM_CONTACT_INFO: N/A
PROJECT_INFO: N/A
STIPULATIONS_ON_USE: N/A
OTHER_COMMENTS: N/A
REVISION: R0
R0: first
Altitude, Backscatter, Extinction
"""
DATA_2110 = """100, 2, 4.1
500, 1.5, 0.1
1000, 1.25, -9999
110, 3, 4.2
500, 1.75, 0.2
1000, 2, 0.3
1500, 2.5, -8888
"""


def test_2110_flattened_like_the_icartt_package(tmp_path: Path) -> None:
    import importlib.util

    from tests.conftest import require

    require(importlib.util.find_spec("icartt") is not None, "the icartt package is not installed")
    import icartt

    text = FFI_2110.format(nlhead=FFI_2110.count("\n")) + DATA_2110
    path = tmp_path / "lidar.ict"
    path.write_text(text)
    df = read_ok(text.encode())
    assert df.feature_type is FeatureType.PROFILE and df.row_count == 5
    assert list(df.column("Altitude").values) == [500, 1000, 500, 1000, 1500]
    assert list(df.column("Ship_Lat").values) == [4.1, 4.1, 4.2, 4.2, 4.2]
    ext = df.column("Extinction")
    assert ext.quality is not None and list(ext.quality) == [0, 1, 0, 0, Quality.BELOW_DETECTION]
    ref = icartt.Dataset(path)
    block = ref.data[110.0]["DEP"]
    np.testing.assert_array_equal(df.column("Backscatter").values[2:], block["Backscatter"])
    assert str(df.time.values[2]) == "1999-03-07T00:01:50.000000000"


@pytest.mark.parametrize("name", [FLAGS, MERGE])
def test_netcdf_of_samples_passes_the_checker(name: str, sample_dir: Path, tmp_path: Path) -> None:
    df = read_ok((sample_dir / "real" / name).read_bytes())
    out = tmp_path / "out.nc"
    write_netcdf_file(df, out, attributes=CENTER)
    assert unexplained_failures(out) == []


def test_the_checkers_remembered_answers_change_no_finding(
    sample_dir: Path, tmp_path: Path
) -> None:
    """The checker's helpers answer once per file in these tests (`netcdf_checker.MEMOIZED`,
    50 s to 3 s on the merge): on a file with findings, the same findings as without, and
    the library's own functions are put back afterwards."""
    from compliance_checker.cf import util as cf_util

    before = {name: getattr(cf_util, name) for name in MEMOIZED}
    df = read_ok((sample_dir / "real" / FLAGS).read_bytes())
    outs = [tmp_path / "a.nc", tmp_path / "b.nc"]  # the checker keeps each file open
    for out in outs:
        write_netcdf_file(df, out, attributes=CENTER)
    remembered = check_failures(outs[0])
    plain = check_failures(outs[1], memoized=False)
    assert remembered and remembered == plain
    assert {name: getattr(cf_util, name) for name in MEMOIZED} == before


@pytest.mark.parametrize(
    "name", ["c130_rf07_track.txt", "kco_surface_hourly.txt", "sagar_kanya_sounding.txt"]
)
def test_header_files_survive_icartt(name: str, sample_dir: Path, tmp_path: Path) -> None:
    from formats import CampaignTime, read, write

    first = read(sample_dir / "valid" / name, campaign=CampaignTime(year=1999))
    write(first, "icartt", tmp_path / "out.ict")
    second = read(tmp_path / "out.ict")
    assert second.source_format == "icartt"
    assert second.feature_type is first.feature_type
    assert (second.header.latitude, second.header.longitude) == (
        first.header.latitude,
        first.header.longitude,
    )
    np.testing.assert_array_equal(second.time.values, first.time.values)
    for a, b in zip(first.data_columns, second.data_columns, strict=True):
        assert (b.original_name, b.original_unit, b.unit) == (a.name, a.original_unit, a.unit)
        np.testing.assert_array_equal(a.values, b.values)


def test_bad_values_are_written_as_missing_and_said_so(sample_dir: Path) -> None:
    from formats import CampaignTime, read

    df = read(sample_dir / "valid" / "c130_rf07_track.txt", campaign=CampaignTime(year=1999))
    ozone = df.column("O3")
    ozone.values = ozone.values.copy()
    ozone.values[5] = np.nan
    ozone.quality = np.zeros(df.row_count, np.int8)
    ozone.quality[5] = Quality.BAD
    out = io.BytesIO()
    write_icartt(df, out)
    assert b"flagged bad are written as the missing code" in out.getvalue()
    back = read_ok(out.getvalue())
    assert back.column("O3").quality is not None
    assert back.column("O3").quality[5] == Quality.MISSING  # type: ignore[index]
