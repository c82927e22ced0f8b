"""Independent-variable time axes of NASA Ames and ICARTT files, read from name and units.

Real files spell their time axis in many ways: `Time in UT Seconds from 0000 hours on the
data date`, `days from file reference point` (EBAS), `Start_UTC` with no units at all,
`Hours (UT)`, `Universal time (hours)`, `seconds since 2005-04-01 00:00:00`, `Day of year`.
`time_axis` turns such a text into a `TimeAxis`: a unit in seconds and the epoch it counts
from (the file's reference date unless another epoch is stated). Texts that name no time
(`Altitude (km)`, `Day number`) give None, so the variable stays an ordinary column.

Choices where the formats are silent: a bare time word with no unit (`Start_UTC`, `UT`,
`Time`) means seconds (the ICARTT convention); days, hours and minutes count as time only
when the text also says from what (`from`, `since`, `UT`, `time`...), because `Day number`
alone is a model day, not a date; `day of year` / `julian day` count from 1 January of the
reference date's year, day 1 being that date.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

logger = logging.getLogger(__name__)

_SECONDS = {
    "s": 1.0,
    "sec": 1.0,
    "secs": 1.0,
    "second": 1.0,
    "seconds": 1.0,
    "min": 60.0,
    "mins": 60.0,
    "minute": 60.0,
    "minutes": 60.0,
    "h": 3600.0,
    "hr": 3600.0,
    "hrs": 3600.0,
    "hour": 3600.0,
    "hours": 3600.0,
    "d": 86400.0,
    "day": 86400.0,
    "days": 86400.0,
}
_LONG_WORDS = frozenset(w for w in _SECONDS if len(w) > 2)
_TIME_WORDS = frozenset({"time", "ut", "utc", "gmt", "utime", "timestamp"})
_TIME_PARTS = frozenset({"utc", "ut", "gmt", "time"})
_REFERENCE_WORDS = frozenset({"from", "since", "after", "elapsed", "ut", "utc", "gmt", "time"})
_NOT_UTC = frozenset({"local", "lst", "lt", "solar"})
_EPOCH = re.compile(
    r"(?:since|from|after)\s+(\d{4})-(\d{1,2})-(\d{1,2})"
    r"(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}(?:\.\d+)?))?)?",
    re.IGNORECASE,
)
_PAREN = re.compile(r"[(\[]([^()\[\]]*)[)\]]")
_TOKEN = re.compile(r"[a-z]+")


@dataclass(frozen=True)
class TimeAxis:
    """A time axis: value x means `epoch + x * seconds` (epoch None: the file's date)."""

    seconds: float
    epoch: datetime | None = None
    word: str = "seconds"
    """The CF unit word (`seconds`, `minutes`, `hours`, `days`)."""

    def cf_units(self, reference: datetime) -> str:
        """CF `units` of the axis's raw values (`days since 2010-01-01 00:00:00`)."""
        epoch = resolve_epoch(self, reference)
        return f"{self.word} since {epoch.strftime('%Y-%m-%d %H:%M:%S')}"


_CF_WORD = {1.0: "seconds", 60.0: "minutes", 3600.0: "hours", 86400.0: "days"}


def _tokens(text: str) -> list[str]:
    return _TOKEN.findall(text.lower().replace("_", " "))


def _epoch(text: str) -> datetime | None:
    match = _EPOCH.search(text)
    if match is None:
        return None
    year, month, day, hour, minute, second = match.groups()
    try:
        base = datetime(int(year), int(month), int(day), int(hour or 0), int(minute or 0))
    except ValueError:
        return None
    return base + timedelta(seconds=float(second or 0))


def _unit_word(text: str) -> str | None:
    """The time unit word of a text: from its `(unit)` first, else a long word anywhere."""
    for inside in _PAREN.findall(text):
        for token in _tokens(inside):
            if token in _SECONDS:
                return token
    for token in _tokens(text):
        if token in _LONG_WORDS:
            return token
    return None


def time_axis(text: str, unit: str = "") -> TimeAxis | None:
    """The time axis a variable's name (and separate unit text, as ICARTT has) describes."""
    full = f"{text} ({unit})" if unit.strip() else text
    tokens = set(_tokens(full))
    if tokens & _NOT_UTC:
        return None
    if ("day" in tokens and "year" in tokens) or tokens & {"julian", "doy"}:
        return TimeAxis(86400.0, _DAY_OF_YEAR, "days")
    word = _unit_word(full)
    epoch = _epoch(full)
    if word is None:
        # `Start_UTC`, `UT`, `Time_Mid`: ICARTT-era names whose unit is seconds by convention.
        if tokens & _TIME_PARTS and not tokens - _TIME_PARTS - {"start", "stop", "mid", "end"}:
            return TimeAxis(1.0, epoch, "seconds")
        return None
    seconds = _SECONDS[word]
    if seconds >= 60.0 and not (tokens & _REFERENCE_WORDS) and epoch is None:
        return None
    if seconds == 1.0 and not (tokens & (_TIME_WORDS | _REFERENCE_WORDS | _LONG_WORDS)):
        return None
    return TimeAxis(seconds, epoch, _CF_WORD[seconds])


_DAY_OF_YEAR = datetime(1, 1, 1)
"""Sentinel epoch: day-of-year axes count from 1 January of the reference year (day 1)."""


def resolve_epoch(axis: TimeAxis, reference: datetime) -> datetime:
    """The epoch of `axis` for a file whose reference date is `reference` (naive UTC)."""
    if axis.epoch is _DAY_OF_YEAR:
        return datetime(reference.year, 1, 1) - timedelta(days=1)
    return axis.epoch or reference
