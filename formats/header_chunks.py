"""The data block in chunks of lines, for files the one-shot fast path declined.

Each chunk is tried vectorised first and read line by line only if it has a problem, so a
million-row file with one bad value costs one slow chunk, not a slow file, and memory stays
bounded by the chunk. Column kinds (number or string) are decided from the whole file's
counts, and chunks that guessed otherwise are read again with the file-wide kinds.
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
from datetime import datetime
from typing import Any

from formats.header_data import DataBlock, Layout, fast_block
from formats.header_rows import slow_block
from formats.model import ColumnKind
from formats.timeparse import CampaignTime, datetime64_to_datetime

logger = logging.getLogger(__name__)

CHUNK_LINES = 50_000


@dataclasses.dataclass
class _Span:
    layout: Layout
    end: int
    base: datetime | None


def chunked_block(
    data: bytes,
    layout: Layout,
    campaign: CampaignTime | None,
    base: datetime | None,
    chunk_lines: int = CHUNK_LINES,
) -> DataBlock:
    """Read the data block chunk by chunk: vectorised where clean, exact where not."""
    import numpy as np

    buf = np.frombuffer(data, dtype=np.uint8)[layout.offset :]
    newlines = np.flatnonzero(buf == 10)
    cuts = (newlines[chunk_lines - 1 :: chunk_lines] + 1 + layout.offset).tolist()
    bounds = [layout.offset, *(c for c in cuts if c < len(data)), len(data)]
    parts: list[DataBlock] = []
    spans: list[_Span] = []
    line, previous = layout.first_line, base
    for start, stop in itertools.pairwise(bounds):
        span = _Span(dataclasses.replace(layout, offset=start, first_line=line), stop, previous)
        part = fast_block(data, span.layout, campaign, previous, end=stop)
        if part is None:
            part = slow_block(data, span.layout, campaign, previous, end=stop)
        parts.append(part)
        spans.append(span)
        line += data.count(b"\n", start, stop)
        previous = _last_time(part) or previous
    kinds = _decide_kinds(parts, layout)
    for i, part in enumerate(parts):
        if part.lines.size and part.kinds != kinds:
            span = spans[i]
            parts[i] = slow_block(data, span.layout, campaign, span.base, span.end, kinds)
    return _concatenate(parts, kinds)


def _last_time(part: DataBlock) -> datetime | None:
    import numpy as np

    valid = part.times[~np.isnat(part.times)]
    return datetime64_to_datetime(valid[-1]) if valid.size else None


def _decide_kinds(parts: list[DataBlock], layout: Layout) -> list[ColumnKind]:
    """String where the unit says so, or where most tokens of the file are not numbers."""
    ncols = len(layout.names) - 1
    total = sum(int(p.lines.size) for p in parts)
    kinds = []
    for j in range(ncols):
        if j + 1 in layout.string_columns:
            kinds.append(ColumnKind.STRING)
            continue
        words = sum(p.non_numeric[j] for p in parts if p.non_numeric is not None)
        nan_inf = sum(p.nan_inf[j] for p in parts if p.nan_inf is not None)
        is_string = total > 0 and words * 2 > total and nan_inf == 0
        kinds.append(ColumnKind.STRING if is_string else ColumnKind.NUMBER)
    return kinds


def _concatenate(parts: list[DataBlock], kinds: list[ColumnKind]) -> DataBlock:
    import numpy as np

    values: list[Any] = []
    decimals: list[int | None] = []
    for j, kind in enumerate(kinds):
        dtype = object if kind is ColumnKind.STRING else np.float64
        values.append(np.concatenate([np.asarray(p.values[j], dtype=dtype) for p in parts]))
        if kind is ColumnKind.STRING:
            decimals.append(None)
            continue
        found = [p.decimals[j] for p in parts if p.lines.size]
        decimals.append(None if any(d is None for d in found) else max(found, default=0))  # type: ignore[type-var]
    return DataBlock(
        times=np.concatenate([p.times for p in parts]),
        time_decimals=max(p.time_decimals for p in parts),
        values=values,
        kinds=kinds,
        decimals=decimals,
        lines=np.concatenate([p.lines for p in parts]),
        diagnostics=[d for p in parts for d in p.diagnostics],
    )
