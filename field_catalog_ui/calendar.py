"""The campaign calendar: a month of reports, day by day, with each day's flights and statuses."""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from catalog.models import Report


@dataclass
class Day:
    """One day of the month and what was reported for it."""

    day: date
    reports: list[Report] = field(default_factory=list)

    @property
    def flights(self) -> list[dict[str, Any]]:
        """The flights the day's summaries record."""
        return [f for r in self.reports for f in (r.details or {}).get("flights", [])]

    @property
    def statuses(self) -> list[tuple[str, str]]:
        """(system, status) of the day's status reports."""
        return [(r.system_code or "", (r.details or {}).get("status", "")) for r in self.reports
                if r.kind == "status" and r.system_code]  # fmt: skip


def parse_month(text: str, fallback: date) -> date:
    """The first day of `YYYY-MM` (the fallback's month when empty or malformed)."""
    try:
        year, month = (int(part) for part in text.split("-", 1))
        return date(year, month, 1)
    except ValueError:
        return fallback.replace(day=1)


def month_weeks(first: date, reports: list[Report]) -> list[list[Day | None]]:
    """The month as weeks (Monday first), None outside the month."""
    by_day: dict[date, list[Report]] = {}
    for report in reports:
        by_day.setdefault(report.report_date, []).append(report)
    weeks: list[list[Day | None]] = []
    for week in calendar.Calendar().monthdatescalendar(first.year, first.month):
        weeks.append([Day(d, by_day.get(d, [])) if d.month == first.month else None
                      for d in week])  # fmt: skip
    return weeks


def neighbours(first: date) -> tuple[str, str]:
    """`YYYY-MM` of the month before and after."""
    before = (first.replace(day=1) - date.resolution).replace(day=1)
    after = (first.replace(day=28) + 4 * date.resolution).replace(day=1)
    return f"{before:%Y-%m}", f"{after:%Y-%m}"
