"""Parsing is linear in input size on every hostile shape that was once quadratic.

Each shape is read at size n and 4n with caps far above the input (so the parsing code
itself runs, not a cap): best of three timings, and 4n may take at most 8 times as long
as n (linear gives about 4; quadratic 16). An absolute bound on the 4n read (a second, where
the quadratic code took minutes) catches what a ratio alone could miss.
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime

import pytest

import formats
from formats import Limits
from formats.cf_attributes import global_attributes
from formats.descriptors import strip_annotation
from tests.formats.hostile import SHAPES, header_file

WIDE = Limits(
    max_header_bytes=1 << 30, max_line_chars=1 << 30, max_columns=10**7, max_remarks_chars=1 << 30
)
pytestmark = pytest.mark.solo  # compares run times
SIZE = 50_000
ABSOLUTE_S = 2.0
"""The 4n read's bound: tens of ms on an idle machine; the quadratic code took minutes."""
FLOOR_S = 0.01
"""Timings below this are noise: the ratio is taken against at least this much."""
SIZES = {"continuation lines": 250_000, "columns": 20_000}
"""Shapes whose quadratic part shows only at larger sizes (or whose 4n would pass a limit)."""


def _best_of_3(data: bytes) -> float:
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        formats.validate(data, limits=WIDE)
        best = min(best, time.perf_counter() - start)
    return best


@pytest.fixture(scope="module", autouse=True)
def _warm() -> None:
    """Imports (pandas, numpy) and first-call costs out of the timings."""
    formats.validate(header_file())
    formats.validate(SHAPES["ICARTT comment of spaces"](10))
    formats.validate(SHAPES["NASA Ames comment of spaces"](10))


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_parsing_time_grows_linearly(shape: str) -> None:
    build = SHAPES[shape]
    n = SIZES.get(shape, SIZE)
    small, large = _best_of_3(build(n)), _best_of_3(build(4 * n))
    assert large < ABSOLUTE_S * (4 if shape == "columns" else 1), f"{shape}: {large:.2f} s at 4n"
    assert large < 8 * max(small, FLOOR_S), f"{shape}: n {small:.3f} s, 4n {large:.3f} s"


def test_hostile_reports_say_what_is_wrong() -> None:
    """The hostile shapes that are errors are reported as such, not crashed on."""
    for shape, code in (
        ("sentinel of digits", "SEN002"),
        ("DID of digits", "HDR009"),
        ("lines without '='", "HDR001"),
        ("data token of digits", "DAT002"),
        ("control characters", "TXT005"),
    ):
        report = formats.validate(SHAPES[shape](SIZE), limits=WIDE)
        assert code in {d.code for d in report.diagnostics}, shape


def test_many_header_findings_are_summarised() -> None:
    """A header of 100,000 bad lines gives 100 findings and one summary, not 100,000."""
    report = formats.validate(SHAPES["lines without '='"](200_000), limits=WIDE)
    findings = [d for d in report.diagnostics if d.code == "HDR001"]
    assert len(findings) == 101
    summary = findings[-1]
    assert summary.count == 100_000 - 100
    assert "more header lines like this" in summary.message
    assert summary.last_line == 100_009


def _attributes_seconds(n: int) -> float:
    datafile = formats.read(SHAPES["REMARKS of one word"](n), limits=WIDE)
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        global_attributes(datafile, now=datetime(2026, 1, 1, tzinfo=UTC), resolution_s=None)
        best = min(best, time.perf_counter() - start)
    return best


def test_netcdf_attributes_of_a_long_word_are_linear() -> None:
    """The e-mail search over the header no longer restarts inside every word (the 100 KB
    REMARKS word that froze a center for 29 s)."""
    small, large = _attributes_seconds(SIZE), _attributes_seconds(4 * SIZE)
    assert large < 0.5, f"{large:.2f} s for a {4 * SIZE:,}-character word"
    assert large < 8 * max(small, FLOOR_S)


def test_contact_email_is_still_found() -> None:
    extra = b"REMARKS = contact jane.doe+kco@ucar.edu for details\n"
    datafile = formats.read(header_file(extra))
    attrs = global_attributes(datafile, now=datetime(2026, 1, 1, tzinfo=UTC), resolution_s=None)
    assert "jane.doe+kco@ucar.edu" in attrs.values()


_OLD_NAME_UNIT = re.compile(r"^(.*?)\s*[(\[]([^()\[\]]*)[)\]]\s*$")


def _annotation_seconds(n: int) -> float:
    line = "x" + " " * n + "y {note}"
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        assert strip_annotation(line) == "x" + " " * n + "y"
        best = min(best, time.perf_counter() - start)
    return max(best, FLOOR_S / 100)


def test_stripping_an_annotation_is_linear() -> None:
    """A `{...}` annotation after a long run of spaces (the lazy expression was quadratic)."""
    small, large = _annotation_seconds(SIZE), _annotation_seconds(4 * SIZE)
    assert large < 8 * small or large < FLOOR_S
    assert _annotation_seconds(1_000_000) < ABSOLUTE_S


@pytest.mark.parametrize(
    ("line", "stripped"),
    [
        ("Pressure (hPa) {note}", "Pressure (hPa)"),
        ("a {b} c", "a {b} c"),
        ("a {b}{c}", "a {b}"),
        ("a {b {c}", "a {b"),
        ("{only}", ""),
        ("no braces", "no braces"),
        ("a }", "a }"),
        ("a {x}  \t", "a"),
    ],
)
def test_strip_annotation_keeps_its_meaning(line: str, stripped: str) -> None:
    assert strip_annotation(line) == stripped
