"""Times of the campaign header format, parsed vectorised (FORMAT.md "Times").

Forms are told apart by length and separators, never by reading the token as a number:
`MMDDHHMMSS[.f]` (10 digits, no year), `YYMMDDHHMMSS` (12), `YYYYMMDDHHMMSS[.f]` (14) and
ISO 8601. Tokens become a matrix of bytes, fields are cut out of fixed columns, and whole
columns are checked and combined with NumPy, so a million times cost a few array operations.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

logger = logging.getLogger(__name__)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MIN_YEAR, _MAX_YEAR = 1700, 2200
_ISO_TAIL = re.compile(r"^(?:\.(\d+))?(Z|[+-]\d\d:?\d\d)?$")


@dataclass(frozen=True)
class CampaignTime:
    """The campaign's year or period, used to place `MMDDHHMMSS` times and two-digit years."""

    year: int | None = None
    start: datetime | None = None
    end: datetime | None = None

    def reference_year(self) -> int | None:
        """The year the campaign is in (its start year when only a period is given)."""
        if self.year is not None:
            return self.year
        if self.start is not None:
            return self.start.year
        return self.end.year if self.end is not None else None

    def century(self) -> int | None:
        """The campaign's century (1900 for 1999), which places two-digit years."""
        year = self.reference_year()
        return None if year is None else year // 100 * 100

    def place(self, month: int, day: int) -> int | None:
        """The year that puts month/day inside (or nearest to) the campaign's period."""
        if self.start is None or self.end is None:
            return self.reference_year()
        start, end = _naive_utc(self.start), _naive_utc(self.end)
        best: tuple[float, int] | None = None
        for year in range(start.year - 1, end.year + 2):
            try:
                when = datetime(year, month, day)
            except ValueError:
                continue
            distance = max((start - when).total_seconds(), (when - end).total_seconds(), 0.0)
            if best is None or distance < best[0]:
                best = (distance, year)
        return best[1] if best else self.reference_year()


def _naive_utc(when: datetime) -> datetime:
    if when.tzinfo is None:
        return when
    return when.astimezone(UTC).replace(tzinfo=None)


class TimeValueError(ValueError):
    """A time token is not one of the accepted forms or not a real date and time."""


class MissingYearError(TimeValueError):
    """A time has no (or a two-digit) year and no campaign year was given."""


@dataclass
class ParsedTimes:
    """Times of a column: values (`datetime64[ns]`, NaT where invalid) and what went wrong."""

    values: npt.NDArray[Any]
    invalid: npt.NDArray[np.bool_]
    """True where the token is not a valid time (including where a year was needed)."""
    needs_year: npt.NDArray[np.bool_]
    """True where the token needed a campaign year that was not given."""
    decimals: int
    """Most fractional-second digits written."""


def datetime64_to_datetime(value: Any) -> datetime:
    """An aware UTC `datetime` from a `datetime64` scalar (microsecond precision)."""
    import numpy as np

    ns = int(np.datetime64(value, "ns").astype("int64"))
    return _EPOCH + timedelta(microseconds=ns // 1000)


def datetime_to_datetime64(when: datetime) -> Any:
    """A `datetime64[ns]` scalar (UTC) from a datetime (naive means UTC)."""
    import numpy as np

    delta = _naive_utc(when) - datetime(1970, 1, 1)
    return np.datetime64(delta // timedelta(microseconds=1), "us").astype("datetime64[ns]")


def tokens_to_matrix(
    tokens: Sequence[str],
) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.int64]]:
    """Byte matrix (one row a token, NUL padded) and the length of each token."""
    import numpy as np

    encoded = [t.encode("utf-8", "replace") for t in tokens]
    width = max((len(t) for t in encoded), default=1) or 1
    arr = np.array(encoded, dtype=f"S{width}")
    mat = arr.view(np.uint8).reshape(len(encoded), width)
    lengths = np.fromiter((len(t) for t in encoded), dtype=np.int64, count=len(encoded))
    return mat, lengths


def parse_times(
    tokens: Sequence[str], campaign: CampaignTime | None, base: datetime | None = None
) -> ParsedTimes:
    """Parse time tokens; `base` (the file's start time) anchors years of `MMDDHHMMSS` rows."""
    mat, lengths = tokens_to_matrix(tokens)
    return parse_time_matrix(mat, lengths, campaign, base, tokens)


def parse_time(token: str, campaign: CampaignTime | None, base: datetime | None = None) -> datetime:
    """Parse one time to an aware UTC datetime; raises `TimeValueError` or `MissingYearError`."""
    parsed = parse_times([token.strip()], campaign, base)
    if parsed.needs_year[0]:
        raise MissingYearError(f"{token.strip()!r} has no four-digit year and no campaign year")
    if parsed.invalid[0]:
        raise TimeValueError(f"{token.strip()!r} is not a valid time")
    return datetime64_to_datetime(parsed.values[0])


def _number(mat: npt.NDArray[np.uint8], first: int, width: int) -> Any:
    import numpy as np

    # int32 holds the short fields (even of non-digit bytes, caught later) and halves the
    # memory traffic of int64; fractions of up to 9 digits need int64.
    out: Any = np.zeros(mat.shape[0], dtype=np.int32 if width <= 4 else np.int64)
    for col in range(first, first + width):
        out *= 10
        out += mat[:, col]
    # Each byte carried its ASCII offset 48; remove them all at once.
    out -= 48 * int("1" * width) if width else 0
    return out


def _all_digits(mat: npt.NDArray[np.uint8], cols: Sequence[int]) -> npt.NDArray[np.bool_]:
    import numpy as np

    ok = np.ones(mat.shape[0], dtype=bool)
    for col in cols:
        ok &= (mat[:, col] - np.uint8(48)) <= 9
    return ok


def _layout_keys(mat: npt.NDArray[np.uint8], lengths: npt.NDArray[np.int64]) -> Any:
    """Per row: length, position of the first '.', and whether it looks like ISO 8601."""
    import numpy as np

    n, width = mat.shape
    is_dot = mat == 46
    has_dot = is_dot.any(axis=1)
    dot_at = np.where(has_dot, is_dot.argmax(axis=1), lengths)
    iso = (mat[:, 4] == 45) if width > 4 else np.zeros(n, dtype=bool)
    return lengths * 1_000_000 + dot_at * 10 + iso


def _single_layout_key(mat: npt.NDArray[np.uint8], lengths: npt.NDArray[np.int64]) -> int | None:
    """The layout key when every row has row 0's length, '.' and '-' places (the usual case),
    checked column by column; None when rows differ. Stray dots elsewhere fail later checks."""

    length = int(lengths[0])
    if not bool((lengths == length).all()):
        return None
    first = bytes(mat[0, :length])
    dot = first.find(b".")
    dot = length if dot < 0 else dot
    if dot < length and not bool((mat[:, dot] == 46).all()):
        return None
    iso = mat.shape[1] > 4 and first[4:5] == b"-"
    if mat.shape[1] > 4 and bool((mat[:, 4] == 45).any()) and not bool((mat[:, 4] == 45).all()):
        return None
    return length * 1_000_000 + dot * 10 + int(iso)


def parse_time_matrix(
    mat: npt.NDArray[np.uint8],
    lengths: npt.NDArray[np.int64],
    campaign: CampaignTime | None,
    base: datetime | None = None,
    tokens: Sequence[str] | None = None,
) -> ParsedTimes:
    """Parse a byte matrix of time tokens (one a row) with their lengths."""
    import numpy as np

    n = mat.shape[0]
    values = np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]")
    invalid = np.ones(n, dtype=bool)
    needs_year = np.zeros(n, dtype=bool)
    decimals = 0
    if n == 0:
        return ParsedTimes(values, invalid, needs_year, 0)
    key = _single_layout_key(mat, lengths)
    single = key is not None
    if key is None:
        key = _layout_keys(mat, lengths)
    mmdd_rows: list[npt.NDArray[np.intp]] = []
    mmdd_parts: list[tuple[Any, ...]] = []
    for k in [key] if single else np.unique(key):
        rows = np.arange(n) if single else np.flatnonzero(key == k)
        length, dot, is_iso = int(k // 1_000_000), int(k % 1_000_000 // 10), bool(k % 10)
        sub = mat if single else mat[rows]
        if is_iso:
            fields = _iso_fields(sub, length, rows, tokens)
        else:
            fields = _digit_fields(sub, length, dot)
        if fields is None:
            continue
        form, year, month, day, hour, minute, second, frac_ns, ok, ndec = fields
        decimals = max(decimals, ndec)
        if form == "MMDD":
            mmdd_rows.append(rows)
            mmdd_parts.append((rows, month, day, hour, minute, second, frac_ns, ok))
            continue
        if form == "YYMMDD":
            century = campaign.century() if campaign else None
            if century is None and base is not None:
                century = base.year // 100 * 100
            if century is None:
                needs_year[rows] = True
                continue
            year = year + century
        stamp, good = _combine(year, month, day, hour, minute, second, frac_ns, ok)
        values[rows] = stamp
        invalid[rows] = ~good
    if mmdd_rows:
        _place_mmdd(mmdd_parts, campaign, base, values, invalid)
        needs_year |= np.isnat(values) & _mmdd_mask(n, mmdd_rows) & _no_year(campaign, base)
    invalid |= needs_year
    return ParsedTimes(values, invalid, needs_year, decimals)


def _mmdd_mask(n: int, groups: list[npt.NDArray[np.intp]]) -> npt.NDArray[np.bool_]:
    import numpy as np

    mask = np.zeros(n, dtype=bool)
    for rows in groups:
        mask[rows] = True
    return mask


def _no_year(campaign: CampaignTime | None, base: datetime | None) -> bool:
    return base is None and (campaign is None or campaign.reference_year() is None)


_Fields = tuple[str, Any, Any, Any, Any, Any, Any, Any, Any, int]


def _frac(sub: npt.NDArray[np.uint8], first: int, count: int) -> tuple[Any, Any]:
    import numpy as np

    if count <= 0:
        return np.zeros(sub.shape[0], dtype=np.int64), np.ones(sub.shape[0], dtype=bool)
    used = min(count, 9)
    ok = _all_digits(sub, range(first, first + count))
    return _number(sub, first, used) * 10 ** (9 - used), ok


def _digit_fields(sub: npt.NDArray[np.uint8], length: int, dot: int) -> _Fields | None:
    ndigits = dot
    if ndigits not in (10, 12, 14) or (dot < length and dot == length - 1):
        return None
    ok = _all_digits(sub, range(ndigits))
    frac, frac_ok = _frac(sub, dot + 1, length - dot - 1)
    ok &= frac_ok
    ndec = max(length - dot - 1, 0)
    if ndigits == 10:
        year, at, form = _number(sub, 0, 0), 0, "MMDD"
    elif ndigits == 12:
        year, at, form = _number(sub, 0, 2), 2, "YYMMDD"
    else:
        year, at, form = _number(sub, 0, 4), 4, "YYYYMMDD"
    month, day = _number(sub, at, 2), _number(sub, at + 2, 2)
    hour, minute = _number(sub, at + 4, 2), _number(sub, at + 6, 2)
    second = _number(sub, at + 8, 2)
    return form, year, month, day, hour, minute, second, frac, ok, ndec


def _iso_fields(
    sub: npt.NDArray[np.uint8], length: int, rows: Any, tokens: Sequence[str] | None
) -> _Fields | None:
    import numpy as np

    if length < 19:
        return None
    ok = _all_digits(sub, (0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18))
    ok &= (sub[:, 7] == 45) & ((sub[:, 10] == 84) | (sub[:, 10] == 32) | (sub[:, 10] == 116))
    ok &= (sub[:, 13] == 58) & (sub[:, 16] == 58)
    frac = np.zeros(sub.shape[0], dtype=np.int64)
    offset_s = np.zeros(sub.shape[0], dtype=np.int64)
    ndec = 0
    tail = bytes(sub[0, 19:length]).decode("ascii", "replace")
    match = _ISO_TAIL.match(tail)
    if match is None:
        return None
    if match.group(1):
        ndec = len(match.group(1))
        frac, frac_ok = _frac(sub, 20, ndec)
        ok &= frac_ok & (sub[:, 19] == 46)
    zone = match.group(2)
    zone_at = 19 + (ndec + 1 if ndec else 0)
    if zone == "Z":
        ok &= (sub[:, zone_at] == 90) | (sub[:, zone_at] == 122)
    elif zone:
        offset_s, zone_ok = _iso_offsets(sub, zone_at, len(zone))
        ok &= zone_ok
    year, month, day = _number(sub, 0, 4), _number(sub, 5, 2), _number(sub, 8, 2)
    hour, minute, second = _number(sub, 11, 2), _number(sub, 14, 2), _number(sub, 17, 2)
    # A zone offset is folded into the fraction so the one combine step converts to UTC.
    frac = frac - offset_s * 1_000_000_000
    return "ISO", year, month, day, hour, minute, second, frac, ok, ndec


def _iso_offsets(sub: npt.NDArray[np.uint8], at: int, width: int) -> tuple[Any, Any]:
    sign_char = sub[:, at]
    ok = (sign_char == 43) | (sign_char == 45)
    minutes_at = at + (4 if width == 6 else 3)
    digits = (at + 1, at + 2, minutes_at, minutes_at + 1)
    ok &= _all_digits(sub, digits)
    if width == 6:
        ok &= sub[:, at + 3] == 58
    hours, minutes = _number(sub, at + 1, 2), _number(sub, minutes_at, 2)
    ok &= (hours <= 23) & (minutes <= 59)
    sign = 1 - 2 * (sign_char == 45).astype("int64")
    return sign * (hours * 3600 + minutes * 60), ok


_DAYS_IN_MONTH = (0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _days_from_civil(year: Any, month: Any, day: Any) -> Any:
    """Days since 1970-01-01 of a proleptic Gregorian date, in integer arithmetic."""
    y = year - (month <= 2)
    era = y // 400
    yoe = y - era * 400
    doy = (153 * ((month + 9) % 12) + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def _combine(
    year: Any, month: Any, day: Any, hour: Any, minute: Any, second: Any, frac_ns: Any, ok: Any
) -> tuple[Any, Any]:
    """`datetime64[ns]` from field arrays, and which rows form a real date and time.

    Rows come in runs of one date (a day of 1 s rows is 86,400 of them), so the calendar
    work is done once a run and spread back with `repeat`.
    """
    import numpy as np

    n = len(ok)
    good = ok & (hour <= 23) & (minute <= 59) & (second <= 59)
    date_key = (np.asarray(year, dtype=np.int64) * 100 + month) * 100 + day
    firsts = np.flatnonzero(np.concatenate(([True], date_key[1:] != date_key[:-1])))
    y = np.asarray(year, dtype=np.int64)[firsts]
    m = np.asarray(month, dtype=np.int64)[firsts]
    d = np.asarray(day, dtype=np.int64)[firsts]
    date_ok = (y >= _MIN_YEAR) & (y <= _MAX_YEAR) & (m >= 1) & (m <= 12) & (d >= 1)
    month_index = np.where(date_ok, m, 0)
    leap = (y % 4 == 0) & ((y % 100 != 0) | (y % 400 == 0))
    days_in_month = np.asarray(_DAYS_IN_MONTH, dtype=np.int64)[month_index]
    days_in_month += leap & (month_index == 2)
    date_ok &= d <= days_in_month
    run_lengths = np.diff(np.append(firsts, n))
    good &= np.repeat(date_ok, run_lengths)
    ns = np.repeat(_days_from_civil(y, m, d) * 86400, run_lengths)
    ns += hour * 3600 + minute * 60 + second
    ns *= 1_000_000_000
    ns += frac_ns
    ns[~good] = np.iinfo(np.int64).min
    return ns.view("datetime64[ns]"), good


def _place_mmdd(
    parts: list[tuple[Any, ...]],
    campaign: CampaignTime | None,
    base: datetime | None,
    values: npt.NDArray[Any],
    invalid: npt.NDArray[np.bool_],
) -> None:
    """Give `MMDDHHMMSS` rows their year: the file start's (or the campaign's), plus Dec->Jan."""
    import numpy as np

    rows, month, day, hour, minute, second, frac, ok = (
        np.concatenate([p[i] for p in parts]) for i in range(8)
    )
    order = np.argsort(rows, kind="stable")
    rows, month, day, hour, minute, second, frac, ok = (
        a[order] for a in (rows, month, day, hour, minute, second, frac, ok)
    )
    if base is not None:
        base_naive = _naive_utc(base)
        first_year, prev_month = base_naive.year, base_naive.month
    elif campaign is not None and campaign.reference_year() is not None:
        m0 = int(month[0]) if 1 <= month[0] <= 12 else 1
        d0 = int(day[0]) if 1 <= day[0] <= 28 else 1
        first_year, prev_month = campaign.place(m0, d0) or 2000, m0
    else:
        return
    previous = np.concatenate(([prev_month], month[:-1]))
    years = first_year + np.cumsum((previous == 12) & (month == 1))
    stamp, good = _combine(years, month, day, hour, minute, second, frac, ok)
    values[rows] = stamp
    invalid[rows] = ~good
