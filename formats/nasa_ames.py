"""NASA Ames reader (Gaines and Hipskind, FFI 1001 and 1010).

Values are whitespace separated and may wrap across lines, so the data block is read as one
stream of numbers cut into records. Scale factors apply to values, never to the missing
sentinels, which become NaN with `Quality.MISSING`. When the independent variable is not time
(a pressure or altitude profile), every row takes the file's date and the independent
variable becomes an ordinary column.
"""

from __future__ import annotations

import logging
import math
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

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
from formats.names import safe_name
from formats.neighbours import (
    column_unit,
    decode_text,
    fixed_site,
    has_vertical_profile,
    position_extent,
)
from formats.text_table import parse_free_format
from formats.timeparse import CampaignTime

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

logger = logging.getLogger(__name__)

SUPPORTED_FFI = (1001, 1010, 2110)
MAX_SECONDS = 400 * 86400.0
"""A time independent variable is seconds from the date; beyond a year it is not a time."""
_FIRST_LINE = re.compile(rb"^\s*(\d+)[ \t]+(\d{4})[ \t]*\r?\n")
_TIME_WORDS = re.compile(r"\b(UT|UTC|GMT|time|seconds?|secs?)\b", re.IGNORECASE)


class _Bad(FormatError):
    def __init__(self, line: int, message: str, code: str = "FMT003") -> None:
        super().__init__(message)
        self.line = line
        self.code = code


def split_name_unit(text: str) -> tuple[str, str]:
    """`Name (unit)` or `Name [unit]` -> (name, unit); the unit is empty when none is written.

    String operations, not a regular expression: `(.*?)\\s*[(]...` is quadratic on a long
    run of spaces.
    """
    if not text.endswith((")", "]")):
        return text, ""
    close = len(text) - 1
    opening = max(text.rfind(bracket, 0, close) for bracket in "()[]")
    name = text[:opening].strip() if opening > 0 else ""
    if not name or text[opening] not in "([":
        return text, ""
    return name, text[opening + 1 : close].strip()


def sniff_nasa_ames(head: bytes) -> int:
    """80 when the first line is `NLHEAD FFI` (whitespace separated), else 0."""
    return 80 if _FIRST_LINE.match(head) else 0


@dataclass
class _Var:
    text: str
    scale: float = 1.0
    missing: float | None = None

    @property
    def name_unit(self) -> tuple[str, str]:
        """Name and unit of `Name (unit)`; the unit is empty when none is written."""
        return split_name_unit(self.text.strip())


@dataclass
class _Head:
    nlhead: int
    ffi: int
    oname: str
    org: str
    sname: str
    mname: str
    date: datetime
    rdate: str
    independent: _Var
    variables: list[_Var] = field(default_factory=list)
    auxiliary: list[_Var] = field(default_factory=list)
    special: list[str] = field(default_factory=list)
    normal: list[str] = field(default_factory=list)
    bounded: _Var | None = None
    """FFI 2110: the bounded independent variable X(1), which varies fastest."""


class _Cursor:
    def __init__(self, lines: list[str], limits: Limits = DEFAULT_LIMITS) -> None:
        self.lines, self.at, self.limits = lines, 0, limits

    def line(self, what: str) -> str:
        if self.at >= len(self.lines):
            raise _Bad(self.at, f"the header ends before {what}")
        self.at += 1
        return self.lines[self.at - 1]

    def numbers(self, what: str, count: int) -> list[float]:
        """`count` numbers, read across as many lines as they take."""
        found: list[float] = []
        while len(found) < count:
            for token in self.line(what).split():
                try:
                    value = float(token)
                except ValueError:
                    value = math.nan
                if not math.isfinite(value):
                    raise _Bad(self.at, f"{what}: {token!r} is not a number")
                found.append(value)
        return found[:count]

    def integer(self, what: str) -> int:
        value = self.numbers(what, 1)[0]
        if not value.is_integer():
            raise _Bad(self.at, f"{what}: {value} is not an integer")
        return int(value)


def _vars(cur: _Cursor, what: str) -> list[_Var]:
    count = cur.integer(f"the number of {what}")
    if count > cur.limits.max_columns:
        raise _Bad(cur.at, too_many_columns(count, cur.at, cur.limits).message, "LIM003")
    scales = cur.numbers(f"the {what}' scale factors", count)
    missing = cur.numbers(f"the {what}' missing values", count)
    names = [cur.line(f"a name of the {what}") for _ in range(count)]
    return [_Var(n, s, m) for n, s, m in zip(names, scales, missing, strict=True)]


def _parse_head(lines: list[str], limits: Limits = DEFAULT_LIMITS) -> _Head:
    cur = _Cursor(lines, limits)
    nlhead, ffi = (int(v) for v in cur.numbers("the first line (NLHEAD FFI)", 2))
    if ffi not in SUPPORTED_FFI:
        msg = f"NASA Ames FFI {ffi} is not supported (FieldCat reads 1001, 1010 and 2110)"
        raise _Bad(1, msg, "FMT002")
    oname, org, sname, mname = (cur.line(w).strip() for w in ("ONAME", "ORG", "SNAME", "MNAME"))
    cur.numbers("IVOL NVOL", 2)
    ymd = [int(v) for v in cur.numbers("DATE RDATE", 6)]
    try:
        date = datetime(ymd[0], ymd[1], ymd[2], tzinfo=UTC)
    except (ValueError, OverflowError):
        raise _Bad(cur.at, f"{ymd[0]}-{ymd[1]}-{ymd[2]} is not a date") from None
    cur.numbers("DX", 2 if ffi == 2110 else 1)
    bounded = _Var(cur.line("XNAME(1)")) if ffi == 2110 else None
    head = _Head(
        nlhead, ffi, oname, org, sname, mname, date,
        f"{ymd[3]:04d}-{ymd[4]:02d}-{ymd[5]:02d}", _Var(cur.line("XNAME")),
        bounded=bounded,
    )  # fmt: skip
    head.variables = _vars(cur, "primary variables")
    if ffi in (1010, 2110):
        head.auxiliary = _vars(cur, "auxiliary variables")
    if ffi == 2110 and not head.auxiliary:
        raise _Bad(cur.at, "FFI 2110 needs an auxiliary variable counting the X(1) values")
    head.special = [cur.line("a special comment") for _ in range(cur.integer("NSCOML"))]
    head.normal = [cur.line("a normal comment") for _ in range(cur.integer("NNCOML"))]
    long_comments = comments_too_long(head.special + head.normal, 1, limits)
    if long_comments is not None:
        raise _Bad(nlhead, long_comments.message, "LIM004")
    if cur.at != nlhead:
        raise _Bad(1, f"line 1 says {nlhead} header lines but the header has {cur.at}")
    return head


def read_nasa_ames(
    data: bytes, campaign: CampaignTime | None, *, limits: Limits = DEFAULT_LIMITS
) -> tuple[DataFile | None, list[Diagnostic]]:
    """Read NASA Ames bytes into a `DataFile` (None when there are errors) and findings;
    `limits` caps the header's size, the variables and the comment lines."""
    import numpy as np

    text, diagnostics = decode_text(data)
    if text is None:
        return None, diagnostics
    lines = text.splitlines()
    too_big = header_lines_too_big(lines, declared_nlhead(lines, None), limits)
    if too_big is not None:
        return None, [*diagnostics, too_big]
    try:
        head = _parse_head(lines, limits)
    except _Bad as bad:
        return None, [*diagnostics, _error(bad.code, str(bad), bad.line)]
    values, line_of, findings = parse_free_format(lines[head.nlhead :], head.nlhead + 1)
    if values is None:
        return None, [*diagnostics, *findings]
    width = 1 + len(head.auxiliary) + len(head.variables)
    if not values:
        return None, [*diagnostics, _error("FMT003", "the file has no data", len(lines))]
    if head.bounded is not None:
        from formats.nasa_ames_2110 import flatten_2110

        flat, finding = flatten_2110(values, line_of, len(head.auxiliary), len(head.variables))
        if flat is None:
            return None, [*diagnostics, *([finding] if finding else [])]
        table, line_of, width = flat, [line_of[0]] * len(flat), 1
        head.auxiliary = [head.bounded, *head.auxiliary]
    elif len(values) % width:
        msg = f"the data end inside a record ({len(values) % width} of {width} values)"
        return None, [*diagnostics, _error("FMT004", msg, line_of[-1])]
    else:
        table = np.asarray(values, dtype=np.float64).reshape(-1, width)
    x = table[:, 0]
    if _TIME_WORDS.search(head.independent.text) and bool((np.abs(x) > MAX_SECONDS).any()):
        row = int(np.flatnonzero(np.abs(x) > MAX_SECONDS)[0])
        msg = f"time {x[row]:g} s is not seconds within a few days of the file's date"
        return None, [*diagnostics, _error("FMT004", msg, line_of[row * width])]
    if bool((x[1:] < x[:-1]).any()) and bool((x[1:] > x[:-1]).any()):
        row = int(np.flatnonzero(np.diff(np.sign(np.diff(x))))[0]) + 2
        msg = "the independent variable is not monotonic"
        return None, [*diagnostics, _error("FMT004", msg, line_of[row * width])]
    header_text = "".join(line + "\n" for line in lines[: head.nlhead])
    return _datafile(head, table, header_text), diagnostics


def _error(code: str, message: str, line: int) -> Diagnostic:
    return Diagnostic(code=code, severity=Severity.ERROR, message=message, line=line)


def _column(var: _Var, raw: npt.NDArray[np.float64]) -> Column:
    import numpy as np

    name, unit = var.name_unit
    missing = raw == var.missing if var.missing is not None else np.zeros(len(raw), bool)
    values = raw * var.scale if var.scale != 1.0 else raw.copy()
    values[missing] = np.nan
    quality = missing.astype(np.int8) * np.int8(Quality.MISSING)
    attrs = {"long_name": var.text.strip()}
    if var.missing is not None:
        attrs["nasa_ames_missing_value"] = repr(var.missing)
    if var.scale != 1.0:
        attrs["nasa_ames_scale_factor"] = repr(var.scale)
    return Column(
        original_name=name,
        name=safe_name(name),
        original_unit=unit,
        unit=column_unit(name, unit),
        kind=ColumnKind.NUMBER,
        values=values,
        quality=quality if bool(missing.any()) else None,
        attributes=attrs,
    )


def _datafile(head: _Head, table: npt.NDArray[np.float64], header_text: str) -> DataFile:
    import numpy as np

    x = head.independent
    is_time = bool(_TIME_WORDS.search(x.text))
    base = np.datetime64(head.date.replace(tzinfo=None), "ns")
    if is_time:
        offsets = np.round(table[:, 0] * 1e9).astype(np.int64).astype("timedelta64[ns]")
        times = base + offsets
    else:
        times = np.full(len(table), base)
    name, unit = x.name_unit
    time_unit = (unit or "s") if is_time else "UTC"
    time = Column(name if is_time else "DATE", "time", time_unit, None, ColumnKind.NUMBER, times)
    if not is_time:
        time.attributes["comment"] = "the file's DATE; its independent variable is not time"
    columns = [time]
    if not is_time:
        columns.append(_column(_Var(x.text), table[:, 0]))
    naux = len(head.auxiliary)
    first_aux = len(columns)
    columns += [_column(v, table[:, 1 + i]) for i, v in enumerate(head.auxiliary)]
    if head.bounded is not None:
        count = columns[first_aux + 1]  # after X(1): the count of X(1) values, a number
        count.unit = count.unit or ("1" if not count.original_unit else None)
    columns += [_column(v, table[:, 1 + naux + i]) for i, v in enumerate(head.variables)]
    _unique_names(columns)
    start = head.date + (timedelta(seconds=float(table[0, 0])) if is_time else timedelta(0))
    stop = head.date + (timedelta(seconds=float(table[-1, 0])) if is_time else timedelta(0))
    extent, feature = position_extent(columns, start, stop)
    if feature is FeatureType.TIME_SERIES and has_vertical_profile(columns):
        feature = FeatureType.PROFILE
    site = fixed_site(head.special + head.normal) if feature is not FeatureType.TRAJECTORY else None
    if site is not None:
        extent.south = extent.north = site[0]
        extent.west = extent.east = site[1]
    header = _header(head, start, stop, site)
    return DataFile(header, columns, "nasa_ames", feature, extent, header_text)


def _unique_names(columns: list[Column]) -> None:
    seen: set[str] = set()
    tails: dict[str, int] = {}
    """Per name, the underscores tried so far: the next repeat starts there, not at none."""
    for column in columns:
        base = column.name
        tail = tails.get(base.lower(), 0)
        while (base + "_" * tail).lower() in seen:
            tail += 1
        tails[base.lower()] = tail
        column.name = base + "_" * tail
        seen.add(column.name.lower())


def _header(
    head: _Head, start: datetime, stop: datetime, site: tuple[float, float, str] | None
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
            "INDEPENDENT_VARIABLE": head.independent.text.strip(),
        },
    )
