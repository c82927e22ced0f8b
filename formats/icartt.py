"""ICARTT reader (FFI 1001, 2110 and 2310, v1.1 and v2.0 layouts); the writer is in
`formats.icartt_writer`.

Missing values and the limit-of-detection flags (LLOD/ULOD, by default -8888 and -7777) become
NaN with a `Quality` code, so every sentinel the PI wrote survives; scale factors apply to
values, never to sentinels. The independent variable is seconds from the date's midnight
unless its name and units say otherwise (`formats.time_axis`); an early file's `Start_UTC`
with no units is read as seconds. A time that does not increase, or two variables with one
name, are errors: other ICARTT readers fail on both.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from formats.icartt_writer import KEYWORDS, write_icartt
from formats.limits import (
    DEFAULT_LIMITS,
    Limits,
    comments_too_long,
    declared_nlhead,
    header_lines_too_big,
    too_many_columns,
)
from formats.model import (
    Column,
    ColumnKind,
    DataFile,
    Diagnostic,
    FeatureType,
    FormatError,
    Header,
    Quality,
    Severity,
)
from formats.names import unique_names
from formats.neighbours import (
    column_unit,
    decode_text,
    fixed_site,
    has_vertical_profile,
    position_extent,
)
from formats.text_table import parse_delimited
from formats.time_axis import TimeAxis, resolve_epoch, time_axis
from formats.timeparse import CampaignTime

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

__all__ = ["KEYWORDS", "read_icartt", "sniff_icartt", "write_icartt"]

logger = logging.getLogger(__name__)

SUPPORTED_FFI = (1001, 2110, 2310)
MAX_SECONDS = 400 * 86400.0
"""Times are seconds from the date's midnight; beyond a year they are not times at all."""
DEFAULT_LLOD, DEFAULT_ULOD = -8888.0, -7777.0

_FIRST_LINE = re.compile(rb"^\s*(\d+)\s*,\s*(\d{4})\s*(,[^\r\n]*)?\r?\n")
_KEYWORD = re.compile(r"^\s*([A-Za-z][A-Za-z0-9_]*)\s*:\s?(.*)$")
_REVISION_KEY = re.compile(r"^R[A-Za-z0-9]{1,2}$")


class _Bad(FormatError):
    """A header defect at a line (turned into a diagnostic by the reader)."""

    def __init__(self, line: int, message: str, code: str = "FMT003") -> None:
        super().__init__(message)
        self.line = line
        self.code = code


def sniff_icartt(head: bytes) -> int:
    """90 when the first line is `NLHEAD, FFI` (comma separated), else 0."""
    return 90 if _FIRST_LINE.match(head) else 0


@dataclass
class _Var:
    name: str
    unit: str
    scale: float = 1.0
    missing: float = -9999.0
    missing_token: str = "-9999"  # noqa: S105 (a sentinel, not a secret)
    standard_name: str | None = None
    long_name: str | None = None


@dataclass
class _Head:
    """The parsed ICARTT header."""

    nlhead: int
    ffi: int
    version: str | None
    pi: str
    organization: str
    source: str
    mission: str
    volume: str
    date: datetime
    revision_date: str
    interval: str
    independent: _Var
    variables: list[_Var]
    bounded: _Var | None = None
    auxiliary: list[_Var] = field(default_factory=list)
    special: list[str] = field(default_factory=list)
    normal: list[str] = field(default_factory=list)
    keywords: dict[str, str] = field(default_factory=dict)


class _Lines:
    """A cursor over the header lines that knows the 1-based line number."""

    def __init__(self, lines: list[str], limits: Limits = DEFAULT_LIMITS) -> None:
        self.lines = lines
        self.at = 0
        self.limits = limits

    def next(self, what: str) -> str:
        if self.at >= len(self.lines):
            raise _Bad(self.at, f"the header ends before {what}")
        self.at += 1
        return self.lines[self.at - 1]

    def fields(self, what: str, count: int | None = None) -> list[str]:
        values = [v.strip() for v in self.next(what).split(",")]
        if count is not None and len([v for v in values if v]) < count:
            raise _Bad(self.at, f"{what}: expected {count} comma-separated values")
        return values

    def integer(self, what: str) -> int:
        token = self.fields(what)[0]
        try:
            return int(token)
        except ValueError:
            raise _Bad(self.at, f"{what}: {token!r} is not an integer") from None


def _var(lines: _Lines, what: str, *, unit_optional: bool = False) -> _Var:
    parts = lines.fields(what, 1 if unit_optional else 2)
    var = _Var(name=parts[0], unit=parts[1] if len(parts) > 1 else "")
    if len(parts) > 2 and parts[2]:
        var.standard_name = parts[2]
    if len(parts) > 3 and parts[3]:
        var.long_name = ", ".join(parts[3:])
    return var


def _variables(lines: _Lines, what: str) -> list[_Var]:
    count = lines.integer(f"the number of {what}")
    if count > lines.limits.max_columns:
        raise _Bad(lines.at, too_many_columns(count, lines.at, lines.limits).message, "LIM003")
    scales = lines.fields(f"the {what}' scale factors", count)[:count]
    missing = lines.fields(f"the {what}' missing values", count)[:count]
    found = [_var(lines, f"a {what[:-1]} name and unit") for _ in range(count)]
    for var, scale, miss in zip(found, scales, missing, strict=True):
        try:
            var.scale, var.missing, var.missing_token = float(scale), float(miss), miss
        except ValueError:
            msg = f"{what}: scale {scale!r} or missing {miss!r} is not a number"
            raise _Bad(lines.at, msg) from None
    return found


def _parse_head(lines: list[str], limits: Limits = DEFAULT_LIMITS) -> _Head:
    cur = _Lines(lines, limits)
    first = cur.fields("the first line (NLHEAD, FFI)", 2)
    try:
        nlhead, ffi = int(first[0]), int(first[1])
    except ValueError:
        raise _Bad(1, "the first line must be 'NLHEAD, FFI'") from None
    if ffi not in SUPPORTED_FFI:
        msg = f"ICARTT FFI {ffi} is not supported (FieldCat reads 1001, 2110 and 2310)"
        raise _Bad(1, msg, "FMT002")
    pi, org, source, mission = (cur.next(w).strip() for w in ("PI", "org", "source", "mission"))
    volume = ", ".join(cur.fields("the volume numbers", 2))
    dates = cur.fields("the dates (yyyy, mm, dd, yyyy, mm, dd)", 6)
    try:
        date = datetime(int(dates[0]), int(dates[1]), int(dates[2]), tzinfo=UTC)
    except (ValueError, OverflowError):
        raise _Bad(cur.at, f"{', '.join(dates[:3])} is not a date") from None
    interval = ", ".join(cur.fields("the data interval"))
    bounded = _var(cur, "the bounded independent variable") if ffi != 1001 else None
    head = _Head(
        nlhead, ffi, first[2] if len(first) > 2 else None, pi, org, source, mission, volume,
        date, "-".join(dates[3:6]), interval,
        _var(cur, "the independent variable", unit_optional=True), [], bounded,
    )  # fmt: skip
    head.variables = _variables(cur, "dependent variables")
    if ffi != 1001:
        head.auxiliary = _variables(cur, "auxiliary variables")
        needed = 3 if ffi == 2310 else 1
        if len(head.auxiliary) < needed:
            msg = f"FFI {ffi} needs {needed} auxiliary variable(s): NX first"
            raise _Bad(cur.at, msg)
    head.special = [cur.next("a special comment") for _ in range(cur.integer("NSCOML"))]
    head.normal = [cur.next("a normal comment") for _ in range(cur.integer("NNCOML"))]
    long_comments = comments_too_long(head.special + head.normal, 1, limits)
    if long_comments is not None:
        raise _Bad(nlhead, long_comments.message, "LIM004")
    if cur.at != nlhead:
        raise _Bad(1, f"line 1 says {nlhead} header lines but the header has {cur.at}")
    head.keywords = _keywords(head.normal[:-1])
    _check_names(head, cur.at)
    return head


def _check_names(head: _Head, line: int) -> None:
    """Two variables with one short name (ignoring case) make the file ambiguous."""
    seen: set[str] = set()
    named = [head.independent, *([head.bounded] if head.bounded else [])]
    for var in [*named, *head.variables, *head.auxiliary]:
        key = var.name.strip().lower()
        if key in seen:
            raise _Bad(line, f"the variable name {var.name!r} is used twice", "FMT006")
        seen.add(key)


def _keywords(lines: list[str]) -> dict[str, str]:
    """`KEY: value` normal comments; lines that follow a key continue its value."""
    found: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in lines:
        match = _KEYWORD.match(line)
        key = match.group(1) if match else None
        if match and key and (key in KEYWORDS or _REVISION_KEY.match(key)):
            current = found[key] = [match.group(2).strip()]
        elif current is not None:
            current.append(line.strip())  # joined once below: `+=` each line is quadratic
    return {key: "\n".join(parts) for key, parts in found.items()}


def read_icartt(
    data: bytes, campaign: CampaignTime | None, *, limits: Limits = DEFAULT_LIMITS
) -> tuple[DataFile | None, list[Diagnostic]]:
    """Read ICARTT bytes into a `DataFile` (None when there are errors) and findings;
    `limits` caps the header's size, the variables and the comment lines."""
    text, diagnostics = decode_text(data)
    if text is None:
        return None, diagnostics
    lines = text.splitlines()
    too_big = header_lines_too_big(lines, declared_nlhead(lines, ","), limits)
    if too_big is not None:
        return None, [*diagnostics, too_big]
    try:
        head = _parse_head(lines, limits)
    except _Bad as bad:
        return None, [*diagnostics, _diag(bad.code, str(bad), bad.line)]
    if head.ffi != 1001:
        from formats.icartt_2110 import read_2110_rows

        table, names, findings = read_2110_rows(head, lines)
    else:
        ncols = 1 + len(head.variables)
        table, findings = parse_delimited(lines[head.nlhead :], head.nlhead + 1, ncols)
        names = [head.independent, *head.variables]
    if table is None or findings:
        return None, [*diagnostics, *findings]
    if len(table) == 0:
        return None, [*diagnostics, _diag("FMT003", "the file has no data rows", len(lines))]
    seconds = table[:, 0] * _axis(head).seconds
    outside = (seconds < -MAX_SECONDS) | (seconds > MAX_SECONDS)
    if bool(outside.any()):
        row = int(outside.argmax())
        msg = f"time {seconds[row]:g} s is not seconds within a few days of the file's date"
        return None, [*diagnostics, _diag("FMT004", msg, _data_line(lines, head.nlhead, row))]
    steps = seconds[1:] <= seconds[:-1] if head.ffi == 1001 else seconds[1:] < seconds[:-1]
    if bool(steps.any()):
        row = int(steps.argmax()) + 1
        msg = "the independent variable (time) does not increase"
        if head.ffi != 1001:
            msg = "the independent variable (time) decreases between records"
        return None, [*diagnostics, _diag("FMT004", msg, _data_line(lines, head.nlhead, row))]
    header_text = "".join(line + "\n" for line in lines[: head.nlhead])
    return _datafile(head, table, names, header_text), diagnostics


def _axis(head: _Head) -> TimeAxis:
    """The time axis of the independent variable: seconds unless name and unit say more."""
    return time_axis(head.independent.name, head.independent.unit) or TimeAxis(1.0)


def _data_line(lines: list[str], nlhead: int, row: int) -> int:
    count = -1
    for number, line in enumerate(lines[nlhead:], start=nlhead + 1):
        if line.strip():
            count += 1
            if count == row:
                return number
    return len(lines)


def _diag(code: str, message: str, line: int) -> Diagnostic:
    return Diagnostic(code=code, severity=Severity.ERROR, message=message, line=line)


def _flag(keywords: dict[str, str], key: str, default: float) -> float:
    try:
        return float(keywords.get(key, "").split()[0])
    except (ValueError, IndexError):
        return default


def _column(var: _Var, raw: npt.NDArray[np.float64], llod: float, ulod: float) -> Column:
    import numpy as np

    quality = np.zeros(len(raw), dtype=np.int8)
    quality[raw == var.missing] = Quality.MISSING
    quality[raw == llod] = Quality.BELOW_DETECTION
    quality[raw == ulod] = Quality.ABOVE_DETECTION
    values = raw * var.scale if var.scale != 1.0 else raw.copy()
    values[quality != Quality.GOOD] = np.nan
    from formats.names import safe_name

    attrs = {"icartt_missing_value": var.missing_token}
    if var.scale != 1.0:
        attrs["icartt_scale_factor"] = repr(var.scale)
    if var.long_name:
        attrs["comment"] = var.long_name
    if var.standard_name:
        attrs["icartt_standard_name"] = var.standard_name
    return Column(
        original_name=var.name,
        name=safe_name(var.name),
        original_unit=var.unit,
        unit=column_unit(var.name, var.unit),
        kind=ColumnKind.NUMBER,
        values=values,
        quality=quality if bool(quality.any()) else None,
        attributes=attrs,
    )


def _datafile(
    head: _Head, table: npt.NDArray[np.float64], names: list[_Var], header_text: str
) -> DataFile:
    import numpy as np

    axis = _axis(head)
    reference = head.date.replace(tzinfo=None)
    base = np.datetime64(resolve_epoch(axis, reference), "ns")
    offsets = np.round(table[:, 0] * (axis.seconds * 1e9)).astype(np.int64)
    time = Column(
        original_name=head.independent.name,
        name="time",
        original_unit=head.independent.unit,
        unit=None,
        kind=ColumnKind.NUMBER,
        values=base + offsets.astype("timedelta64[ns]"),
        attributes={"time_axis": axis.cf_units(reference)},
    )
    llod = _flag(head.keywords, "LLOD_FLAG", DEFAULT_LLOD)
    ulod = _flag(head.keywords, "ULOD_FLAG", DEFAULT_ULOD)
    columns = [time] + [_column(v, table[:, i], llod, ulod) for i, v in enumerate(names) if i]
    if head.ffi != 1001:
        count = columns[2]  # NX, the count of dependent lines
        count.unit = count.unit or "1"
    for column, name in zip(columns[1:], unique_names([c.name for c in columns[1:]]), strict=True):
        column.name = name
    first, last = int(offsets.min()), int(offsets.max())
    start = resolve_epoch(axis, reference).replace(tzinfo=UTC) + timedelta(
        microseconds=first // 1000
    )
    stop = resolve_epoch(axis, reference).replace(tzinfo=UTC) + timedelta(microseconds=last // 1000)
    header = _header(head, start, stop)
    extent, feature = position_extent(columns, start, stop)
    if feature is FeatureType.TIME_SERIES:
        site = fixed_site([header.location])
        if site is not None:
            header.latitude, header.longitude = site[0], site[1]
            extent.south = extent.north = site[0]
            extent.west = extent.east = site[1]
        if head.ffi != 1001 or has_vertical_profile(columns):
            feature = FeatureType.PROFILE
    datafile = DataFile(header, columns, "icartt", feature, extent, header_text)
    if head.ffi != 1001:
        datafile.bounded = [columns[1].name]
    return datafile


def _header(head: _Head, start: datetime, stop: datetime) -> Header:
    keywords = head.keywords
    missing = {v.missing for v in head.variables}
    extra: dict[str, Any] = {
        "FFI": str(head.ffi),
        "ORGANIZATION": head.organization,
        "DATA_SOURCE": head.source,
        "MISSION": head.mission,
        "VOLUME": head.volume,
        "REVISION_DATE": head.revision_date,
        "DATA_INTERVAL": head.interval,
    }
    if head.version:
        extra["ICARTT_VERSION"] = head.version
    if head.special:
        extra["SPECIAL_COMMENTS"] = "\n".join(head.special)
    extra.update({k: v for k, v in keywords.items() if k not in ("PLATFORM", "LOCATION")})
    remarks = [line for line in head.special if line.strip()]
    remarks += [line for line in keywords.get("OTHER_COMMENTS", "").splitlines() if line.strip()]
    return Header(
        start=start,
        stop=stop,
        pi_name=head.pi,
        platform=keywords.get("PLATFORM", head.source),
        instrument=head.source,
        location=keywords.get("LOCATION", ""),
        data_version=keywords.get("REVISION", ""),
        remarks=remarks,
        project=head.mission or None,
        missing_value=missing.pop() if len(missing) == 1 else None,
        extra=extra,
    )
