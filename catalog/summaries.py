"""Structured daily summaries and per-system status reports (the `details` of a report).

A daily summary records operations as data: flights and missions (platform, takeoff and
landing UTC, mission, track dataset), instrument sampling periods, satellite overpasses,
weather and notes. A status report belongs to one registered measuring system and says
whether it is operating, degraded or down, from when (and until when). The details live in
the report's `details` column and travel with it to the peers; a status report also fills
`system_code`, so a system's status history is one indexed query.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, model_validator
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from catalog.errors import ConflictError, InvalidQueryError, NotFoundError
from catalog.grants import holds_form_grant, set_form_password
from catalog.models import Campaign, Report
from catalog.schemas import Principal, Role
from catalog.summary_models import MeasuringSystem

Status = Literal["operating", "degraded", "down"]
CODE_PATTERN = r"^[A-Za-z0-9_.-]{1,32}$"


class Flight(BaseModel):
    """One flight or mission of a day."""

    platform: str = Field(min_length=1, max_length=200)
    takeoff: datetime
    landing: datetime
    mission: str = Field(default="", max_length=200)
    track_dataset: str = Field(default="", max_length=32)
    """The public id of the dataset holding its track, when there is one."""

    @model_validator(mode="after")
    def _order(self) -> Flight:
        if self.landing < self.takeoff:
            raise ValueError("a flight lands after it takes off")
        return self


class Sampling(BaseModel):
    """An instrument's sampling period."""

    instrument: str = Field(min_length=1, max_length=200)
    start: datetime
    stop: datetime


class Overpass(BaseModel):
    """A satellite overpass."""

    satellite: str = Field(min_length=1, max_length=100)
    time: datetime


class DailyDetails(BaseModel):
    """What a daily summary records as data."""

    flights: list[Flight] = Field(default_factory=list, max_length=100)
    sampling: list[Sampling] = Field(default_factory=list, max_length=200)
    overpasses: list[Overpass] = Field(default_factory=list, max_length=100)
    weather: str = Field(default="", max_length=5000)
    notes: str = Field(default="", max_length=5000)


class StatusDetails(BaseModel):
    """One entry of a measuring system's status history."""

    system: str = Field(pattern=CODE_PATTERN)
    status: Status
    since: datetime
    until: datetime | None = None
    note: str = Field(default="", max_length=2000)


def set_details(report: Report, details: dict[str, Any] | None) -> None:
    """Store structured details with their search words and, for a status, its system."""
    report.details = details
    report.details_text = "" if details is None else json.dumps(details).lower()
    system = (details or {}).get("system") if report.kind == "status" else None
    report.system_code = str(system) if system else None


def system_form_key(code: str) -> str:
    """The form-password key of a system's status form."""
    return f"report:status:{code.lower()}"


def register_system(session: Session, *, campaign_code: str, code: str, name: str,
                    platform: str, password: str, now: datetime) -> MeasuringSystem:  # fmt: skip
    """Add a measuring system and set its status form's own password."""
    campaign = session.scalar(select(Campaign).where(Campaign.code == campaign_code))
    if campaign is None:
        raise NotFoundError(f"no campaign {campaign_code!r}")
    if find_system(session, code) is not None:
        raise ConflictError(f"system {code!r} is registered already")
    if len(password) < 8:
        raise InvalidQueryError("a status form's password has at least 8 characters")
    system = MeasuringSystem(campaign_id=campaign.id, code=code, name=name or code,
                             platform=platform, created_at=now)  # fmt: skip
    session.add(system)
    set_form_password(session, system_form_key(code), password, now)
    session.flush()
    return system


def find_system(session: Session, code: str) -> MeasuringSystem | None:
    """The registered system with this code (any case)."""
    query = select(MeasuringSystem).where(func.lower(MeasuringSystem.code) == code.lower())
    return session.scalars(query).first()


def list_systems(session: Session) -> list[MeasuringSystem]:
    """The registered systems, by code."""
    return list(session.scalars(select(MeasuringSystem).order_by(MeasuringSystem.code)))


def may_report_status(session: Session, principal: Principal, holder: str | None, system: str,
                      now: datetime) -> bool:  # fmt: skip
    """Staff report every system; operators hold a grant of that system's own form."""
    if principal.user_id is not None and principal.role in (Role.STAFF, Role.ADMIN):
        return True
    return holds_form_grant(session, holder, system_form_key(system), now)


def check_details(kind: str, details: dict[str, Any] | None) -> dict[str, Any] | None:
    """The details validated for the kind, as JSON (InvalidQueryError when they do not fit)."""
    if details is None:
        return None
    model = StatusDetails if kind == "status" else DailyDetails
    try:
        return model.model_validate(details).model_dump(mode="json")
    except ValueError as err:
        raise InvalidQueryError(f"the {kind} report's details do not fit: {err}") from err


def status_history(session: Session, code: str, limit: int = 500) -> list[Report]:
    """A system's status reports (from every center), newest `since` first."""
    query = (
        select(Report)
        .where(Report.kind == "status", func.lower(Report.system_code) == code.lower())
        .order_by(Report.report_date.desc(), Report.id.desc())
        .limit(max(1, min(limit, 1000)))
    )
    rows = list(session.scalars(query))
    return sorted(rows, key=lambda r: str((r.details or {}).get("since", "")), reverse=True)


def search_reports(session: Session, *, kind: str | None = None, q: str | None = None,
                   start: date | None = None, end: date | None = None,
                   system: str | None = None, limit: int = 100) -> list[Report]:  # fmt: skip
    """Reports by kind, words (title, body, details), day range and system; newest first."""
    query = select(Report)
    if kind:
        query = query.where(Report.kind == kind)
    if q and q.strip():
        needle = f"%{q.strip().lower()}%"
        query = query.where(or_(func.lower(Report.title).like(needle),
                                func.lower(Report.body).like(needle),
                                func.lower(Report.details_text).like(needle)))  # fmt: skip
    if start is not None:
        query = query.where(Report.report_date >= start)
    if end is not None:
        query = query.where(Report.report_date <= end)
    if system:
        query = query.where(func.lower(Report.system_code) == system.lower())
    query = query.order_by(Report.report_date.desc(), Report.id.desc())
    return list(session.scalars(query.limit(max(1, min(limit, 5000)))))


CSV_COLUMNS = ("id", "center", "kind", "report_date", "title", "system", "status", "since",
               "until", "flights", "body")  # fmt: skip


def csv_rows(reports: list[Report]) -> str:
    """The reports as CSV (one row each; a daily summary's flights as `platform mission`)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for r in reports:
        d = r.details or {}
        flights = "; ".join(f"{f.get('platform')} {f.get('mission', '')}".strip()
                            for f in d.get("flights", []))  # fmt: skip
        writer.writerow([r.public_id, r.center_code, r.kind, r.report_date.isoformat(), r.title,
                         r.system_code or "", d.get("status", ""), d.get("since", ""),
                         d.get("until") or "", flights, r.body])  # fmt: skip
    return out.getvalue()
