"""Property tests: no bytes make the readers raise anything but `FormatError`, and
`validate()` never raises. Over 2,000 examples in the normal run."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from formats import CampaignTime, FormatError, read, validate
from formats.registry import READERS, _load, available_readers
from tests.formats.conftest import SAMPLES

CAMPAIGN = CampaignTime(year=1999)
FUZZ = settings(
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    database=None,
)


def _seeds() -> list[bytes]:
    seeds = []
    for path in sorted((SAMPLES / "valid").glob("*.txt")):
        lines = path.read_bytes().splitlines(keepends=True)
        seeds.append(b"".join(lines[:40]))
    for path in sorted((SAMPLES / "real").iterdir()):
        seeds.append(path.read_bytes()[:6000])
    return seeds


SEEDS = _seeds()
# About 30 s for all of them: marked slow, still part of the normal run.
pytestmark = pytest.mark.slow
READER_FUNCS = [(name, _load(READERS[name].reader)) for name in available_readers()]


def _exercise(data: bytes, campaign: CampaignTime | None = CAMPAIGN) -> None:
    report = validate(data, campaign=campaign)
    assert isinstance(report.valid, bool)
    assert report.valid == (report.datafile is not None) or not report.valid
    for diag in report.diagnostics:
        assert diag.line >= 0 and diag.count >= 1
    try:
        read(data, campaign=campaign)
    except FormatError:
        pass
    for _name, reader in READER_FUNCS:
        try:
            result: Any = reader(data, campaign)
        except FormatError:
            continue
        _datafile, diags = result
        assert isinstance(diags, list)


@settings(FUZZ, max_examples=500)
@given(st.binary(max_size=3000))
def test_random_bytes(data: bytes) -> None:
    _exercise(data)


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["flip", "insert", "delete", "dup_line", "swap_token"]))
        pos = draw(st.integers(0, max(len(data) - 1, 0)))
        if kind == "flip" and data:
            data[pos] = draw(st.integers(0, 255))
        elif kind == "insert":
            chunk = draw(
                st.sampled_from(
                    [
                        b"\n",
                        b" ",
                        b"=",
                        b"\t",
                        b"\r\n",
                        b"nan",
                        b"-9999",
                        b"abc",
                        b"##END OF HEADER##\n",
                        b"\x00",
                        b"\xff",
                        b"1e999",
                        b"DID = 2\n",
                        b"REMARKS = Missing data = 1\n",
                        b".",
                    ]
                )
            )
            data[pos:pos] = chunk
        elif kind == "delete":
            del data[pos : pos + draw(st.integers(1, 40))]
        elif kind == "dup_line":
            end = data.find(b"\n", pos)
            start = data.rfind(b"\n", 0, pos) + 1
            if end > start:
                data[end + 1 : end + 1] = data[start : end + 1]
        else:
            data[pos : pos + 1] = draw(st.sampled_from([b"0", b"9", b"-", b"e", b"T", b":"]))
    return bytes(data)


@settings(FUZZ, max_examples=900)
@given(mutated())
def test_mutated_valid_files(data: bytes) -> None:
    _exercise(data)


@settings(FUZZ, max_examples=300)
@given(st.sampled_from(SEEDS), st.integers(0, 6000))
def test_truncated_files(seed: bytes, cut: int) -> None:
    _exercise(seed[:cut])


_HEADER_LINES = st.sampled_from(
    [
        "DID = 5",
        "DID = x",
        "FILE START TIME (UTC) = 0201000000",
        "FILE START TIME (UTC) = 19990201",
        "FILE STOP TIME (UTC) = 1999-02-01T00:10:00Z",
        "FILE STOP TIME (UTC) = 1231235959.5",
        "PI NAME = A",
        "PLATFORM = B",
        "INSTRUMENT = C",
        "LOCATION = mobile",
        "LOCATION = x; 91N 200E",
        "DATA VERSION = 1",
        "REMARKS = Missing data = -9; bad data = -9",
        "MISSING DATA = q",
        "LATITUDE = 95",
        "LONGITUDE = 10W",
        "  continued",
        "no equals here",
        "",
        "CATEGORY = odd",
        "##END OF HEADER##",
        "## end of header ##",
    ]
)
_DATA_LINES = st.sampled_from(
    [
        "DATE/TIME LAT LON X",
        "UTC degN degE m",
        "DATE/TIME X X",
        "UTC",
        "19990201000000 1 2 3",
        "0201000001 4 5 6",
        "990201000002 7 8 9",
        "1999-02-01T00:00:03+05:30 1 2 3",
        "1999-13-01T00:00:00 1 2 3",
        "19990201000004 nan inf 1",
        "19990201000005 a b c",
        "  ",
        "19990201000006 1 2",
        "x 1 2 3 4",
    ]
)


@settings(FUZZ, max_examples=400)
@given(st.lists(_HEADER_LINES, max_size=14), st.lists(_DATA_LINES, max_size=10), st.booleans())
def test_grammar_built_files(header: list[str], rows: list[str], with_year: bool) -> None:
    text = "\n".join([*header, "##END OF HEADER##", *rows]) + "\n"
    _exercise(text.encode(), CAMPAIGN if with_year else None)
