"""NASA Ames header (Gaines and Hipskind 1998) of every FFI: the common lines, each FFI's
independent-variable section, variables, auxiliary variables and comments. Lines may carry a
trailing `{...}` annotation (nappy, BADC, NCAR), stripped as nappy strips it."""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime

from formats.descriptors import parse_descriptor, strip_annotation
from formats.limits import DEFAULT_LIMITS, Limits, comments_too_long, too_many_columns
from formats.model import FormatError

logger = logging.getLogger(__name__)

MAX_GRID_POINTS = 10_000_000
"""A bound on the values one record's grid (NX of every bounded variable) may hold."""
DIMENSIONS = {1001: 1, 1010: 1, 1020: 1, 2010: 2, 2110: 2, 2160: 2, 2310: 2, 3010: 3, 4010: 4}
"""Every FFI of the specification and its number of independent variables (NIV)."""


class HeadError(FormatError):
    def __init__(self, line: int, message: str, code: str = "FMT003") -> None:
        super().__init__(message)
        self.line = line
        self.code = code


@dataclass
class Var:
    text: str
    scale: float = 1.0
    missing: float | None = None
    missing_text: str | None = None
    """Missing value of a character auxiliary variable (FFI 2160)."""

    @property
    def name_unit(self) -> tuple[str, str]:
        """Name and unit of `Name (unit)` or `name, unit, ...`; unit empty when none."""
        found = parse_descriptor(self.text)
        return found.name, found.unit


@dataclass
class Head:
    nlhead: int
    ffi: int
    oname: str
    org: str
    sname: str
    mname: str
    date: datetime
    rdate: str
    independents: list[Var]
    """X(1) ... X(NIV): X(1) varies fastest, X(NIV) is the unbounded variable."""
    dx: list[float] = field(default_factory=list)
    nvpm: int = 1
    grid: list[list[float]] = field(default_factory=list)
    """FFI 2010-4010: the values of X(1) ... X(NIV-1)."""
    variables: list[Var] = field(default_factory=list)
    auxiliary: list[Var] = field(default_factory=list)
    naux_text: int = 0
    """FFI 2160: how many auxiliary variables (the last ones) are text."""
    special: list[str] = field(default_factory=list)
    normal: list[str] = field(default_factory=list)


class _Cursor:
    def __init__(self, lines: list[str], limits: Limits = DEFAULT_LIMITS) -> None:
        self.lines, self.at, self.limits = lines, 0, limits

    def count(self, what: str) -> int:
        """A count of variables, within the column cap (LIM003)."""
        count = self.integer(what)
        if count > self.limits.max_columns:
            raise HeadError(
                self.at, too_many_columns(count, self.at, self.limits).message, "LIM003"
            )
        return count

    def raw(self, what: str) -> str:
        if self.at >= len(self.lines):
            raise HeadError(self.at, f"the header ends before {what}")
        self.at += 1
        return self.lines[self.at - 1]

    def line(self, what: str) -> str:
        return strip_annotation(self.raw(what))

    def tokens(self, what: str, count: int) -> list[str]:
        found: list[str] = []
        while len(found) < count:
            found.extend(self.line(what).split())
        return found[:count]

    def numbers(self, what: str, count: int) -> list[float]:
        """`count` numbers, read across as many lines as they take."""
        found: list[float] = []
        for token in self.tokens(what, count):
            try:
                value = float(token)
            except ValueError:
                value = math.nan
            if not math.isfinite(value):
                raise HeadError(self.at, f"{what}: {token!r} is not a number")
            found.append(value)
        return found

    def integer(self, what: str) -> int:
        value = self.numbers(what, 1)[0]
        if not value.is_integer() or value < 0:
            raise HeadError(self.at, f"{what}: {value} is not a count")
        return int(value)

    def integers(self, what: str, count: int) -> list[int]:
        values = self.numbers(what, count)
        if any(not v.is_integer() or v < 0 for v in values):
            raise HeadError(self.at, f"{what}: {values} are not counts")
        return [int(v) for v in values]


def _vars(cur: _Cursor, what: str, count: int | None = None) -> list[Var]:
    if count is None:
        count = cur.count(f"the number of {what}")
    scales = cur.numbers(f"the {what}' scale factors", count)
    missing = cur.numbers(f"the {what}' missing values", count)
    names = [cur.line(f"a name of the {what}") for _ in range(count)]
    return [Var(n, s, m) for n, s, m in zip(names, scales, missing, strict=True)]


def _independents(cur: _Cursor, head: Head, niv: int) -> None:
    ffi = head.ffi
    head.dx = cur.numbers("DX", 1 if ffi in (1001, 1010, 1020, 2160, 2310) else niv)
    if ffi == 1020:
        head.nvpm = cur.integer("NVPM")
        if head.nvpm < 1 or head.dx[0] == 0:
            raise HeadError(cur.at, "FFI 1020 needs NVPM >= 1 and a DX that is not 0")
    if ffi in (2010, 3010, 4010):
        nx = cur.integers("NX", niv - 1)
        nxdef = cur.integers("NXDEF", niv - 1)
        if math.prod(nx) > MAX_GRID_POINTS:
            raise HeadError(cur.at, f"NX {nx} make a grid of over {MAX_GRID_POINTS:,} points")
        for i in range(niv - 1):
            listed = cur.numbers(f"the values of X({i + 1})", nxdef[i])
            if nxdef[i] < 1 or nxdef[i] > nx[i]:
                raise HeadError(cur.at, f"NXDEF {nxdef[i]} must be between 1 and NX {nx[i]}")
            if nxdef[i] < nx[i]:
                if head.dx[i] == 0:
                    raise HeadError(cur.at, f"X({i + 1}) has fewer values than NX and DX is 0")
                listed = [listed[0] + k * head.dx[i] for k in range(nx[i])]
            head.grid.append(listed)
    if ffi == 2160:
        cur.numbers("LENX", 1)
    head.independents = [Var(cur.line("XNAME")) for _ in range(niv)]


def _auxiliary(cur: _Cursor, head: Head) -> None:
    if head.ffi == 1001:
        return
    count = cur.count("the number of auxiliary variables")
    if head.ffi == 2160:
        head.naux_text = cur.integer("NAUXC")
        if head.naux_text > count:
            raise HeadError(cur.at, "NAUXC is larger than NAUXV")
    if count == 0:
        return
    numeric = count - head.naux_text
    scales = cur.numbers("the auxiliary variables' scale factors", numeric)
    missing = cur.numbers("the auxiliary variables' missing values", numeric)
    texts: list[str] = []
    if head.naux_text:
        cur.numbers("LENA", head.naux_text)
        texts = cur.tokens("the text auxiliary variables' missing values", head.naux_text)
    names = [cur.line("a name of the auxiliary variables") for _ in range(count)]
    head.auxiliary = [Var(n, s, m) for n, s, m in zip(names, scales, missing, strict=False)]
    head.auxiliary += [Var(n, missing_text=t) for n, t in zip(names[numeric:], texts, strict=True)]


def parse_head(lines: list[str], limits: Limits = DEFAULT_LIMITS) -> Head:
    """The header of `lines`; `limits` caps its variables (LIM003) and comments (LIM004)."""
    cur = _Cursor(lines, limits)
    nlhead, ffi = (int(v) for v in cur.numbers("the first line (NLHEAD FFI)", 2))
    if ffi not in DIMENSIONS:
        known = ", ".join(str(f) for f in DIMENSIONS)
        raise HeadError(
            1, f"NASA Ames FFI {ffi} is not supported (FieldCat reads {known})", "FMT002"
        )
    oname, org, sname, mname = (cur.line(w).strip() for w in ("ONAME", "ORG", "SNAME", "MNAME"))
    cur.numbers("IVOL NVOL", 2)
    ymd = [int(v) for v in cur.numbers("DATE RDATE", 6)]
    try:
        date = datetime(ymd[0], ymd[1], ymd[2], tzinfo=UTC)
    except (ValueError, OverflowError):
        raise HeadError(cur.at, f"{ymd[0]}-{ymd[1]}-{ymd[2]} is not a date") from None
    rdate = f"{ymd[3]:04d}-{ymd[4]:02d}-{ymd[5]:02d}"
    head = Head(nlhead, ffi, oname, org, sname, mname, date, rdate, [])
    _independents(cur, head, DIMENSIONS[ffi])
    head.variables = _vars(cur, "primary variables")
    _auxiliary(cur, head)
    if ffi in (2110, 2160, 2310) and not head.auxiliary:
        raise HeadError(cur.at, f"FFI {ffi} needs an auxiliary variable counting the X(1) values")
    if ffi == 2310 and len(head.auxiliary) < 3:
        raise HeadError(cur.at, "FFI 2310 needs NX, the first X(1) and its step as auxiliaries")
    head.special = [cur.raw("a special comment") for _ in range(cur.integer("NSCOML"))]
    head.normal = [cur.raw("a normal comment") for _ in range(cur.integer("NNCOML"))]
    long_comments = comments_too_long(head.special + head.normal, 1, limits)
    if long_comments is not None:
        raise HeadError(nlhead, long_comments.message, "LIM004")
    if cur.at != nlhead:
        raise HeadError(1, f"line 1 says {nlhead} header lines but the header has {cur.at}")
    return head
