"""Cut a time window out of a large header-format original without reading all of it.

Rows of a valid header-format file have increasing times, so the rows inside a window are
one contiguous byte range: two binary searches over file offsets find it, and only the
header and that range are read. A 1 GB original thus yields a one-hour subset in a few
dozen seeks and memory proportional to the subset, not to the file.
"""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

from catalog.errors import InvalidQueryError
from formats.header_stream import header_end
from formats.timeparse import CampaignTime, TimeValueError, parse_time

logger = logging.getLogger(__name__)

MIN_WINDOWED_SIZE = 8 * 1024 * 1024
"""Smaller originals are read whole: the saving would not be worth a second code path."""


class _Unsliceable(Exception):
    """The file does not look as expected; the caller reads it whole instead."""


def _header_end(handle: BinaryIO) -> int:
    """Offset just after the marker, the names line and the units line."""
    end = header_end(handle)
    if end is None:
        raise _Unsliceable("no header marker near the start")
    return end


def _row_time(handle: BinaryIO, offset: int, floor: int, campaign: CampaignTime) -> datetime | None:
    """Time of the first row starting at or after `offset` (None past the last row)."""
    handle.seek(max(offset - 1, floor))
    if offset > floor:
        handle.readline()  # finish the line `offset - 1` is in
    while line := handle.readline():
        token = line.split(None, 1)[0] if line.strip() else b""
        if token:
            try:
                return parse_time(token.decode("ascii"), campaign)
            except (TimeValueError, UnicodeDecodeError) as err:
                raise _Unsliceable(f"unreadable row time: {err}") from err
    return None


def _line_start(handle: BinaryIO, offset: int, floor: int) -> int:
    handle.seek(max(offset - 1, floor))
    if offset > floor:
        handle.readline()
    return handle.tell()


def _first_offset(
    handle: BinaryIO, lo: int, hi: int, campaign: CampaignTime, after: datetime, strict: bool
) -> int:
    """Start of the first row whose time is >= `after` (> when `strict`)."""
    floor = lo
    while lo < hi:
        mid = (lo + hi) // 2
        when = _row_time(handle, mid, floor, campaign)
        if when is None or (when > after if strict else when >= after):
            hi = mid
        else:
            lo = mid + 1
    return _line_start(handle, lo, floor)


def window_rows(
    path: Path, start: datetime | None, end: datetime | None, campaign: CampaignTime
) -> tuple[int, int] | None:
    """Byte range (first, last) of the rows within [start, end], or None when the file
    should be read whole (small, no window asked, or not sliceable)."""
    if start is None and end is None:
        return None
    size = path.stat().st_size
    if size < MIN_WINDOWED_SIZE:
        return None
    try:
        with path.open("rb") as handle:
            data_start = _header_end(handle)
            first = data_start
            if start is not None:
                first = _first_offset(handle, data_start, size, campaign, start, strict=False)
            last = size
            if end is not None:
                last = _first_offset(handle, first, size, campaign, end, strict=True)
    except _Unsliceable as err:
        logger.info("reading %s whole: %s", path.name, err)
        return None
    if last <= first:
        raise InvalidQueryError("no rows of this dataset fall inside the requested subset")
    return first, last


def read_window(
    path: Path, start: datetime | None, end: datetime | None, campaign: CampaignTime
) -> bytes | None:
    """Header plus the rows within [start, end], or None when the file should be read whole."""
    rows = window_rows(path, start, end, campaign)
    if rows is None:
        return None
    first, last = rows
    with path.open("rb") as handle:
        try:
            data_start = _header_end(handle)
        except _Unsliceable:
            return None
        handle.seek(0)
        header = handle.read(data_start)
        handle.seek(first)
        body = handle.read(max(0, last - first))
    if header and not header.endswith(b"\n"):
        header += b"\n"
    return header + body
