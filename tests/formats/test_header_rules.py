"""FORMAT.md rule by rule, on small files built in the test."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from formats import CampaignTime, ColumnKind, FeatureType, Quality, Severity, read, validate
from formats.registry import ValidationReport

HEADER = [
    "DID = 7",
    "FILE START TIME (UTC) = 19990201000000",
    "FILE STOP TIME (UTC) = 19990201010000",
    "PI NAME = Doe, Jane",
    "PLATFORM = KCO",
    "INSTRUMENT = Ozone",
    "LOCATION = Kaashidhoo; 4.965N 73.466E",
    "DATA VERSION = 1.0",
]
ROWS = [
    "19990201000000 18.20 80.4",
    "19990201000100 20.43 79.7",
    "19990201000200 22.30 79.0",
    "19990201000300 24.11 77.1",
]


def make(
    header: list[str] | None = None,
    extra: list[str] | None = None,
    names: str = "DATE/TIME O3 RH",
    units: str = "UTC ppbv %",
    rows: list[str] | None = None,
    marker: str = "##END OF HEADER##",
) -> bytes:
    lines = [*(HEADER if header is None else header), *(extra or []), marker, names, units]
    lines += ROWS if rows is None else rows
    return ("\n".join(lines) + "\n").encode()


def check(data: bytes, campaign: CampaignTime | None = None) -> ValidationReport:
    return validate(data, campaign=campaign)


def codes(report: ValidationReport, severity: Severity | None = None) -> list[tuple[str, int]]:
    return [
        (d.code, d.line) for d in report.diagnostics if severity is None or d.severity is severity
    ]


def test_the_plain_file_is_valid_without_findings() -> None:
    report = check(make())
    assert report.valid and report.diagnostics == []
    assert report.datafile is not None
    assert report.datafile.column("O3").values.tolist() == [18.20, 20.43, 22.30, 24.11]


def test_bom_and_crlf_are_warnings_and_change_nothing() -> None:
    plain = read(make())
    data = b"\xef\xbb\xbf" + make().replace(b"\n", b"\r\n")
    report = check(data)
    assert report.valid
    assert {c for c, _ in codes(report)} == {"TXT003", "TXT004"}
    assert report.datafile is not None
    assert report.datafile.header == plain.header
    np.testing.assert_array_equal(report.datafile.column("RH").values, plain.column("RH").values)


def test_control_character_is_an_error_on_its_line_and_not_binary() -> None:
    data = make(rows=[*ROWS[:2], "19990201000200 22.30\x00 79.0", ROWS[3]])
    report = check(data)
    assert ("TXT005", 14) in codes(report, Severity.ERROR)
    assert "TXT002" not in {c for c, _ in codes(report)}


def test_header_line_splits_at_the_first_equals_sign() -> None:
    datafile = read(make(extra=["REMARKS = Missing data = 99.9"]))
    assert datafile.header.remarks == ["Missing data = 99.9"]
    assert datafile.header.missing_value == 99.9


def test_key_variants_are_accepted_with_a_warning() -> None:
    header = [h.replace("PI NAME", "Pi  name") for h in HEADER]
    header = [h.replace("FILE START TIME (UTC)", "FILE START TIME") for h in header]
    report = check(make(header=header))
    assert report.valid
    assert codes(report) == [("HDR002", 2), ("HDR002", 4)]
    assert report.datafile is not None and report.datafile.header.pi_name == "Doe, Jane"


def test_unknown_keys_are_kept_with_a_warning() -> None:
    report = check(make(extra=["Funding agency = NSF"]))
    assert report.valid and codes(report) == [("HDR003", 9)]
    assert report.datafile is not None
    assert report.datafile.header.extra == {"FUNDING AGENCY": "NSF"}


def test_duplicate_key_names_both_lines() -> None:
    report = check(make(extra=["PLATFORM = C130"]))
    errors = [d for d in report.diagnostics if d.code == "HDR005"]
    assert errors and errors[0].line == 9 and "line 5 and line 9" in errors[0].message


def test_remarks_repeat_in_order() -> None:
    datafile = read(make(extra=["REMARKS = one", "REMARKS = two", "REMARKS=three"]))
    assert datafile.header.remarks == ["one", "two", "three"]


def test_indented_line_continues_the_value() -> None:
    report = check(make(extra=["REMARKS = first part", "   second part"]))
    assert report.valid and codes(report) == [("HDR006", 10)]
    assert report.datafile is not None
    assert report.datafile.header.remarks == ["first part second part"]


def test_header_line_without_equals_is_an_error_on_its_line() -> None:
    report = check(make(extra=["just some words"]))
    assert ("HDR001", 9) in codes(report, Severity.ERROR)


@pytest.mark.parametrize("marker", ["## end of header ##", "#END OF HEADER#", "##END  OF HEADER"])
def test_marker_variants_are_accepted_with_a_warning(marker: str) -> None:
    report = check(make(marker=marker))
    assert report.valid and codes(report) == [("HDR007", 9)]


def test_required_keys_and_empty_values() -> None:
    header = [h for h in HEADER if not h.startswith("INSTRUMENT")]
    header = [("PLATFORM =" if h.startswith("PLATFORM") else h) for h in header]
    report = check(make(header=header))
    found = codes(report, Severity.ERROR)
    assert ("HDR004", 0) in found and ("HDR011", 5) in found


def test_did_must_be_an_integer_and_category_known() -> None:
    report = check(make(extra=["CATEGORY = sometimes"]))
    assert ("HDR009", 9) in codes(report, Severity.ERROR)
    ok = read(make(extra=["CATEGORY = Research", "PROJECT = INDOEX"]))
    assert ok.header.category == "research" and ok.header.project == "INDOEX"


def _times(tokens: list[str], campaign: CampaignTime | None, start: str, stop: str) -> list[str]:
    header = [
        f"FILE START TIME (UTC) = {start}"
        if h.startswith("FILE START")
        else f"FILE STOP TIME (UTC) = {stop}"
        if h.startswith("FILE STOP")
        else h
        for h in HEADER
    ]
    rows = [f"{t} 1.0 2.0" for t in tokens]
    datafile = read(make(header=header, rows=rows), campaign=campaign)
    return [str(v)[:23] for v in datafile.time.values]


def test_time_forms_are_told_apart_by_length_and_separators() -> None:
    campaign = CampaignTime(year=1999)
    got = _times(
        ["0201000000.5", "990201000001", "19990201000002.25", "1999-02-01T05:30:03+05:30"],
        campaign,
        "1999-02-01T00:00:00Z",
        "1999-02-01T01:00:00Z",
    )
    assert got == [
        "1999-02-01T00:00:00.500",
        "1999-02-01T00:00:01.000",
        "1999-02-01T00:00:02.250",
        "1999-02-01T00:00:03.000",
    ]


def test_december_to_january_moves_to_the_next_year() -> None:
    got = _times(
        ["1231235950", "1231235955", "0101000000", "0101000005"],
        CampaignTime(year=1999),
        "1231235950",
        "0101000005",
    )
    assert got[1].startswith("1999-12-31") and got[2].startswith("2000-01-01")


def test_campaign_period_places_a_yearless_time() -> None:
    campaign = CampaignTime(start=datetime(1998, 11, 1, tzinfo=UTC), end=datetime(1999, 4, 1))
    got = _times(["0201000000", "0201000100"], campaign, "0201000000", "0201000100")
    assert got[0].startswith("1999-02-01")


def test_two_digit_years_follow_the_campaign_century() -> None:
    got = _times(["010201000000"], CampaignTime(year=2001), "20010201000000", "20010201000000")
    assert got[0].startswith("2001-02-01")


def test_equal_times_warn_earlier_times_fail() -> None:
    rows = [ROWS[0], ROWS[1], ROWS[1].replace("20.43", "20.44"), ROWS[3]]
    report = check(make(rows=rows))
    assert report.valid and codes(report) == [("TIM004", 14)]
    report = check(make(rows=[ROWS[0], ROWS[2], ROWS[1], ROWS[3]]))
    assert codes(report, Severity.ERROR) == [("TIM003", 14)]


def test_rows_outside_start_and_stop_are_errors() -> None:
    rows = ["19990131235900 1.0 2.0", *ROWS, "19990201020000 1.0 2.0"]
    report = check(make(rows=rows))
    assert codes(report, Severity.ERROR) == [("TIM005", 12), ("TIM006", 17)]


def test_start_after_stop_is_an_error() -> None:
    header = [h.replace("19990201010000", "19990131000000") for h in HEADER]
    assert ("TIM007", 3) in codes(check(make(header=header)), Severity.ERROR)


@pytest.mark.parametrize("token", ["nan", "NaN", "inf", "-Infinity"])
def test_nan_and_inf_are_errors(token: str) -> None:
    report = check(make(rows=[ROWS[0], f"19990201000100 {token} 79.7", *ROWS[2:]]))
    assert codes(report, Severity.ERROR) == [("DAT003", 13)]


def test_numbers_follow_the_float_grammar() -> None:
    rows = ["19990201000000 1.5e-3 +.5", "19990201000100 -2E+2 7."]
    datafile = read(make(rows=rows))
    assert datafile.column("O3").values.tolist() == [0.0015, -200.0]
    assert datafile.column("RH").values.tolist() == [0.5, 7.0]
    assert datafile.column("O3").decimals is None
    rows = ["19990201000000 1_000 2", "19990201000100 0x10 2", *(r for r in ROWS[2:])]
    rows += ["19990201000400 1 2"]
    bad = check(make(rows=rows))
    assert codes(bad, Severity.ERROR) == [("DAT002", 12)] and bad.diagnostics[0].count == 2


def test_stray_word_names_its_column_and_column() -> None:
    report = check(make(rows=[ROWS[0], "19990201000100 20.43 oops", *ROWS[2:]]))
    (diag,) = report.errors
    assert (diag.code, diag.line, diag.col) == ("DAT002", 13, 22)
    assert "RH" in diag.message and "oops" in diag.message


def test_string_columns_by_unit_or_by_content() -> None:
    rows = ["19990201000000 A1 B.1 3", "19990201000100 A2 B.2 4"]
    datafile = read(make(names="DATE/TIME ID SAMPLE X", units="UTC ID none 1", rows=rows))
    assert datafile.column("ID").kind is ColumnKind.STRING
    assert datafile.column("SAMPLE").kind is ColumnKind.STRING
    assert datafile.column("SAMPLE").values.tolist() == ["B.1", "B.2"]
    assert datafile.column("X").kind is ColumnKind.NUMBER


def test_sentinels_from_keys_flag_values() -> None:
    rows = ["19990201000000 -999 80.4", "19990201000100 20.43 -888.0"]
    datafile = read(make(extra=["MISSING DATA = -999", "BAD DATA = -888"], rows=rows))
    o3, rh = datafile.column("O3"), datafile.column("RH")
    assert np.isnan(o3.values[0]) and o3.quality is not None and o3.quality[0] == Quality.MISSING
    assert np.isnan(rh.values[1]) and rh.quality is not None and rh.quality[1] == Quality.BAD


def test_sentinel_both_missing_and_bad_is_an_error() -> None:
    report = check(make(extra=["REMARKS = missing data = -9; bad data = -9.0"]))
    assert ("SEN001", 0) in codes(report, Severity.ERROR)


def test_sentinel_that_is_not_a_number_is_an_error() -> None:
    assert ("SEN002", 9) in codes(check(make(extra=["MISSING DATA = none"])), Severity.ERROR)


@pytest.mark.parametrize("names", ["DATE/TIME O3 o3", "DATE/TIME A-B A_B"])
def test_names_colliding_after_sanitising_are_an_error(names: str) -> None:
    assert ("COL004", 10) in codes(check(make(names=names)), Severity.ERROR)


def test_safe_names_and_unknown_units() -> None:
    report = check(make(names="DATE/TIME O3(ppb) 2RH", units="UTC ppbv blorbs"))
    assert report.valid and codes(report) == [("COL005", 11)]
    assert report.datafile is not None
    assert [c.name for c in report.datafile.columns] == ["time", "O3_ppb_", "v2RH"]
    rh = report.datafile.columns[2]
    assert rh.unit is None and rh.original_unit == "blorbs"


def test_time_unit_other_than_utc_is_a_warning() -> None:
    assert codes(check(make(units="LT ppbv %"))) == [("COL006", 11)]


def test_wrong_row_widths_are_errors_on_their_lines() -> None:
    rows = [ROWS[0], "19990201000100 20.43", ROWS[2], "19990201000300 24.11 77.1 5"]
    (diag,) = check(make(rows=rows)).errors
    assert (diag.code, diag.line, diag.last_line, diag.count) == ("DAT001", 13, 15, 2)


def test_no_data_rows_is_an_error() -> None:
    assert codes(check(make(rows=[])), Severity.ERROR) == [("DAT004", 12)]


def test_blank_data_line_is_a_warning_and_fast_and_exact_paths_agree() -> None:
    fast = read(make())
    report = check(make(rows=[ROWS[0], ROWS[1], "", ROWS[2], ROWS[3]]))
    assert report.valid and codes(report) == [("DAT005", 14)]
    slow = report.datafile
    assert slow is not None and slow.header == fast.header
    for a, b in zip(fast.columns, slow.columns, strict=True):
        np.testing.assert_array_equal(a.values, b.values)
        assert (a.name, a.unit, a.kind, a.decimals) == (b.name, b.unit, b.kind, b.decimals)


def test_fixed_site_from_keys_and_mobile_track_across_the_antimeridian() -> None:
    header = [h.replace("Kaashidhoo; 4.965N 73.466E", "Buoy 7") for h in HEADER]
    site = read(make(header=header, extra=["LATITUDE = 10.5S", "LONGITUDE = 170.25"]))
    assert (site.extent.south, site.extent.east) == (-10.5, 170.25)
    assert site.feature_type is FeatureType.TIME_SERIES
    mobile = [h.replace("Kaashidhoo; 4.965N 73.466E", "mobile") for h in HEADER]
    rows = ["19990201000000 -5.0 179.5 1.0", "19990201000100 -5.5 -179.0 2.0"]
    track = read(
        make(header=mobile, names="DATE/TIME LAT LON O3", units="UTC degN degE ppbv", rows=rows)
    )
    assert track.feature_type is FeatureType.TRAJECTORY
    assert (track.extent.west, track.extent.east) == (179.5, -179.0)
    assert (track.extent.south, track.extent.north) == (-5.5, -5.0)


def test_fixed_site_without_coordinates_warns() -> None:
    header = [h.replace("Kaashidhoo; 4.965N 73.466E", "Somewhere") for h in HEADER]
    report = check(make(header=header))
    assert report.valid and codes(report) == [("LOC002", 0)]


def test_sounding_is_a_profile() -> None:
    rows = [f"1999020100{m:02d}00 {1000 - 40 * m} {100 + 300 * m}" for m in range(10)]
    header = [h.replace("19990201010000", "19990201020000") for h in HEADER]
    datafile = read(make(header=header, names="DATE/TIME PRES HGT", units="UTC hPa m", rows=rows))
    assert datafile.feature_type is FeatureType.PROFILE


@pytest.mark.parametrize(
    "spacing",
    [
        lambda r: r.replace(" ", "  ", 1),  # two spaces after the time
        lambda r: r + " ",  # trailing space
        lambda r: r.replace(" ", "\t"),  # tabs
        lambda r: r.replace(" ", " \t "),  # mixed
    ],
)
def test_any_whitespace_separates_values(spacing: object) -> None:
    rows = [f"1999020100{m:02d}00 S{m} {m}.5 {m * 3}" for m in range(6)]
    header = [h.replace("19990201010000", "19990201020000") for h in HEADER]
    plain = read(make(header=header, names="DATE/TIME ID O3 RH", units="UTC ID ppbv %", rows=rows))
    odd_rows = [spacing(r) if i in (0, 3) else r for i, r in enumerate(rows)]  # type: ignore[operator]
    names, units = "DATE/TIME ID O3 RH", "UTC ID ppbv %"
    odd = read(make(header=header, names=names, units=units, rows=odd_rows))
    for a, b in zip(plain.columns, odd.columns, strict=True):
        assert a.values.tolist() == b.values.tolist()


def test_positions_out_of_range_are_errors() -> None:
    mobile = [h.replace("Kaashidhoo; 4.965N 73.466E", "mobile") for h in HEADER]
    rows = ["19990201000000 95.0 10.0 1.0", "19990201000100 5.0 10.0 2.0"]
    names, units = "DATE/TIME LAT LON O3", "UTC degN degE ppbv"
    report = check(make(header=mobile, names=names, units=units, rows=rows))
    (diag,) = report.errors
    assert diag.code == "LOC003" and "LAT" in diag.message and "1 values" in diag.message
