"""The campaign header format: sniffer and reader/validator (FORMAT.md in full).

The reader checks the text, reads the `KEY = value` header, the names and units lines, and
the data block (vectorised, with a line-by-line pass for exact findings when needed), then
builds the `DataFile`: safe names, canonical units, sentinels as NaN plus quality flags,
feature type and extent. The writer lives in `header_writer`.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path

from formats.extent import compute_extent, feature_type, position_columns
from formats.header_chunks import chunked_block
from formats.header_data import (
    DataBlock,
    Layout,
    apply_sentinels,
    check_row_times,
    fast_block,
)
from formats.header_keys import HeaderSection, build_header, split_header
from formats.header_text import BOM, check_text, error, iter_lines, warning
from formats.header_writer import write_header
from formats.limits import DEFAULT_LIMITS, Limits, too_many_columns
from formats.model import (
    Column,
    ColumnKind,
    DataFile,
    Diagnostic,
    Extent,
    FeatureType,
    Severity,
)
from formats.names import collisions, safe_names
from formats.timeparse import CampaignTime
from formats.units import TIME_UNIT, canonical_unit, is_string_unit

logger = logging.getLogger(__name__)

__all__ = ["read_header", "sniff_header", "write_header"]

_KEY_LINE = re.compile(rb"^[ \t]*[A-Za-z][A-Za-z0-9 ()_/.\-]{0,60}=", re.MULTILINE)
_NON_SPACE = re.compile(rb"\S")
_MARKER_HINT = re.compile(rb"END[ \t]*OF[ \t]*HEADER", re.IGNORECASE)


def sniff_header(head: bytes) -> int:
    """How sure we are that `head` starts a campaign header-format file (0: not at all)."""
    if head.startswith(BOM):
        head = head[len(BOM) :]
    if _MARKER_HINT.search(head):
        return 3
    first = head.lstrip()[:200]
    if _KEY_LINE.match(first):
        return 2
    return 0


@dataclass
class _Names:
    layout: Layout
    names_line: int
    units_line: int


def _names_and_units(
    data: bytes, section: HeaderSection, diags: list[Diagnostic], limits: Limits = DEFAULT_LIMITS
) -> _Names | None:
    assert section.marker_line is not None
    lines = iter_lines(data, section.data_offset, section.marker_line + 1)
    found = []
    for lineno, nxt, text in lines:
        found.append((lineno, nxt, text.split()))
        if len(found) == 2:
            break
    if not found or not found[0][2]:
        line = found[0][0] if found else section.marker_line + 1
        diags.append(error("COL001", "the line of column names is missing", line))
        return None
    if len(found) < 2 or not found[1][2]:
        line = found[1][0] if len(found) > 1 else found[0][0] + 1
        diags.append(error("COL002", "the line of units is missing", line))
        return None
    (names_line, _, names), (units_line, offset, units) = found
    if len(names) > limits.max_columns:
        diags.append(too_many_columns(len(names), names_line, limits))
        return None
    if len(units) != len(names):
        message = f"{len(units)} units for {len(names)} columns"
        diags.append(error("COL003", message, units_line, 1))
        units = (units + ["?"] * len(names))[: len(names)]
    string_columns = {i for i, unit in enumerate(units) if i > 0 and is_string_unit(unit)}
    layout = Layout(names, units, string_columns, units_line + 1, offset, units_line)
    return _Names(layout, names_line, units_line)


def _check_names_units(names: _Names, diags: list[Diagnostic]) -> None:
    layout = names.layout
    for first, second in collisions(layout.names):
        a, b = layout.names[first], layout.names[second]
        message = f"columns {a!r} and {b!r} have the same name once made safe for NetCDF"
        diags.append(error("COL004", message, names.names_line, 1))
    if layout.units[0].upper() != TIME_UNIT:
        message = f"the time column's unit is {layout.units[0]!r}, expected UTC"
        diags.append(warning("COL006", message, names.units_line, 1))
    for i, unit in enumerate(layout.units[1:], start=1):
        if unit == "?" or is_string_unit(unit) or canonical_unit(unit) is not None:
            continue
        message = f"unknown unit {unit!r} of column {layout.names[i]} (kept as written)"
        diags.append(warning("COL005", message, names.units_line, 1))


def _has_errors(diags: list[Diagnostic]) -> bool:
    return any(d.severity is Severity.ERROR for d in diags)


def read_header(
    data: bytes,
    campaign: CampaignTime | None = None,
    *,
    path: Path | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> tuple[DataFile | None, list[Diagnostic]]:
    """Read and validate a header-format file; the DataFile is None when there are errors.

    `path`, when given, must hold exactly `data`; pandas may then read it in parallel.
    `limits` caps the header's size, the REMARKS and the number of columns.
    """
    check = check_text(data)
    diags = list(check.diagnostics)
    if check.fatal:
        return None, diags
    data = check.data
    section = split_header(data, limits)
    build_header(section, campaign, limits)
    diags.extend(section.diagnostics)
    if section.marker_line is None:
        return None, diags
    names = _names_and_units(data, section, diags, limits)
    if names is None:
        return None, diags
    _check_names_units(names, diags)
    block = _read_block(data, names.layout, campaign, section, path if not check.offset else None)
    if block is None:
        diags.append(error("DAT004", "there are no data rows", names.units_line + 1))
        return None, diags
    diags.extend(block.diagnostics)
    diags.extend(check_row_times(block, section.header.start, section.header.stop))
    if _has_errors(diags):
        return None, diags
    datafile = _build(section, names.layout, block)
    diags.extend(_location_findings(datafile))
    if _has_errors(diags):
        return None, diags
    return datafile, diags


def _read_block(
    data: bytes,
    layout: Layout,
    campaign: CampaignTime | None,
    section: HeaderSection,
    path: Path | None,
) -> DataBlock | None:
    if _NON_SPACE.search(data, layout.offset) is None:
        return None
    base = section.header.start
    block = fast_block(data, layout, campaign, base, path)
    if block is None:
        logger.debug("fast path declined; reading the data rows line by line")
        block = chunked_block(data, layout, campaign, base)
        if block.lines.size == 0 and not _has_errors(block.diagnostics):
            return None
    return block


def _build(section: HeaderSection, layout: Layout, block: DataBlock) -> DataFile:
    header = section.header
    safe = safe_names(layout.names)
    columns = [
        Column(
            original_name=layout.names[0],
            name=safe[0],
            original_unit=layout.units[0],
            unit=None,
            kind=ColumnKind.NUMBER,
            values=block.times,
            decimals=block.time_decimals,
        )
    ]
    for i, values in enumerate(block.values, start=1):
        kind = block.kinds[i - 1]
        quality = None
        if kind is ColumnKind.NUMBER:
            values, quality = apply_sentinels(values, header.missing_value, header.bad_value)
        columns.append(
            Column(
                original_name=layout.names[i],
                name=safe[i],
                original_unit=layout.units[i],
                unit=None if kind is ColumnKind.STRING else canonical_unit(layout.units[i]),
                kind=kind,
                values=values,
                quality=quality,
                decimals=block.decimals[i - 1],
            )
        )
    mobile = is_mobile(header.location)
    datafile = DataFile(
        header=header,
        columns=columns,
        source_format="header",
        feature_type=feature_type(columns, mobile),
        extent=Extent(),
        original_header=section.text,
    )
    datafile.extent = compute_extent(datafile)
    return datafile


def is_mobile(location: str) -> bool:
    """True when LOCATION says the platform moves (`mobile`)."""
    return location.strip().lower().startswith(("mobile", "moving"))


def _out_of_range(column: Column, low: float, high: float) -> list[Diagnostic]:
    import numpy as np

    values = column.values
    bad = int(np.count_nonzero((values < low) | (values > high)))
    if not bad:
        return []
    message = f"column {column.original_name}: {bad} values outside {low:g}..{high:g}"
    return [error("LOC003", message)]


def _location_findings(datafile: DataFile) -> list[Diagnostic]:
    lat, lon, _ = position_columns(datafile.columns)
    header = datafile.header
    if datafile.feature_type is FeatureType.TRAJECTORY:
        if lat is None or lon is None:
            message = "LOCATION is mobile but there are no LAT/LON columns: no spatial extent"
            return [warning("LOC001", message)]
        return _out_of_range(lat, -90.0, 90.0) + _out_of_range(lon, -180.0, 360.0)
    if header.latitude is None or header.longitude is None:
        return [warning("LOC002", "the fixed site has no coordinates: no spatial extent")]
    return []
