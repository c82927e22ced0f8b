"""Subsets of a large header-format file read in bounded chunks of rows.

The file is read from disk a chunk of rows at a time (the header, then about `CHUNK_BYTES`
of whole lines); each chunk is parsed as a small file of its own (the same header followed
by those rows), subset by time, box and variables, and only the kept rows stay. Memory is
bounded by one parsed chunk plus the subset, not by the file: a box or a few variables out
of a 1 GB original cost tens of MB, not gigabytes.

What the result keeps, so that writers give the same bytes as a whole-file read and subset:
- the file's header and original header text, its feature type, values and quality flags;
- each numeric column's decimals: the most over every chunk of the file, the kept ones and
  the dropped ones (a whole-file read samples its first and last rows and widens until
  every value fits; the chunks see at least those rows, so a column whose written precision
  is uniform, as instruments write it, gets the same decimals).

`stream_subset` returns None (the caller reads the file whole) when the file is not one a
chunked read gives exactly: a chunk that is not valid on its own, column kinds (number or
text) that differ between chunks, or times that run backwards across a chunk boundary.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import re
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO

from formats.model import Column, ColumnKind, DataFile
from formats.timeparse import CampaignTime

logger = logging.getLogger(__name__)

CHUNK_BYTES = 4 * 1024 * 1024
"""Rows read and parsed at a time (about 65,000 rows of an 8-column file)."""
MAX_HEADER_BYTES = 1024 * 1024
_MARKER = re.compile(rb"^\s*##\s*END\s+OF\s+HEADER\s*##\s*$", re.IGNORECASE)


class _NotStreamable(Exception):
    """The file cannot be read exactly in chunks; the caller reads it whole."""


def header_end(handle: BinaryIO) -> int | None:
    """Offset just after the end-of-header marker, the names line and the units line (where
    the first row starts), read from the handle's start; None when no marker is near it."""
    handle.seek(0)
    while handle.tell() < MAX_HEADER_BYTES:
        line = handle.readline()
        if not line:
            break
        if _MARKER.match(line.rstrip(b"\r\n")):
            if not (handle.readline() and handle.readline()):
                break
            return handle.tell()
    return None


def _read_head(handle: BinaryIO) -> bytes:
    """The header, the names line and the units line (everything before the first row)."""
    end = header_end(handle)
    if end is None:
        raise _NotStreamable("no header marker near the start")
    handle.seek(0)
    head = handle.read(end)
    return head if head.endswith(b"\n") else head + b"\n"


def iter_row_chunks(
    path: Path, chunk_bytes: int = CHUNK_BYTES, rows: tuple[int, int] | None = None
) -> Iterator[bytes]:
    """Small header-format files: the file's header followed by about `chunk_bytes` of its
    rows, cut at line ends, until every row has been given once; only the rows in the byte
    range `rows` (first, last: offsets of line starts) when it is given."""
    with path.open("rb") as handle:
        head = _read_head(handle)
        if rows is not None:
            handle.seek(rows[0])
        left = None if rows is None else rows[1] - rows[0]
        rest = b""
        while True:
            size = chunk_bytes if left is None else min(chunk_bytes, left)
            block = handle.read(size) if size > 0 else b""
            if left is not None:
                left -= len(block)
            if not block:
                break
            cut = block.rfind(b"\n")
            if cut < 0:
                rest += block
                continue
            lines, rest = rest + block[: cut + 1], block[cut + 1 :]
            if lines.strip():
                yield head + lines
        if rest.strip():
            yield head + rest


def stream_subset(
    path: Path,
    campaign: CampaignTime | None,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    bbox: tuple[float, float, float, float] | None = None,
    variables: Sequence[str] | None = None,
    filename: str | None = None,
    check_first: Callable[[DataFile], None] | None = None,
    chunk_bytes: int = CHUNK_BYTES,
    rows: tuple[int, int] | None = None,
) -> DataFile | None:
    """The subset of the header-format file at `path`, read chunk by chunk; None when the
    file must be read whole (see the module docstring). `check_first` is called with the
    first chunk's DataFile (e.g. to refuse unknown variables before reading further);
    `rows` limits the reading to a byte range of rows (a time window found beforehand). A
    subset with no rows has `row_count == 0`; with no subset asked, the whole file is read
    in chunks (a conversion then never holds the file's text beside its arrays)."""
    try:
        return _stream(
            path,
            campaign,
            (start, end, bbox, variables),
            filename,
            check_first,
            lambda: iter_row_chunks(path, chunk_bytes, rows),
        )
    except _NotStreamable as err:
        logger.info("reading %s whole: %s", path.name, err)
        return None


_Wanted = tuple[
    datetime | None, datetime | None, tuple[float, float, float, float] | None, Sequence[str] | None
]


def _stream(
    path: Path,
    campaign: CampaignTime | None,
    wanted: _Wanted,
    filename: str | None,
    check_first: Callable[[DataFile], None] | None,
    chunks: Callable[[], Iterator[bytes]],
) -> DataFile:
    import numpy as np

    from formats.registry import validate
    from formats.subset import subset

    kept: list[DataFile] = []
    first: DataFile | None = None
    kinds: list[ColumnKind] | None = None
    decimals: dict[str, list[int | None]] = {}
    last_time: Any = None
    start, end, bbox, variables = wanted
    del path
    for data in chunks():
        report = validate(data, campaign=campaign, filename=filename)
        part = report.datafile
        if part is None:
            raise _NotStreamable("a chunk is not valid on its own")
        if first is None:
            first = part
            kinds = [c.kind for c in part.columns]
            if check_first is not None:
                check_first(part)
        if [c.kind for c in part.columns] != kinds:
            raise _NotStreamable("column kinds differ between chunks")
        times = part.time.values
        if last_time is not None and times.size and times[0] < last_time:
            raise _NotStreamable("times run backwards across chunks")
        if times.size:
            last_time = times[-1]
        for col in part.columns:
            decimals.setdefault(col.name, []).append(col.decimals)
        piece = subset(part, start=start, end=end, bbox=bbox, variables=variables)
        if piece.row_count:
            kept.append(piece)
        del part, report, piece
        _release_freed_memory()
    if first is None:
        raise _NotStreamable("no data rows")
    template = subset(first, start=start, end=end, bbox=bbox, variables=variables)
    columns = []
    for j, col in enumerate(template.columns):
        # One column at a time, dropping the chunks' copies as it goes: the peak is the
        # subset plus one column, not twice the subset.
        parts = [p.columns[j] for p in kept]
        for p in kept:
            p.columns[j] = col
        values = np.concatenate([c.values for c in parts]) if parts else col.values[:0]
        quality = None
        if any(c.quality is not None for c in parts):
            quality = np.concatenate(
                [
                    c.quality if c.quality is not None else np.zeros(len(c.values), np.int8)
                    for c in parts
                ]
            )
        del parts
        _release_freed_memory()
        columns.append(
            dataclasses.replace(
                col, values=values, quality=quality, decimals=_widest(decimals[col.name])
            )
        )
    return _assemble(template, columns)


def _release_freed_memory() -> None:
    """Give the chunk's freed heap back to the system (glibc keeps freed blocks of up to
    32 MB in the heap, so a chunked read would otherwise peak near a whole-file read)."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("c")
    try:
        trim: Callable[[int], int] = ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError, TypeError):
        return None  # not glibc: nothing to do
    return trim


def _widest(found: list[int | None]) -> int | None:
    """The most decimals of a column over every chunk (None when any chunk had none)."""
    if any(d is None for d in found):
        return None
    return max(d for d in found if d is not None)


def _assemble(template: DataFile, columns: list[Column]) -> DataFile:
    from formats.extent import compute_extent

    result = dataclasses.replace(template, columns=columns)  # the time column stays first
    result.extent = compute_extent(result)
    return result
