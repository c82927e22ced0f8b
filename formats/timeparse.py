"""Times of the campaign header format, parsed vectorised (FORMAT.md "Times").

Forms are told apart by length and separators, never by reading the token as a number:
`MMDDHHMMSS[.f]` (10 digits, no year), `YYMMDDHHMMSS` (12), `YYYYMMDDHHMMSS[.f]` (14) and
ISO 8601. Tokens become a matrix of bytes, fields are cut out of fixed columns, and whole
columns are checked and combined with NumPy, so a million times cost a few array operations.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

from formats.time_fields import combine, digit_fields, iso_fields, layout_keys, single_layout_key

logger = logging.getLogger(__name__)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


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


def campaign_time(start: date | None, end: date | None) -> CampaignTime:
    """The campaign period from its first to its last day (whole days, UTC), as a CampaignTime.

    The one place a campaign's dates become the period that places year-less times: the
    intake pipeline, the download service and the demo all call it.
    """
    first = datetime.combine(start, time.min, tzinfo=UTC) if start else None
    last = datetime.combine(end, time.max, tzinfo=UTC) if end else None
    reference = first or last
    return CampaignTime(year=reference.year if reference else None, start=first, end=last)


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
    return parse_time_matrix(mat, lengths, campaign, base)


def parse_time(token: str, campaign: CampaignTime | None, base: datetime | None = None) -> datetime:
    """Parse one time to an aware UTC datetime; raises `TimeValueError` or `MissingYearError`."""
    parsed = parse_times([token.strip()], campaign, base)
    if parsed.needs_year[0]:
        raise MissingYearError(f"{token.strip()!r} has no four-digit year and no campaign year")
    if parsed.invalid[0]:
        raise TimeValueError(f"{token.strip()!r} is not a valid time")
    return datetime64_to_datetime(parsed.values[0])


def parse_time_matrix(
    mat: npt.NDArray[np.uint8],
    lengths: npt.NDArray[np.int64],
    campaign: CampaignTime | None,
    base: datetime | None = None,
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
    key = single_layout_key(mat, lengths)
    single = key is not None
    if key is None:
        key = layout_keys(mat, lengths)
    mmdd_rows: list[npt.NDArray[np.intp]] = []
    mmdd_parts: list[tuple[Any, ...]] = []
    for k in [key] if single else np.unique(key):
        rows = np.arange(n) if single else np.flatnonzero(key == k)
        length, dot, is_iso = int(k // 1_000_000), int(k % 1_000_000 // 10), bool(k % 10)
        sub = mat if single else mat[rows]
        fields = iso_fields(sub, length) if is_iso else digit_fields(sub, length, dot)
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
        stamp, good = combine(year, month, day, hour, minute, second, frac_ns, ok)
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
    stamp, good = combine(years, month, day, hour, minute, second, frac, ok)
    values[rows] = stamp
    invalid[rows] = ~good
