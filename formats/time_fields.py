"""Field extraction for `timeparse`: digits cut from fixed columns of a byte matrix, checked
and combined into `datetime64[ns]` with whole-column NumPy operations."""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

logger = logging.getLogger(__name__)

_MIN_YEAR, _MAX_YEAR = 1700, 2200
_ISO_TAIL = re.compile(r"^(?:\.(\d+))?(Z|[+-]\d\d:?\d\d)?$")


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


def layout_keys(mat: npt.NDArray[np.uint8], lengths: npt.NDArray[np.int64]) -> Any:
    """Per row: length, position of the first '.', and whether it looks like ISO 8601."""
    import numpy as np

    n, width = mat.shape
    is_dot = mat == 46
    has_dot = is_dot.any(axis=1)
    dot_at = np.where(has_dot, is_dot.argmax(axis=1), lengths)
    iso = (mat[:, 4] == 45) if width > 4 else np.zeros(n, dtype=bool)
    return lengths * 1_000_000 + dot_at * 10 + iso


def single_layout_key(mat: npt.NDArray[np.uint8], lengths: npt.NDArray[np.int64]) -> int | None:
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


Fields = tuple[str, Any, Any, Any, Any, Any, Any, Any, Any, int]


def _frac(sub: npt.NDArray[np.uint8], first: int, count: int) -> tuple[Any, Any]:
    import numpy as np

    if count <= 0:
        return np.zeros(sub.shape[0], dtype=np.int64), np.ones(sub.shape[0], dtype=bool)
    used = min(count, 9)
    ok = _all_digits(sub, range(first, first + count))
    return _number(sub, first, used) * 10 ** (9 - used), ok


def digit_fields(sub: npt.NDArray[np.uint8], length: int, dot: int) -> Fields | None:
    """Fields of all-digit tokens (10, 12 or 14 digits, optional fraction); None: no such form."""
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


def iso_fields(sub: npt.NDArray[np.uint8], length: int) -> Fields | None:
    """Fields of ISO 8601 tokens (zone offsets folded into the fraction); None: not ISO."""
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


def combine(
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
