"""The chunked reader gives what the one-pass exact reader gives, chunk borders or not."""

from __future__ import annotations

import numpy as np
import pytest

from formats import CampaignTime, ColumnKind
from formats.header_chunks import chunked_block
from formats.header_format import _names_and_units
from formats.header_keys import build_header, split_header
from formats.header_rows import slow_block
from tests.formats.test_header_rules import HEADER, make


def _blocks(data: bytes, campaign: CampaignTime | None, chunk_lines: int) -> tuple[object, object]:
    section = split_header(data)
    build_header(section, campaign)
    names = _names_and_units(data, section, [])
    assert names is not None
    base = section.header.start
    whole = slow_block(data, names.layout, campaign, base)
    chunked = chunked_block(data, names.layout, campaign, base, chunk_lines=chunk_lines)
    return whole, chunked


def _same(whole: object, chunked: object) -> None:
    a, b = whole, chunked
    np.testing.assert_array_equal(a.times, b.times)  # type: ignore[attr-defined]
    np.testing.assert_array_equal(a.lines, b.lines)  # type: ignore[attr-defined]
    assert a.kinds == b.kinds and a.decimals == b.decimals  # type: ignore[attr-defined]
    for x, y in zip(a.values, b.values, strict=True):  # type: ignore[attr-defined]
        assert x.tolist() == y.tolist() or np.array_equal(x, y, equal_nan=True)
    codes_a = sorted((d.code, d.line) for d in a.diagnostics)  # type: ignore[attr-defined]
    codes_b = sorted((d.code, d.line) for d in b.diagnostics)  # type: ignore[attr-defined]
    assert codes_a == codes_b


@pytest.mark.parametrize("chunk_lines", [1, 3, 7, 100])
def test_chunks_match_the_exact_reader_with_errors_and_rollover(chunk_lines: int) -> None:
    header = [
        "FILE START TIME (UTC) = 1231235900"
        if h.startswith("FILE START")
        else "FILE STOP TIME (UTC) = 0101001000"
        if h.startswith("FILE STOP")
        else h
        for h in HEADER
    ]
    rows = [f"12312359{i:02d} {i}.5 {i * 2}" for i in range(6)]
    rows += [
        f"01010000{i:02d} {i}.25 x{i}" if i == 3 else f"01010000{i:02d} {i}.25 {i}"
        for i in range(8)
    ]
    rows.insert(9, "")
    rows.append("0101000900 1.0")
    whole, chunked = _blocks(make(header=header, rows=rows), CampaignTime(year=1999), chunk_lines)
    _same(whole, chunked)
    assert str(chunked.times[-2])[:4] == "2000"  # type: ignore[attr-defined]


@pytest.mark.parametrize("chunk_lines", [2, 5])
def test_string_column_decided_file_wide(chunk_lines: int) -> None:
    rows = [f"1999020100{i:02d}00 {i}.0 {'S' + str(i) if i % 4 else str(i)}" for i in range(10)]
    whole, chunked = _blocks(
        make(names="DATE/TIME A ID", units="UTC m none", rows=rows), None, chunk_lines
    )
    _same(whole, chunked)
    assert chunked.kinds == [ColumnKind.NUMBER, ColumnKind.STRING]  # type: ignore[attr-defined]
    assert chunked.values[1].tolist()[:2] == ["0", "S1"]  # type: ignore[attr-defined]
