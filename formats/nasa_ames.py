"""NASA Ames reader (Gaines and Hipskind 1998): every FFI nappy reads, 1001 to 4010.

Values are whitespace separated and may wrap across lines, so the data block is read as one
stream of numbers cut into records (`formats.nasa_ames_blocks`); multi-dimensional FFIs
become one row per grid point with each independent variable a column (`DataFile.bounded`).
Header lines may carry a trailing `{...}` annotation (nappy, BADC, NCAR), stripped as nappy
strips it. Scale factors apply to values, never to the missing sentinels, which become NaN
with `Quality.MISSING`. The time axis is read from the independent variable's name and units
(`formats.time_axis`: seconds, minutes, hours or days since the line-7 date or a stated
epoch); when no independent variable is a time, every row takes the file's date and the
variables stay ordinary columns. Variable lines are `Name (unit)` or EBAS descriptors
(`name, unit, key=value, ...`, `formats.descriptors`). The header is parsed in
`formats.nasa_ames_header`.
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from formats.descriptors import parse_descriptor, strip_annotation
from formats.limits import DEFAULT_LIMITS, Limits, header_lines_too_big
from formats.model import (
    Column,
    ColumnKind,
    DataFile,
    Diagnostic,
    FeatureType,
    Header,
    Quality,
    Severity,
)
from formats.names import safe_name, unique_names
from formats.nasa_ames_header import DIMENSIONS, Head, HeadError, Var, parse_head
from formats.neighbours import (
    column_unit,
    decode_text,
    fixed_site,
    has_vertical_profile,
    position_extent,
    site_altitude,
)
from formats.time_axis import TimeAxis, resolve_epoch, time_axis
from formats.timeparse import CampaignTime

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

logger = logging.getLogger(__name__)

SUPPORTED_FFI = tuple(DIMENSIONS)
MAX_SPAN_S = 100 * 366 * 86400.0
"""A time offset beyond a century from its epoch is not a time (and would overflow)."""

_DIMENSIONLESS = frozenset(
    {"number", "count", "counts", "factor", "fraction", "ratio", "efficiency", "index", "flag"}
)
_FIRST_LINE = re.compile(rb"^\s*(\d+)[ \t,]+(\d{4})[ \t]*(?:\{[^\r\n{}]*\})?[ \t]*\r?\n")


def sniff_nasa_ames(head: bytes) -> int:
    """80 when the first line is `NLHEAD FFI` (a trailing `{...}` annotation allowed) and
    the FFI is one of the specification's, 40 for another FFI-like number, 70 when one
    preamble line comes first (NDACC), else 0."""
    match = _FIRST_LINE.match(head)
    score = 80
    if match is None:
        second = head.find(b"\n") + 1
        match = _FIRST_LINE.match(head[second:]) if second else None
        score = 70
    if match is None or b"," in match.group(0).split(b"{")[0]:
        return 0
    return score if int(match.group(2)) in DIMENSIONS else 40


def _preamble(lines: list[str]) -> int:
    """Lines before `NLHEAD FFI` (NDACC files put one there; nappy's ignore_header_lines)."""
    first_fits = bool(lines) and _FIRST_LINE.match((lines[0] + "\n").encode()) is not None
    if not first_fits and len(lines) > 1 and _FIRST_LINE.match((lines[1] + "\n").encode()):
        return 1
    return 0


def read_nasa_ames(
    data: bytes, campaign: CampaignTime | None, *, limits: Limits = DEFAULT_LIMITS
) -> tuple[DataFile | None, list[Diagnostic]]:
    """Read NASA Ames bytes into a `DataFile` (None when there are errors) and findings;
    `limits` caps the header's size, the variables and the comment lines."""
    from formats.nasa_ames_blocks import decode_block

    text, diagnostics = decode_text(data)
    if text is None:
        return None, diagnostics
    preamble, lines, body = _split(text)
    too_big = header_lines_too_big(lines, len(lines), limits)
    if too_big is not None:
        return None, [*diagnostics, too_big]
    try:
        head = parse_head(lines, limits)
    except HeadError as bad:
        return None, [*diagnostics, _error(bad.code, str(bad), bad.line)]
    block, findings = decode_block(head, body)
    if block is None:
        return None, [*diagnostics, *findings]
    if block.rows == 0:
        last = head.nlhead + body.count("\n") + 1
        return None, [*diagnostics, _error("FMT003", "the file has no data", last)]
    header_text = "".join(line + "\n" for line in [*preamble, *lines[: head.nlhead]])
    try:
        datafile = _datafile(head, block, header_text)
        if preamble:
            datafile.header.extra["PREAMBLE"] = preamble[0].strip()
    except HeadError as bad:
        return None, [*diagnostics, _error(bad.code, str(bad), bad.line)]
    return datafile, [*diagnostics, *_unit_warnings(datafile)]


def _split(text: str) -> tuple[list[str], list[str], str]:
    """Preamble lines, header lines and the data block as one text: the block is never cut
    into lines unless its numbers cannot be read at once (a 100 MB block costs no list)."""
    top = [line.rstrip("\r") for line in text.split("\n", 2)[:2]]
    skipped = _preamble(top)
    try:
        nlhead = int(top[skipped].split()[0])
    except (IndexError, ValueError):
        lines = text.splitlines()
        return lines[:skipped], lines[skipped:], ""
    parts = text.split("\n", skipped + max(nlhead, 1))
    lines = [line.rstrip("\r") for line in parts[: skipped + max(nlhead, 1)]]
    body = parts[-1] if len(parts) > skipped + max(nlhead, 1) else ""
    return lines[:skipped], lines[skipped:], body


def _unit_warnings(datafile: DataFile) -> list[Diagnostic]:
    """A warning for each unit that maps to no UDUNITS unit (kept as `original_units`)."""
    found = []
    for column in datafile.data_columns:
        if column.unit is None and column.original_unit and column.kind is ColumnKind.NUMBER:
            msg = (
                f"unit {column.original_unit!r} of {column.original_name} is not a UDUNITS"
                " unit; it is kept as original_units"
            )
            found.append(Diagnostic("FMT007", Severity.WARNING, msg))
    return found


def _error(code: str, message: str, line: int) -> Diagnostic:
    return Diagnostic(code=code, severity=Severity.ERROR, message=message, line=line)


def _unit(name: str, unit: str, reference: datetime) -> str | None:
    """Canonical unit; a time-like unit (`days from file reference point`) becomes CF
    `days since <reference>` so the values keep their meaning without conversion."""
    canonical = column_unit(name, unit)
    if canonical is not None:
        return canonical
    words = set(re.findall(r"[a-z]+", name.lower()))
    if not unit:
        # A count, factor or version written without a unit is a number of dimension 1.
        return "1" if words & _DIMENSIONLESS else None
    if unit.strip().upper() in ("UT", "UTC", "GMT") and len(words) == 1:
        return column_unit("", name)  # `Hours (UT)`: hours of a UT time of day

    axis = time_axis(unit)
    if axis is not None and any(w in unit.lower() for w in ("from", "since", "after")):
        return axis.cf_units(reference)
    return None


def _column(var: Var, raw: npt.NDArray[Any], reference: datetime) -> Column:
    import numpy as np

    found = parse_descriptor(var.text)
    name, unit = found.name, found.unit
    attrs = {"long_name": " ".join(strip_annotation(var.text).split())}
    attrs.update({f"ebas_{safe_name(k).lower()}": v for k, v in found.attributes.items()})
    if raw.dtype.kind in "OUS":
        if var.missing_text is not None:
            attrs["nasa_ames_missing_value"] = var.missing_text
        return Column(name, safe_name(name), unit, None, ColumnKind.STRING, raw, attributes=attrs)
    missing = raw == var.missing if var.missing is not None else np.zeros(len(raw), bool)
    values = raw * var.scale if var.scale != 1.0 else raw.copy()
    values[missing] = np.nan
    quality = missing.astype(np.int8) * np.int8(Quality.MISSING)
    if var.missing is not None:
        attrs["nasa_ames_missing_value"] = repr(var.missing)
    if var.scale != 1.0:
        attrs["nasa_ames_scale_factor"] = repr(var.scale)
    return Column(
        original_name=name,
        name=safe_name(name),
        original_unit=unit,
        unit=_unit(name, unit, reference),
        kind=ColumnKind.NUMBER,
        values=values,
        quality=quality if bool(missing.any()) else None,
        attributes=attrs,
    )


def _time_index(head: Head) -> tuple[int | None, TimeAxis | None]:
    """Which independent variable is time (the unbounded one first), and its axis."""
    niv = len(head.independents)
    for index in [niv - 1, *range(niv - 1)]:
        name, unit = head.independents[index].name_unit
        axis = time_axis(head.independents[index].text) or time_axis(name, unit)
        if axis is not None and not (head.ffi == 2160 and index == niv - 1):
            return index, axis
    return None, None


def _times(raw: npt.NDArray[np.float64], axis: TimeAxis, reference: datetime) -> npt.NDArray[Any]:
    import numpy as np

    seconds = raw * axis.seconds
    bad = np.flatnonzero(~(np.abs(seconds) <= MAX_SPAN_S))
    if len(bad):
        msg = f"time {raw[bad[0]]:g} {axis.word} is not within a century of its epoch"
        raise HeadError(0, msg, "FMT004")
    epoch = np.datetime64(resolve_epoch(axis, reference), "ns")
    offsets = np.round(raw * (axis.seconds * 1e9)).astype(np.int64).astype("timedelta64[ns]")
    result: npt.NDArray[Any] = epoch + offsets
    return result


def _datafile(head: Head, block: Any, header_text: str) -> DataFile:
    import numpy as np

    reference = head.date.replace(tzinfo=None)
    niv = len(head.independents)
    time_at, axis = _time_index(head)
    if time_at is not None and axis is not None:
        x = head.independents[time_at]
        name, unit = x.name_unit
        times = _times(block.independent(time_at), axis, reference)
        time = Column(name or "time", "time", unit or axis.word, None, ColumnKind.NUMBER, times)
        time.attributes["time_axis"] = axis.cf_units(reference)
        if block.rows > 1 and time_at == niv - 1 and bool((np.diff(times) < 0).any()):
            raise HeadError(0, "the independent variable (time) decreases", "FMT004")
    else:
        base = np.datetime64(reference, "ns")
        time = Column("DATE", "time", "UTC", None, ColumnKind.NUMBER, np.full(block.rows, base))
        time.attributes["comment"] = "the file's DATE; no independent variable is a time"
    if niv == 1 and time_at is None and block.rows > 2:
        steps = np.diff(block.independent(0))
        if bool((steps > 0).any()) and bool((steps < 0).any()):
            raise HeadError(0, "the independent variable is not monotonic", "FMT004")
    columns = [time]
    # Every independent variable but a time that is unbounded is a dimension of its own;
    # a non-time unbounded one (altitude levels of FFI 2110) is one too.
    dimensions: dict[int, Column] = {}
    for index in [niv - 1, *range(niv - 1)]:
        if index == time_at:
            if index != niv - 1:
                dimensions[index] = time
            continue
        column = _column(head.independents[index], block.independent(index), reference)
        columns.append(column)
        if index != niv - 1 or niv > 1:
            dimensions[index] = column
    bounded_columns = [dimensions[i] for i in sorted(dimensions)]
    first_aux = len(columns)
    columns += [_column(v, block.auxiliary(i), reference) for i, v in enumerate(head.auxiliary)]
    if head.ffi in (2110, 2160, 2310):
        count = columns[first_aux]  # NX: the count of X(1) values, a number
        count.unit = count.unit or ("1" if not count.original_unit else None)
    columns += [_column(v, block.primary(i), reference) for i, v in enumerate(head.variables)]
    for column, name in zip(columns[1:], unique_names([c.name for c in columns[1:]]), strict=True):
        column.name = name
    stamps = time.values
    start = _as_datetime(stamps.min())
    stop = _as_datetime(stamps.max())
    extent, feature = position_extent(columns, start, stop)
    # A station's time series records pressure too; over time only a changing altitude
    # (a sounding) makes a profile, over a non-time axis pressure does as well.
    kinds = ("altitude",) if time_at == niv - 1 else ("air_pressure", "altitude")
    if feature is FeatureType.TIME_SERIES and (niv > 1 or has_vertical_profile(columns, kinds)):
        feature = FeatureType.PROFILE
    site = fixed_site(head.special + head.normal) if feature is not FeatureType.TRAJECTORY else None
    if site is not None:
        extent.south = extent.north = site[0]
        extent.west = extent.east = site[1]
    header = _header(head, start, stop, site)
    if site is not None:
        header.altitude = site_altitude(head.special + head.normal)
    datafile = DataFile(header, columns, "nasa_ames", feature, extent, header_text)
    datafile.bounded = [c.name for c in bounded_columns]
    return datafile


def _as_datetime(stamp: Any) -> datetime:
    import numpy as np

    micro = int(stamp.astype("datetime64[us]").astype(np.int64))
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=micro)


def _header(
    head: Head, start: datetime, stop: datetime, site: tuple[float, float, str] | None
) -> Header:
    """The `Header` a NASA Ames file maps onto (ONAME is the PI, SNAME the source)."""
    return Header(
        start=start,
        stop=stop,
        pi_name=head.oname,
        platform=head.sname,
        instrument=head.sname,
        location=site[2] if site else "",
        latitude=site[0] if site else None,
        longitude=site[1] if site else None,
        data_version=head.rdate,
        remarks=[line.strip() for line in head.special + head.normal if line.strip()],
        project=head.mname or None,
        extra={
            "FFI": str(head.ffi),
            "ORGANIZATION": head.org,
            "REVISION_DATE": head.rdate,
            "INDEPENDENT_VARIABLE": strip_annotation(head.independents[-1].text).strip(),
        },
    )
