"""The data block of the header format, read vectorised (the fast path).

The whole block goes through pandas' C parser in one call and the time column is cut out of
the raw bytes as a fixed-width matrix. Any surprise (a short or long row, a word in a numeric
column, nan/inf, a blank line, a time of another width) makes the fast path give up, and the
line-by-line pass in `header_rows` produces the exact findings instead.
"""

from __future__ import annotations

import csv
import io
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from formats.header_keys import NUMBER_RE
from formats.header_text import warning
from formats.model import ColumnKind, Diagnostic, Quality, Severity
from formats.timeparse import CampaignTime, datetime_to_datetime64, parse_time_matrix

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

logger = logging.getLogger(__name__)

_WHITESPACE = (32, 9, 13, 10)
_SAMPLE_ROWS = 200
_THREAD_MIN_BYTES = 1 << 20
_MAX_DECIMALS = 15


@dataclass
class Layout:
    """What the header says about the data block."""

    names: list[str]
    units: list[str]
    string_columns: set[int]
    """Columns whose unit marks an id (`NUMBER`, `ID`)."""
    first_line: int
    offset: int
    skip_lines: int
    """Physical lines before the data block (for readers that take a path)."""


@dataclass
class DataBlock:
    """The rows, column by column, and the line each row came from."""

    times: npt.NDArray[Any]
    time_decimals: int
    values: list[npt.NDArray[Any]]
    kinds: list[ColumnKind]
    decimals: list[int | None]
    lines: npt.NDArray[np.int64]
    diagnostics: list[Diagnostic] = field(default_factory=list)
    non_numeric: list[int] | None = None
    """Per data column, how many tokens were not numbers (None: every numeric column read
    as numbers). The chunked reader decides string columns from the totals."""
    nan_inf: list[int] | None = None
    """Per data column, how many of those were nan/inf (which keep a column numeric)."""


def grouped(
    code: str, severity: Severity, message: str, lines: npt.NDArray[Any], col: int = 1
) -> Diagnostic:
    """One finding standing for the same problem on each of `lines`."""
    count = int(lines.size)
    first, last = int(lines[0]), int(lines[-1])
    return Diagnostic(
        code=code,
        severity=severity,
        message=message,
        line=first,
        col=col,
        last_line=last if count > 1 else None,
        count=count,
    )


def _row_starts(buf: npt.NDArray[np.uint8]) -> tuple[Any, Any, bool]:
    import numpy as np

    newlines = np.flatnonzero(buf == 10)
    ends_nl = bool(buf.size) and buf[-1] == 10
    if ends_nl:
        starts = np.concatenate(([0], newlines[:-1] + 1))
        ends = newlines
    else:
        starts = np.concatenate(([0], newlines + 1))
        ends = np.concatenate((newlines, [buf.size]))
    return starts, ends, ends_nl


def _time_matrix(buf: npt.NDArray[np.uint8], starts: Any, ends: Any) -> Any | None:
    import numpy as np

    first_end = int(ends[0])
    head = buf[: first_end + 1]
    ws = np.flatnonzero(np.isin(head, _WHITESPACE))
    if ws.size == 0:
        return None
    width = int(ws[0])
    if width == 0 or np.any(ends - starts <= width):
        return None
    after = buf[starts + width]
    if not np.all((after == 32) | (after == 9)):
        return None
    # One gather of fixed-width windows, then column-major so each character position is
    # one contiguous array for the checks in timeparse.
    windows = np.lib.stride_tricks.sliding_window_view(buf, width)
    mat = np.asfortranarray(windows[starts])
    if bool((mat <= 32).any()):
        return None
    return mat


@dataclass
class _TableSource:
    """Where pandas reads the rows from: the file itself (may read in parallel) or bytes."""

    data: bytes
    offset: int
    end: int
    path: Path | None
    skip: int

    def open(self) -> Any:
        """A path or a fresh byte stream for pandas."""
        if self.path is not None:
            return str(self.path)
        return io.BytesIO(memoryview(self.data)[self.offset : self.end])


def _read_table(
    source: _TableSource, ncols: int, string_columns: set[int], time_digits: bool
) -> Any | None:
    """The rows as a DataFrame, or None if pandas cannot read them as declared.

    A single-space separator is tried first when the block has no TAB: pandas' C tokenizer
    is about twice as fast with it as with its whitespace-regex mode. Two spaces in a row or
    a trailing space give an empty field, which fails the number check or the empty-string
    check below, and the whitespace mode reads the block instead.
    """
    import numpy as np
    import pandas as pd

    dtypes: dict[int, Any] = {i: np.float64 for i in range(1, ncols)}
    dtypes.update({i: object for i in string_columns})
    dtypes[0] = np.float64 if time_digits else object
    has_tab = source.data.find(b"\t", source.offset, source.end) >= 0
    for sep in (r"\s+",) if has_tab else (" ", r"\s+"):
        try:
            table = pd.read_csv(
                source.open(),
                sep=sep,
                header=None,
                skiprows=source.skip,
                dtype=dtypes,
                na_filter=False,
                quoting=csv.QUOTE_NONE,
                engine="c",
            )
        except (ValueError, pd.errors.ParserError, UnicodeDecodeError, OverflowError, KeyError):
            continue
        if table.shape[1] != ncols:
            continue
        if sep == " " and any((table[i].to_numpy() == "").any() for i in string_columns):
            continue
        return table
    return None


def _row_times(
    buf: npt.NDArray[np.uint8], campaign: CampaignTime | None, base: datetime | None
) -> tuple[Any, Any, bool] | None:
    """Row starts, parsed times and whether the block ends with a line break (None: decline)."""
    import numpy as np

    starts, ends, ends_nl = _row_starts(buf)
    if (buf[starts] <= 32).any():
        return None
    mat = _time_matrix(buf, starts, ends)
    if mat is None:
        return None
    lengths = np.full(mat.shape[0], mat.shape[1], dtype=np.int64)
    times = parse_time_matrix(mat, lengths, campaign, base)
    if times.invalid.any():
        return None
    return starts, times, ends_nl


def fast_block(
    data: bytes,
    layout: Layout,
    campaign: CampaignTime | None,
    base: datetime | None,
    path: Path | None = None,
    end: int | None = None,
) -> DataBlock | None:
    """Read the data block (up to `end`) vectorised, or None when it needs the exact pass."""
    import numpy as np

    ncols = len(layout.names)
    end = len(data) if end is None else end
    buf = np.frombuffer(data, dtype=np.uint8)[layout.offset : end]
    if buf.size == 0:
        return None
    first_token = data[layout.offset : layout.offset + 64].split(None, 1)[0]
    time_digits = not first_token.strip(b"0123456789.")
    if path is not None and time_digits and end == len(data):
        source = _TableSource(data, layout.offset, end, path, layout.skip_lines)
    else:
        source = _TableSource(data, layout.offset, end, None, 0)
    args = (source, ncols, layout.string_columns, time_digits)
    if buf.size < _THREAD_MIN_BYTES:
        row_times, table = _row_times(buf, campaign, base), _read_table(*args)
    else:
        # pandas releases the GIL while it parses; the time column is cut meanwhile.
        with ThreadPoolExecutor(max_workers=1) as pool:
            pending = pool.submit(_read_table, *args)
            row_times = _row_times(buf, campaign, base)
            table = pending.result()
    if row_times is None or table is None:
        return None
    starts, times, ends_nl = row_times
    if table.shape != (starts.size, ncols):
        return None
    values, kinds = _columns_from_table(table, ncols, layout.string_columns)
    if values is None:
        return None
    decimals = _sampled_decimals(data, layout.offset, end, values, kinds)
    lines = layout.first_line + np.arange(starts.size, dtype=np.int64)
    block = DataBlock(times.values, times.decimals, values, kinds, decimals, lines)
    if not ends_nl and end == len(data):
        block.diagnostics.append(_no_final_newline(int(lines[-1])))
    return block


def _no_final_newline(line: int) -> Diagnostic:
    return warning("DAT006", "the last line has no line break (the upload may be cut off)", line)


def _columns_from_table(
    table: Any, ncols: int, string_columns: set[int]
) -> tuple[Any, list[ColumnKind]]:
    import numpy as np

    values: list[Any] = []
    kinds: list[ColumnKind] = []
    for i in range(1, ncols):
        series = table[i]
        if i in string_columns:
            arr = series.to_numpy(dtype=object)
            if i == ncols - 1 and (series.isna().any() or (arr == "").any()):
                return None, kinds
            values.append(arr)
            kinds.append(ColumnKind.STRING)
            continue
        arr = series.to_numpy(dtype=np.float64)
        if not np.isfinite(arr).all():
            return None, kinds
        values.append(arr)
        kinds.append(ColumnKind.NUMBER)
    return values, kinds


def token_decimals(token: str) -> int | None:
    """Decimals written in a numeric token (None for exponent notation)."""
    if "e" in token or "E" in token:
        return None
    dot = token.find(".")
    return 0 if dot < 0 else len(token) - dot - 1


def _sampled_decimals(
    data: bytes, offset: int, end: int, values: list[Any], kinds: list[ColumnKind]
) -> list[int | None]:
    """Decimals from the tokens of the first and last rows, widened until every value fits."""
    seen: list[int | None] = [0] * len(values)
    for row in _sample_rows(data, offset, end):
        tokens = row.split()
        for i, token in enumerate(tokens[1 : len(values) + 1]):
            if kinds[i] is not ColumnKind.NUMBER or seen[i] is None:
                continue
            dec = token_decimals(token)
            seen[i] = None if dec is None else max(dec, seen[i] or 0)
    result: list[int | None] = []
    for i, arr in enumerate(values):
        if kinds[i] is not ColumnKind.NUMBER:
            result.append(None)
            continue
        result.append(widen_decimals(arr, seen[i]))
    return result


def widen_decimals(arr: npt.NDArray[Any], decimals: int | None) -> int | None:
    """The least decimals >= `decimals` that write every value of `arr` back exactly."""
    import numpy as np

    if decimals is None or arr.size == 0:
        return decimals
    with np.errstate(invalid="ignore"):
        peak = max(abs(float(np.nanmin(arr))), abs(float(np.nanmax(arr))), 1.0)
        scaled = np.empty_like(arr)
        rounded = np.empty_like(arr)
        for dec in range(decimals, _MAX_DECIMALS + 1):
            scale = 10.0**dec
            # Tolerance: a few units in the last place of the largest scaled value.
            tolerance = max(1e-6, peak * scale * 1e-15)
            np.multiply(arr, scale, out=scaled)
            np.rint(scaled, out=rounded)
            np.subtract(scaled, rounded, out=scaled)
            np.abs(scaled, out=scaled)
            if not (scaled > tolerance).any():
                return dec
    return None


def _sample_rows(data: bytes, offset: int, end: int) -> list[str]:
    head = data[offset : min(end, offset + 64 * 1024)].split(b"\n")[:-1][:_SAMPLE_ROWS]
    tail = data[max(offset, end - 64 * 1024) : end].split(b"\n")[1:][-_SAMPLE_ROWS:]
    return [row.decode("utf-8", "replace") for row in head + tail if row.strip()]


def is_number(token: str) -> bool:
    """True for the float grammar FORMAT.md accepts (no nan/inf, no '_' separators)."""
    return NUMBER_RE.fullmatch(token) is not None


def check_row_times(
    block: DataBlock, start: datetime | None, stop: datetime | None
) -> list[Diagnostic]:
    """Rows out of order (error), repeated (warning), and outside FILE START/STOP (error)."""
    import numpy as np

    diags: list[Diagnostic] = []
    times, lines = block.times, block.lines
    ok = ~np.isnat(times)
    t, ln = times[ok].astype(np.int64), lines[ok]
    if t.size > 1:
        step = np.diff(t)
        back = np.flatnonzero(step < 0) + 1
        if back.size:
            message = "time is earlier than the row before it"
            diags.append(grouped("TIM003", Severity.ERROR, message, ln[back]))
        same = np.flatnonzero(step == 0) + 1
        if same.size:
            message = "time is the same as the row before it"
            diags.append(grouped("TIM004", Severity.WARNING, message, ln[same]))
    if start is not None:
        early = ln[t < datetime_to_datetime64(start).astype(np.int64)]
        if early.size:
            message = f"row time is before FILE START TIME {start:%Y-%m-%dT%H:%M:%SZ}"
            diags.append(grouped("TIM005", Severity.ERROR, message, early))
    if stop is not None:
        late = ln[t > datetime_to_datetime64(stop).astype(np.int64)]
        if late.size:
            message = f"row time is after FILE STOP TIME {stop:%Y-%m-%dT%H:%M:%SZ}"
            diags.append(grouped("TIM006", Severity.ERROR, message, late))
    return diags


def apply_sentinels(
    values: npt.NDArray[Any], missing: float | None, bad: float | None
) -> tuple[npt.NDArray[Any], npt.NDArray[np.int8] | None]:
    """Sentinels become NaN, with `Quality` codes so what the PI wrote is not lost."""
    import numpy as np

    quality = None
    for sentinel, flag in ((missing, Quality.MISSING), (bad, Quality.BAD)):
        if sentinel is None:
            continue
        hit = values == sentinel
        if hit.any():
            if quality is None:
                quality = np.zeros(values.shape, dtype=np.int8)
                values = values.copy()
            quality[hit] = flag
            values[hit] = np.nan
    return values, quality
