"""Every sample file: the valid ones read, the invalid ones are rejected at their line."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from formats import FeatureType, Quality, Severity, read, validate
from tests.formats.conftest import CAMPAIGN, invalid_samples, valid_samples

# file -> (code, line) of the defect the samples README names ("-" lines are whole-file: 0)
EXPECTED = {
    "no_end_marker.txt": ("HDR008", 0),
    "missing_pi_name.txt": ("HDR004", 0),
    "extra_column_row.txt": ("DAT001", 40),
    "units_count_mismatch.txt": ("COL003", 12),
    "non_numeric_value.txt": ("DAT002", 50),
    "time_not_increasing.txt": ("TIM003", 61),
    "bad_timestamp.txt": ("TIM001", 70),
    "rows_after_stop_time.txt": ("TIM006", 110),
    "duplicate_did.txt": ("HDR005", 2),
    "did_not_integer.txt": ("HDR009", 1),
    "empty.txt": ("TXT001", 0),
    "binary_garbage.bin": ("TXT002", 0),
    "truncated_mid_row.txt": ("DAT001", -1),
    "header_only_crlf.txt": ("HDR008", 0),
}


def test_samples_are_present(sample_dir: Path) -> None:
    assert {p.name for p in (sample_dir / "invalid").iterdir()} == set(EXPECTED)
    # The five samples of the format, and the C-130 1 Hz navigation file CIDS merges.
    assert len(valid_samples()) == 6


@pytest.mark.parametrize("path", invalid_samples(), ids=lambda p: p.name)
def test_invalid_sample_is_rejected_at_its_line(path: Path) -> None:
    report = validate(path, campaign=CAMPAIGN)
    assert not report.valid
    assert report.datafile is None
    code, line = EXPECTED[path.name]
    if line == -1:
        line = path.read_bytes().count(b"\n") + 1
    errors = [(d.code, d.line) for d in report.diagnostics if d.severity is Severity.ERROR]
    assert (code, line) in errors, errors


def test_invalid_samples_name_their_defect() -> None:
    by_name = {p.name: p for p in invalid_samples()}
    messages = {
        name: " ".join(d.message for d in validate(path, campaign=CAMPAIGN).diagnostics)
        for name, path in by_name.items()
    }
    assert "PI NAME" in messages["missing_pi_name.txt"]
    assert "thirty-one" in messages["did_not_integer.txt"]
    assert "line 1 and line 2" in messages["duplicate_did.txt"]
    assert "O3" in messages["non_numeric_value.txt"] and "abc" in messages["non_numeric_value.txt"]
    assert "1999-02-31T25:00:00Z" in messages["bad_timestamp.txt"]
    assert "4 units for 5 columns" in messages["units_count_mismatch.txt"]
    assert "cut off" in messages["truncated_mid_row.txt"]


def test_header_only_crlf_reports_crlf_as_a_warning_only() -> None:
    path = next(p for p in invalid_samples() if p.name == "header_only_crlf.txt")
    diags = validate(path, campaign=CAMPAIGN).diagnostics
    crlf = [d for d in diags if d.code == "TXT004"]
    assert crlf and crlf[0].severity is Severity.WARNING


@pytest.mark.parametrize("path", valid_samples(), ids=lambda p: p.name)
def test_valid_sample_is_valid(path: Path) -> None:
    report = validate(path, campaign=CAMPAIGN)
    errors = [d for d in report.diagnostics if d.severity is Severity.ERROR]
    assert report.valid, errors
    assert report.format == "header"
    datafile = report.datafile
    assert datafile is not None
    assert datafile.row_count > 0
    assert datafile.time.name == "time"
    assert not np.isnat(datafile.time.values).any()
    assert datafile.extent.start is not None and datafile.extent.stop is not None


def _sample(name: str) -> Path:
    return next(p for p in valid_samples() if p.name == name)


def test_seed_example_details() -> None:
    datafile = read(_sample("seed_example.txt"), campaign=CAMPAIGN)
    header = datafile.header
    assert header.did == 100
    assert header.missing_value == 99.9 and header.bad_value == 88.8
    assert len(header.remarks) == 5
    assert header.start is not None and header.start.isoformat() == "1999-08-21T13:35:00+00:00"
    sample = datafile.column("SAMPLE")
    assert sample.kind.value == "string" and sample.values[0] == "E1.160.1"
    no2 = datafile.column("NO2")
    assert no2.original_unit == "nM/m3" and no2.unit == "nmol m-3"
    assert datafile.column("CO").unit == "1e-6"
    assert datafile.column("NH4").decimals == 3
    assert datafile.time.original_name == "DATE/TIME"
    assert datafile.original_header.startswith("DID = 100\n")
    assert datafile.original_header.rstrip().endswith("##END OF HEADER##")


def test_sampler_sentinels_become_flags() -> None:
    datafile = read(_sample("c130_external_sampler.txt"), campaign=CAMPAIGN)
    dms = datafile.column("DMS")
    assert dms.quality is not None
    missing_rows = np.flatnonzero(dms.quality == Quality.MISSING)
    assert list(missing_rows) == [17, 18]  # lines 32-33
    assert np.isnan(dms.values[missing_rows]).all()
    no2 = datafile.column("NO2")
    assert no2.quality is not None
    assert list(np.flatnonzero(no2.quality == Quality.BAD)) == [64]  # line 79
    assert datafile.column("CO").quality is None


def test_feature_types_and_extents() -> None:
    track = read(_sample("c130_rf07_track.txt"), campaign=CAMPAIGN)
    assert track.feature_type is FeatureType.TRAJECTORY
    assert track.extent.south == pytest.approx(4.194)
    assert track.extent.west is not None and track.extent.west < track.extent.east  # type: ignore[operator]
    assert track.extent.max_altitude is not None
    kco = read(_sample("kco_surface_hourly.txt"), campaign=CAMPAIGN)
    assert kco.feature_type is FeatureType.TIME_SERIES
    assert (kco.extent.south, kco.extent.west) == (4.965, 73.466)
    assert kco.header.missing_value == -9999
    sounding = read(_sample("sagar_kanya_sounding.txt"), campaign=CAMPAIGN)
    assert sounding.feature_type is FeatureType.PROFILE
    assert (sounding.extent.south, sounding.extent.east) == (-2.10, 71.80)


def test_mobile_without_position_is_valid_with_a_warning() -> None:
    report = validate(_sample("c130_external_sampler.txt"), campaign=CAMPAIGN)
    assert report.valid
    assert [d.code for d in report.warnings] == ["LOC001"]
    assert report.datafile is not None and report.datafile.extent.south is None


def test_yearless_times_without_campaign_year_say_so() -> None:
    report = validate(_sample("seed_example.txt"))
    assert not report.valid
    assert any(d.code == "TIM002" and "--year" in d.message for d in report.diagnostics)
