"""Caps on submitted files: each gives its LIM code, the line and the numbers a PI needs,
in every format; DID and DATA VERSION are bounded to what the catalog and NetCDF hold."""

from __future__ import annotations

import os
import random
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import formats
from formats import FormatError, Limits
from formats.diagnostics import CODES
from formats.registry import READERS, _load
from tests.formats.hostile import SHAPES, header_file, icartt_comments, nasa_line, wide_file

SMALL = Limits(max_header_bytes=2048, max_line_chars=1024, max_columns=10, max_remarks_chars=500)


def _codes(report: formats.ValidationReport) -> list[str]:
    return [d.code for d in report.diagnostics]


def test_defaults_are_generous_and_documented() -> None:
    limits = Limits()
    assert limits.max_header_bytes == 1 << 20
    assert limits.max_line_chars == 256 * 1024
    assert limits.max_columns == 2000
    assert limits.max_remarks_chars == 64 * 1024
    for code in ("LIM001", "LIM002", "LIM003", "LIM004"):
        assert code in CODES


def test_a_limit_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="max_columns"):
        Limits(max_columns=0)


def test_a_long_line_names_the_line_its_length_and_the_limit() -> None:
    data = header_file(b"REMARKS = " + b"a" * 1_048_576 + b"\n")
    report = formats.validate(data)
    assert not report.valid
    (diag,) = report.diagnostics
    assert diag.code == "LIM002" and diag.line == 10
    assert diag.message == "line 10 is 1,048,586 characters long; the limit is 262,144"


def test_long_lines_count_characters_not_bytes() -> None:
    fits = header_file(b"REMARKS = " + "é".encode() * 900 + b"\n")
    assert "LIM002" not in _codes(formats.validate(fits, limits=SMALL))
    over = header_file(b"REMARKS = " + "é".encode() * 1100 + b"\n")
    assert "LIM002" in _codes(formats.validate(over, limits=SMALL))


def test_several_long_lines_are_one_finding_with_their_count() -> None:
    data = header_file() + (b"x" * 2000 + b"\n") * 3
    (diag,) = formats.validate(data, limits=SMALL).diagnostics
    assert diag.code == "LIM002" and diag.count == 3
    assert "(2 more lines are too long)" in diag.message


def test_a_ten_megabyte_single_line_is_refused_quickly() -> None:
    data = header_file() + b"1999-02-02T00:00:00Z " + b"1 " * 5_000_000 + b"\n"
    report = formats.validate(data)
    assert _codes(report) == ["LIM002"]
    assert "10,000,0" in report.diagnostics[0].message


def test_a_header_without_its_end_stops_at_the_header_cap() -> None:
    data = header_file(b"REMARKS = x\n" * 500)
    report = formats.validate(data, limits=SMALL)
    (diag,) = [d for d in report.diagnostics if d.code.startswith("LIM")]
    assert diag.code == "LIM001"
    assert "the limit is 2,048" in diag.message
    assert "HDR008" not in _codes(report)


def test_remarks_over_the_cap() -> None:
    data = header_file(b"REMARKS = " + b"r" * 300 + b"\n" + b"REMARKS = " + b"s" * 300 + b"\n")
    report = formats.validate(data, limits=SMALL)
    (diag,) = [d for d in report.diagnostics if d.code == "LIM004"]
    assert diag.line == 11
    assert diag.message == "REMARKS hold 634 characters by line 11; the limit is 500"


def test_columns_over_the_cap() -> None:
    """The 50,000-column file: its names line alone passes the line cap; with that raised,
    the column cap says how many columns there are."""
    assert _codes(formats.validate(wide_file(49_999))) == ["LIM002"]
    report = formats.validate(wide_file(49_999), limits=Limits(max_line_chars=1 << 20))
    assert _codes(report) == ["LIM003"]
    assert report.diagnostics[0].message == "the file has 50,000 columns; the limit is 2,000"
    assert report.diagnostics[0].line == 11


def test_a_raised_column_cap_reads_a_wide_file() -> None:
    report = formats.validate(wide_file(3000), limits=Limits(max_columns=5000))
    assert report.valid and report.datafile is not None
    assert len(report.datafile.columns) == 3001


def test_icartt_caps() -> None:
    many = icartt_comments([b"note %d\n" % i for i in range(200)])
    assert "LIM001" in _codes(formats.validate(many, limits=SMALL))
    wide = Limits(max_header_bytes=1 << 20, max_columns=5, max_remarks_chars=1 << 20)
    report = formats.validate(icartt_comments([]), limits=wide)
    (diag,) = report.diagnostics
    assert diag.code == "LIM003" and "11 columns; the limit is 5" in diag.message
    talk = Limits(max_remarks_chars=1000)
    report = formats.validate(icartt_comments([b"x" * 600 + b"\n"] * 2), limits=talk)
    assert _codes(report) == ["LIM004"]


def test_nasa_ames_caps() -> None:
    long_header = nasa_line(0, b"100000 1001") + b"1 2 3\n" * 1000
    assert _codes(formats.validate(long_header, limits=SMALL)) == ["LIM001"]
    report = formats.validate(nasa_line(9, b"3"), limits=Limits(max_columns=2))
    assert _codes(report) == ["LIM003"]
    report = formats.validate(nasa_line(17, b"c" * 900), limits=SMALL)
    assert _codes(report) == ["LIM004"]


@pytest.mark.parametrize("did", [str(10**40), "9" * 5000, str(2**63)])
def test_a_did_beyond_64_bits_is_refused(did: str) -> None:
    report = formats.validate(header_file(replace=(b"DID = 31", b"DID = " + did.encode())))
    (diag,) = report.diagnostics
    assert diag.code == "HDR009" and diag.line == 1
    assert "is too large; a DID is at most 9,223,372,036,854,775,807" in diag.message
    assert len(diag.message) < 200


def test_the_largest_did_is_accepted() -> None:
    did = str(2**63 - 1).encode()
    datafile = formats.read(header_file(replace=(b"DID = 31", b"DID = " + did)))
    assert datafile.header.did == 2**63 - 1


def test_a_data_version_longer_than_the_catalog_holds_is_refused() -> None:
    data = header_file(replace=(b"DATA VERSION = 2.1", b"DATA VERSION = " + b"1" * 65))
    (diag,) = formats.validate(data).diagnostics
    assert diag.code == "HDR009" and diag.line == 8
    assert "65 characters long; it may have at most 64" in diag.message
    ok = header_file(replace=(b"DATA VERSION = 2.1", b"DATA VERSION = " + b"1" * 64))
    assert formats.validate(ok).valid


def test_hostile_shapes_under_the_default_caps_are_refused_or_read() -> None:
    """At 1 MB every hostile shape gives a report (a cap's code or the file's own)."""
    for shape, build in SHAPES.items():
        report = formats.validate(build(1_000_000))
        assert report.diagnostics or report.valid, shape


READER_FUNCS = [(name, _load(info.reader)) for name, info in READERS.items()]


@settings(deadline=None, max_examples=150, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])  # fmt: skip
@given(st.binary(max_size=4000), st.sampled_from(READER_FUNCS))
def test_random_bytes_under_tight_caps_give_format_errors_only(
    data: bytes, reader: tuple[str, object]
) -> None:
    name, func = reader
    try:
        func(data, None, limits=SMALL)  # type: ignore[operator]
    except FormatError:
        pass
    report = formats.validate(data, limits=SMALL)
    assert all(d.code in CODES for d in report.diagnostics), name


def test_a_huge_binary_file_is_told_from_its_head(tmp_path: Path) -> None:
    """2 GiB of binary (a sparse file behind a random head) is refused without being read:
    the validating process grows by a few MB, not gigabytes."""
    big = tmp_path / "upload.bin"
    with big.open("wb") as stream:
        stream.write(random.Random(3).randbytes(8192))
        stream.truncate(2 * 1024**3)
    script = (
        "import resource, sys, formats\n"
        "formats.validate(b'DID = 1\\n')\n"
        "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "report = formats.validate(__import__('pathlib').Path(sys.argv[1]))\n"
        "grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before\n"
        "print([d.code for d in report.diagnostics], grown // 1024)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    out = subprocess.run(
        [sys.executable, "-c", script, str(big)], capture_output=True, text=True, env=env,
        timeout=120, check=True,
    )  # fmt: skip
    codes, grown_mb = out.stdout.rsplit(" ", 1)
    assert codes == "['TXT002']"
    assert int(grown_mb) < 64


def test_long_line_prefilter_never_misses_a_long_line() -> None:
    """The block pre-check finds every line over the cap, wherever it falls (small caps,
    every length around the cap, at the start, middle and end of the data)."""
    import random

    from formats.limits import Limits, long_line

    rng = random.Random(5)
    for cap in (1, 2, 3, 7, 10, 33):
        limits = Limits(max_line_chars=cap)
        for _ in range(300):
            lines = ["x" * rng.randint(0, cap) for _ in range(rng.randint(1, 30))]
            over = rng.randrange(len(lines))
            lines[over] = "y" * rng.randint(cap + 1, 3 * cap + 2)
            data = "\n".join(lines).encode() + (b"\n" if rng.random() < 0.5 else b"")
            found = long_line(data, limits)
            assert found is not None and found.line == over + 1, (cap, lines)
            lines[over] = "y" * cap
            assert long_line("\n".join(lines).encode(), limits) is None
