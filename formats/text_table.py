"""Numeric tables of the neighbouring formats (ICARTT, NASA Ames) read in whole arrays.

A fast path hands the block to pandas' C parser with correctly rounded floats; only when
that path finds something wrong does a line-by-line pass run, to say which line and which
token. Both paths give the same numbers, so nothing depends on which one ran.
"""

from __future__ import annotations

import array
import io
import logging
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

from formats.model import Diagnostic, Severity

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

logger = logging.getLogger(__name__)

MAX_FINDINGS = 200
"""Line-level findings kept per file; the reporter groups them anyway."""


def _error(code: str, message: str, line: int, col: int = 0) -> Diagnostic:
    return Diagnostic(code=code, severity=Severity.ERROR, message=message, line=line, col=col)


def parse_delimited(
    lines: Sequence[str], first_line: int, ncols: int
) -> tuple[npt.NDArray[np.float64] | None, list[Diagnostic]]:
    """Comma-separated rows of `ncols` numbers (blank lines skipped) -> (rows x ncols) array.

    `first_line` is the 1-based file line number of `lines[0]`, used in findings.
    """
    import numpy as np
    import pandas as pd

    kept = [line for line in lines if line.strip()]
    if not kept:
        return np.empty((0, ncols)), []
    block = "\n".join(kept)
    if block.count(",") == len(kept) * (ncols - 1):
        try:
            frame = pd.read_csv(
                io.StringIO(block),
                header=None,
                sep=",",
                skipinitialspace=True,
                dtype=np.float64,  # pandas >= 3 parses decimals exactly by default
                engine="c",
                na_filter=False,
            )
            table = frame.to_numpy(dtype=np.float64)
            if table.shape == (len(kept), ncols) and bool(np.isfinite(table).all()):
                return table, []
        except (ValueError, OverflowError, pd.errors.ParserError):
            logger.debug("fast path failed; reading line by line for findings")
    return _slow_rows(lines, first_line, ncols, ",")


def _slow_rows(
    lines: Sequence[str], first_line: int, ncols: int, sep: str | None
) -> tuple[npt.NDArray[np.float64] | None, list[Diagnostic]]:
    """The exact pass: findings first, and rows only when there are none, straight into an
    array (a list of rows of Python floats takes ~40 bytes a value: 180 MB for a truncated
    7 MB file, and nothing of it is used when the file has errors)."""
    import numpy as np

    findings: list[Diagnostic] = []
    count = 0
    for offset, line in enumerate(lines):
        if not line.strip():
            continue
        count += 1
        finding = _row_finding(line, first_line + offset, ncols, sep)
        if finding is not None:
            findings.append(finding)
            if len(findings) >= MAX_FINDINGS:
                break
    if findings:
        return None, findings
    table = np.empty((count, ncols), dtype=np.float64)
    row = 0
    for line in lines:
        if line.strip():
            table[row] = [float(t) for t in line.split(sep)]
            row += 1
    return table, []


def _row_finding(line: str, number: int, ncols: int, sep: str | None) -> Diagnostic | None:
    tokens = [t.strip() for t in line.split(sep)]
    if len(tokens) != ncols:
        return _error("FMT004", f"{len(tokens)} values where {ncols} columns are declared", number)
    _row, bad = _floats(tokens)
    if bad is None:
        return None
    col = line.find(tokens[bad]) + 1
    return _error("FMT005", f"{tokens[bad]!r} in column {bad + 1} is not a number", number, col)


def _floats(tokens: Sequence[str]) -> tuple[list[float], int | None]:
    """Tokens as floats, or the index of the first one that is not a finite number."""
    row: list[float] = []
    for index, token in enumerate(tokens):
        try:
            value = float(token)
        except ValueError:
            return row, index
        if not math.isfinite(value):
            return row, index
        row.append(value)
    return row, None


def parse_free_format(
    lines: Sequence[str], first_line: int
) -> tuple[Sequence[float] | None, Sequence[int], list[Diagnostic]]:
    """Whitespace-separated numbers that may wrap across lines (NASA Ames) -> flat values and
    the file line number of each value (typed arrays: 8 bytes a value, not ~40)."""
    values = array.array("d")
    line_of = array.array("q")
    findings: list[Diagnostic] = []
    for offset, line in enumerate(lines):
        number = first_line + offset
        tokens = line.split()
        row, bad = _floats(tokens)
        if bad is not None:
            col = line.find(tokens[bad]) + 1
            msg = f"{tokens[bad]!r} is not a number"
            findings.append(_error("FMT005", msg, number, col))
            if len(findings) >= MAX_FINDINGS:
                break
            continue
        if findings:
            continue  # only the findings are reported now: keep no values
        values.extend(row)
        line_of.extend([number] * len(row))
    if findings:
        return None, [], findings
    return values, line_of, []
