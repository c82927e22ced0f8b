"""Daily summaries and instrument status reports of the field catalog (the `Report` table).

Each kind has its own entry form, which a form password protects (`catalog.grants`, form key
`report:<kind>`); the listings are public.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog.closing import refuse_if_closing
from catalog.errors import InvalidQueryError, NotFoundError
from catalog.field_records import announce
from catalog.grants import holds_form_grant
from catalog.models import Campaign, Report
from catalog.schemas import Principal, Role
from catalog.summaries import check_details, find_system, may_report_status, set_details

REPORT_KINDS: dict[str, str] = {"daily": "Daily summary", "status": "Instrument status"}
MAX_BODY = 20_000


def report_form_key(kind: str) -> str:
    """The form-password key of a kind's entry form."""
    check_kind(kind)
    return f"report:{kind}"


def check_kind(kind: str) -> str:
    """The kind if known; InvalidQueryError if not."""
    if kind not in REPORT_KINDS:
        raise InvalidQueryError(f"report kind must be one of: {', '.join(REPORT_KINDS)}")
    return kind


def may_write_report(
    session: Session, principal: Principal, holder: str | None, kind: str, now: datetime
) -> bool:
    """Staff write every kind; anyone else needs a live grant of the kind's form password."""
    if principal.user_id is not None and principal.role in (Role.STAFF, Role.ADMIN):
        return True
    return holds_form_grant(session, holder, report_form_key(kind), now)


def may_file_report(
    session: Session, principal: Principal, holder: str | None, kind: str,
    details: dict[str, Any] | None, now: datetime,
) -> bool:  # fmt: skip
    """A status report about a registered system needs staff or that system's own form grant;
    any other report, staff or the kind's form grant (`may_write_report`)."""
    system = (details or {}).get("system") if kind == "status" else None
    if system:
        if find_system(session, str(system)) is None:
            raise NotFoundError(f"no measuring system {system!r} is registered here")
        return may_report_status(session, principal, holder, str(system), now)
    return may_write_report(session, principal, holder, kind, now)


def list_reports(session: Session, *, kind: str | None = None, limit: int = 100) -> list[Report]:
    """Reports, newest report date first (of one kind when given)."""
    query = select(Report).order_by(Report.report_date.desc(), Report.id.desc())
    if kind:
        query = query.where(Report.kind == check_kind(kind))
    return list(session.scalars(query.limit(max(1, min(limit, 1000)))))


def get_report(session: Session, report_id: int) -> Report:
    """A report by id (NotFoundError when there is none)."""
    report = session.get(Report, report_id)
    if report is None:
        raise NotFoundError("no such report")
    return report


def add_report(
    session: Session,
    *,
    campaign_code: str,
    center_code: str,
    kind: str,
    report_date: date,
    title: str,
    body: str,
    author: Principal,
    now: datetime,
    details: dict[str, Any] | None = None,
) -> Report:
    """Record one report (the caller checked the form grant or role); `details` are its
    structured content (`catalog.summaries`), checked here for the kind."""
    refuse_if_closing(session, center_code)
    title, body = title.strip(), body.strip()
    if not title:
        raise InvalidQueryError("give the report a title")
    if len(body) > MAX_BODY:
        raise InvalidQueryError(f"a report has at most {MAX_BODY} characters")
    campaign = session.scalar(select(Campaign).where(Campaign.code == campaign_code))
    if campaign is None:
        raise NotFoundError(f"no campaign {campaign_code!r}")
    report = Report(
        campaign_id=campaign.id,
        center_code=center_code,
        kind=check_kind(kind),
        report_date=report_date,
        title=title[:500],
        body=body,
        author_user_id=author.user_id,
        created_at=now,
        origin_version=1,
    )
    set_details(report, check_details(report.kind, details))
    session.add(report)
    announce(session, report, now)
    return report
