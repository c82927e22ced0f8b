"""Caps on what a submitted file may hold, and the checks every reader shares.

The caps keep one hostile or broken file from taking a center's time and memory: a reader
never meets a line, a header or a column list bigger than these. The defaults are generous
for real files (the largest real campaign headers are a few KiB, real rows a few hundred
characters, merges a few hundred columns) and are set per center in `web.settings`
(`[limits]`). docs/limits.md explains each cap and its diagnostic code.
"""

from __future__ import annotations

import itertools
import logging
from dataclasses import dataclass

from formats.model import Diagnostic, Severity

logger = logging.getLogger(__name__)

MAX_DID = 2**63 - 1
"""DIDs are stored and written to NetCDF as signed 64-bit integers."""
MAX_DATA_VERSION_CHARS = 64
"""The catalog keeps DATA VERSION in 64 characters."""


@dataclass(frozen=True)
class Limits:
    """Caps on one file; pass `Limits()` for the defaults."""

    max_header_bytes: int = 1 << 20
    """Everything before the data block (1 MiB: ~250 times the largest real header seen)."""
    max_line_chars: int = 256 * 1024
    """One line of the file (256 KiB: a 2,000-column row of 20-character values is 40 KiB)."""
    max_columns: int = 2000
    """Column names (variables) of one file; real merges stay under a few hundred."""
    max_remarks_chars: int = 64 * 1024
    """All REMARKS (or ICARTT/NASA Ames comment lines) together: some 30 pages of text."""

    def __post_init__(self) -> None:
        for name in ("max_header_bytes", "max_line_chars", "max_columns", "max_remarks_chars"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1")


DEFAULT_LIMITS = Limits()


def _error(code: str, message: str, line: int = 0) -> Diagnostic:
    return Diagnostic(code=code, severity=Severity.ERROR, message=message, line=line, col=1)


def _may_have_long_line(data: bytes, cap: int) -> bool:
    """False when no line can be longer than `cap` bytes: every aligned block of
    `(cap + 1) // 2` bytes holds a line break, and a line of more than `cap` bytes would hold
    a whole block. One `find` (memchr) per block: a few hundred for 100 MB, not a pass
    over every newline."""
    block = max(1, (cap + 1) // 2)
    return any(data.find(b"\n", start, start + block) < 0 for start in range(0, len(data), block))


def long_line(data: bytes, limits: Limits) -> Diagnostic | None:
    """LIM002 for the first line longer than the cap, with how many more there are; None
    when every line fits.

    A pass at C speed over the newline positions; only lines longer than the cap in bytes
    have their characters counted (UTF-8 continuation bytes do not start a character).
    """
    cap = limits.max_line_chars
    if len(data) <= cap or not _may_have_long_line(data, cap):
        return None
    import numpy as np

    buf = np.frombuffer(data, dtype=np.uint8)
    ends = np.flatnonzero(buf == 10)
    starts = np.concatenate(([0], ends + 1))
    ends = np.concatenate((ends, [len(data)]))
    over = np.flatnonzero(ends - starts > cap)
    found: list[tuple[int, int]] = []
    for index in over.tolist():
        line = buf[int(starts[index]) : int(ends[index])]
        chars = int(line.size - np.count_nonzero((line & 0xC0) == 0x80))
        if chars > cap:
            found.append((index + 1, chars))
    if not found:
        return None
    (first, length), count = found[0], len(found)
    message = f"line {first:,} is {length:,} characters long; the limit is {cap:,}"
    if count == 1:
        return _error("LIM002", message, first)
    message += f" ({count - 1:,} more lines are too long)"
    return Diagnostic("LIM002", Severity.ERROR, message, first, 1, found[-1][0], count)


def header_too_big(size: int, line: int, limits: Limits) -> Diagnostic:
    """LIM001: the header (before the data block) is over the cap."""
    message = (
        f"the header is {size:,} bytes long by line {line}; the limit is "
        f"{limits.max_header_bytes:,} (is the end-of-header line missing?)"
    )
    return _error("LIM001", message, line)


def too_many_columns(count: int, line: int, limits: Limits) -> Diagnostic:
    """LIM003: more columns than the cap."""
    message = f"the file has {count:,} columns; the limit is {limits.max_columns:,}"
    return _error("LIM003", message, line)


def remarks_too_long(size: int, line: int, limits: Limits, what: str = "REMARKS") -> Diagnostic:
    """LIM004: the remarks (comments) are longer than the cap."""
    message = f"{what} hold {size:,} characters by line {line}; the limit is " + (
        f"{limits.max_remarks_chars:,}"
    )
    return _error("LIM004", message, line)


def header_lines_too_big(lines: list[str], nlhead: int, limits: Limits) -> Diagnostic | None:
    """LIM001 when the first `nlhead` lines (the header a first line declares) are over the
    header cap, at the line that passes it."""
    size = 0
    for number, line in enumerate(itertools.islice(lines, max(nlhead, 0)), start=1):
        size += len(line) + 1
        if size > limits.max_header_bytes:
            return header_too_big(size, number, limits)
    return None


def comments_too_long(comments: list[str], first_line: int, limits: Limits) -> Diagnostic | None:
    """LIM004 when comment lines (a header's remarks) hold more than the remarks cap."""
    size = 0
    for number, line in enumerate(comments, start=first_line):
        size += len(line)
        if size > limits.max_remarks_chars:
            return remarks_too_long(size, number, limits, "the comment lines")
    return None


def declared_nlhead(lines: list[str], sep: str | None) -> int:
    """The header length a first line `NLHEAD<sep>FFI` declares (0 when it declares none)."""
    if not lines:
        return 0
    token = (lines[0].split(sep, 1) or [""])[0].strip()
    # A count of header lines has a few digits; more could not be a header within the caps.
    if not (token.isascii() and token.isdigit()) or len(token) > 12:
        return 0
    return int(token)
