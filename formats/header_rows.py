"""The data block read line by line (the exact path): every finding on its line and column.

Used when the vectorised fast path in `header_data` meets anything unusual. Slower, but it
is the one that knows which line and which column a problem is on.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from formats.header_data import DataBlock, Layout, grouped, is_number, token_decimals
from formats.header_text import error, iter_lines, warning
from formats.model import ColumnKind, Diagnostic, Severity
from formats.timeparse import CampaignTime, parse_times

logger = logging.getLogger(__name__)

_NAN_INF = re.compile(r"[-+]?(?:nan|inf|infinity)", re.IGNORECASE)
_MAX_FINDINGS_PER_CODE = 200
"""Beyond this, repeats of a code are only counted (the report groups them anyway)."""


@dataclass
class _Rows:
    lines: list[int] = field(default_factory=list)
    offsets: list[int] = field(default_factory=list)
    times: list[str] = field(default_factory=list)
    cells: list[list[str]] = field(default_factory=list)


def _col_of(data: bytes, offset: int, index: int) -> int:
    """1-based character column of the `index`-th token of the line at `offset`."""
    end = data.find(b"\n", offset)
    text = data[offset : len(data) if end < 0 else end].decode("utf-8", "replace")
    for i, match in enumerate(re.finditer(r"\S+", text)):
        if i == index:
            return match.start() + 1
    return 1


def _collect(data: bytes, layout: Layout, end: int, diags: list[Diagnostic]) -> _Rows:
    ncols = len(layout.names)
    rows = _Rows()
    rows.cells = [[] for _ in range(ncols - 1)]
    wrong_width: list[int] = []
    at_eof = end >= len(data)
    last_line, ends_nl = 0, data.endswith(b"\n") or not at_eof
    offset = layout.offset
    for lineno, nxt, line in iter_lines(data, layout.offset, layout.first_line, end):
        last_line = lineno
        tokens = line.split()
        if not tokens:
            diags.append(warning("DAT005", "blank line among the data rows", lineno))
            offset = nxt
            continue
        if len(tokens) != ncols:
            wrong_width.append(lineno)
            if len(wrong_width) <= _MAX_FINDINGS_PER_CODE:
                count = f"{len(tokens)} value" + ("" if len(tokens) == 1 else "s")
                message = f"row has {count} but {ncols} columns are named"
                if nxt >= end and not ends_nl:
                    message += " (the file seems cut off in the middle of this row)"
                diags.append(error("DAT001", message, lineno, 1))
            offset = nxt
            continue
        rows.lines.append(lineno)
        rows.offsets.append(offset)
        rows.times.append(tokens[0])
        for i, token in enumerate(tokens[1:]):
            rows.cells[i].append(token)
        offset = nxt
    if len(wrong_width) > _MAX_FINDINGS_PER_CODE:
        extra = len(wrong_width) - _MAX_FINDINGS_PER_CODE
        message = f"row has the wrong number of values ({extra} more rows like this)"
        diags.append(
            Diagnostic(
                "DAT001",
                Severity.ERROR,
                message,
                wrong_width[_MAX_FINDINGS_PER_CODE],
                1,
                wrong_width[-1],
                extra,
            )
        )
    if last_line and not ends_nl:
        diags.append(warning("DAT006", "the last line has no line break", last_line))
    return rows


def _classify(
    tokens: list[str], by_unit_string: bool, forced: ColumnKind | None
) -> tuple[ColumnKind, list[int]]:
    """The column's kind and the indexes of tokens that are not numbers."""
    if by_unit_string:
        return ColumnKind.STRING, []
    bad = [i for i, token in enumerate(tokens) if not is_number(token)]
    if forced is not None:
        return forced, bad
    nan_inf = any(_NAN_INF.fullmatch(tokens[i]) for i in bad)
    if tokens and len(bad) * 2 > len(tokens) and not nan_inf:
        return ColumnKind.STRING, bad
    return ColumnKind.NUMBER, bad


def _number_findings(
    data: bytes, rows: _Rows, name: str, index: int, bad: list[int]
) -> list[Diagnostic]:
    found: list[Diagnostic] = []
    if len(bad) > _MAX_FINDINGS_PER_CODE:
        rest = bad[_MAX_FINDINGS_PER_CODE:]
        message = f"numeric column {name}: more values are not numbers"
        first, last = rows.lines[rest[0]], rows.lines[rest[-1]]
        found.append(Diagnostic("DAT002", Severity.ERROR, message, first, 1, last, len(rest)))
    for count, i in enumerate(bad):
        if count >= _MAX_FINDINGS_PER_CODE:
            break
        token = rows.cells[index][i]
        col = _col_of(data, rows.offsets[i], index + 1)
        if _NAN_INF.fullmatch(token):
            message = f"column {name}: {token!r} is not allowed; use the missing or bad value code"
            found.append(error("DAT003", message, rows.lines[i], col))
        else:
            message = f"numeric column {name}: {token[:40]!r} is not a number"
            found.append(error("DAT002", message, rows.lines[i], col))
    return found


def slow_block(
    data: bytes,
    layout: Layout,
    campaign: CampaignTime | None,
    base: datetime | None,
    end: int | None = None,
    kinds: list[ColumnKind] | None = None,
) -> DataBlock:
    """Read the data block (up to `end`) line by line, reporting each problem on its line.

    `kinds` forces each data column's kind (the chunked reader decides them file-wide).
    """
    import numpy as np

    end = len(data) if end is None else end
    diags: list[Diagnostic] = []
    rows = _collect(data, layout, end, diags)
    values: list[Any] = []
    found_kinds: list[ColumnKind] = []
    decimals: list[int | None] = []
    non_numeric: list[int] = []
    nan_inf: list[int] = []
    for index, tokens in enumerate(rows.cells):
        col_no = index + 1
        forced = kinds[index] if kinds is not None else None
        kind, bad = _classify(tokens, col_no in layout.string_columns, forced)
        found_kinds.append(kind)
        non_numeric.append(len(bad))
        nan_inf.append(sum(1 for i in bad if _NAN_INF.fullmatch(tokens[i])))
        if kind is ColumnKind.STRING:
            values.append(np.array(tokens, dtype=object))
            decimals.append(None)
            continue
        diags.extend(_number_findings(data, rows, layout.names[col_no], index, bad))
        bad_set = set(bad)
        arr = np.array(
            [float(t) if i not in bad_set else np.nan for i, t in enumerate(tokens)],
            dtype=np.float64,
        )
        values.append(arr)
        decimals.append(_exact_decimals(tokens, bad_set))
    lines = np.array(rows.lines, dtype=np.int64)
    times = parse_times(rows.times, campaign, base)
    diags.extend(_time_findings(times.invalid, times.needs_year, lines, rows.times))
    block = DataBlock(times.values, times.decimals, values, found_kinds, decimals, lines, diags)
    block.non_numeric, block.nan_inf = non_numeric, nan_inf
    return block


def _exact_decimals(tokens: list[str], bad: set[int]) -> int | None:
    most = 0
    for i, token in enumerate(tokens):
        if i in bad:
            continue
        dec = token_decimals(token)
        if dec is None:
            return None
        most = max(most, dec)
    return most


def _time_findings(
    invalid: object, needs_year: object, lines: object, tokens: list[str]
) -> list[Diagnostic]:
    import numpy as np

    diags: list[Diagnostic] = []
    inv = np.asarray(invalid) & ~np.asarray(needs_year)
    ln = np.asarray(lines)
    no_year = np.flatnonzero(np.asarray(needs_year))
    if no_year.size:
        message = f"time {tokens[no_year[0]]!r} has no year: give the campaign year (--year)"
        diags.append(grouped("TIM002", Severity.ERROR, message, ln[no_year]))
    for i in np.flatnonzero(inv)[:_MAX_FINDINGS_PER_CODE]:
        message = f"{tokens[i][:40]!r} is not a valid time"
        diags.append(error("TIM001", message, int(ln[i]), 1))
    return diags
