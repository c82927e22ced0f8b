"""Field-catalog reports over the API: daily summaries and instrument status reports.

The listings are public. Staff post every kind; anyone else first exchanges the kind's form
password (`POST /reports/{kind}/grant`, rate limited) for a short-lived grant and presents it
as the `X-FieldCat-Grant` header (or keeps the cookie), as the web forms do.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi import Path as PathParam
from pydantic import BaseModel, Field

from archive_center.routers.auth import GrantRead, PasswordBody, grant_answer
from catalog.errors import AuthenticationRequiredError, RoleRequiredError
from catalog.field_records import withdraw_field_record
from catalog.field_reports import add_report, get_report, may_file_report, report_form_key
from catalog.models import Report
from catalog.schemas import Principal
from catalog.sqltypes import INT32_MAX
from catalog.summaries import DailyDetails, StatusDetails, csv_rows, search_reports
from web import auth
from web.auth_service import exchange_form_password
from web.deps import (
    NowDep,
    SessionDep,
    SettingsDep,
    StaffDep,
    checked_principal,
    forbid_unknown_query,
)

router = APIRouter(tags=["reports"])
ReportKind = Literal["daily", "status"]
WITHDRAW_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Not signed in"},
    403: {"description": "Not staff"},
    404: {"description": "No such report"},
    409: {"description": "Held by another center: withdraw it there"},
}
WRITE_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Neither signed in nor holding the form's grant"},
    403: {"description": "Signed in, but neither staff nor holding the form's grant"},
    422: {"description": "Invalid report"},
}


class ReportRead(BaseModel):
    """One report as the field catalog lists it."""

    id: int
    public_id: str
    kind: ReportKind
    report_date: date
    title: str
    body: str
    center: str
    """The origin center (where the report was typed)."""
    system: str | None = None
    """The measuring system of a status report."""
    details: dict[str, Any] | None = None
    """Structured content: a daily summary's flights, sampling, overpasses, weather, notes;
    a status report's system, status, since, until, note (docs/field-catalog.md)."""
    created_at: datetime


class ReportList(BaseModel):
    """Reports, newest report date first."""

    items: list[ReportRead]


class ReportWrite(BaseModel):
    """A new daily summary or instrument status report."""

    kind: ReportKind
    report_date: date
    title: str = Field(min_length=1, max_length=500)
    body: str = Field(default="", max_length=20_000)
    details: DailyDetails | StatusDetails | None = None
    """Structured content; a status report about a registered system needs that system's
    own form grant (or staff)."""


def _read(report: Report) -> ReportRead:
    return ReportRead(
        id=report.id, public_id=report.public_id, kind=report.kind, report_date=report.report_date,
        title=report.title, body=report.body, center=report.center_code,
        system=report.system_code, details=report.details, created_at=report.created_at,
    )  # fmt: skip


Filters = dict[str, Any]
FILTERS = ("kind", "q", "start", "end", "system")


def report_filters(
    kind: ReportKind | None = None,
    q: Annotated[str | None, Query(max_length=200)] = None,
    start: date | None = None,
    end: date | None = None,
    system: Annotated[str | None, Query(max_length=32)] = None,
) -> Filters:
    """The search of reports: kind, words, day range, measuring system."""
    return {"kind": kind, "q": q, "start": start, "end": end, "system": system}


@router.get("/reports", dependencies=[forbid_unknown_query(*FILTERS, "limit")])
def get_reports(
    session: SessionDep,
    filters: Annotated[Filters, Depends(report_filters)],
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> ReportList:
    """Daily summaries and status reports of every center, newest first, searchable (public)."""
    return ReportList(items=[_read(r) for r in search_reports(session, **filters, limit=limit)])


@router.get(
    "/reports/export",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}, "application/json": {}}}},
    dependencies=[forbid_unknown_query(*FILTERS, "format")],
)
def export_reports(
    session: SessionDep,
    filters: Annotated[Filters, Depends(report_filters)],
    format: Literal["json", "csv"] = "json",
) -> Response:
    """The reports found, whole, as JSON or CSV (public; at most 5000)."""
    found = search_reports(session, **filters, limit=5000)
    if format == "csv":
        named = {"Content-Disposition": 'attachment; filename="reports.csv"'}
        return Response(csv_rows(found), media_type="text/csv; charset=utf-8", headers=named)
    body = ReportList(items=[_read(r) for r in found]).model_dump_json()
    return Response(body, media_type="application/json")


@router.post(
    "/reports", status_code=201, responses=WRITE_ERRORS, dependencies=[forbid_unknown_query()]
)
def post_report(
    body: ReportWrite,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    principal: Annotated[Principal, Depends(checked_principal)],
) -> ReportRead:
    """Add a report (staff, or the holder of the kind's form grant)."""
    holder = auth.grant_holder(request)
    details = None if body.details is None else body.details.model_dump(mode="json")
    if not may_file_report(session, principal, holder, body.kind, details, now):
        hint = f"exchange the {body.kind} form's password at /api/v1/reports/{body.kind}/grant"
        if principal.user_id is None:
            raise AuthenticationRequiredError(f"sign in as staff, or {hint}")
        raise RoleRequiredError(f"only staff post reports without a grant; {hint}")
    report = add_report(
        session, campaign_code=settings.campaign.code, center_code=settings.center_code,
        kind=body.kind, report_date=body.report_date, title=body.title, body=body.body,
        author=principal, now=now, details=details,
    )  # fmt: skip
    return _read(report)


@router.post(
    "/reports/{kind}/grant",
    responses={403: {"description": "Wrong password"}, 429: {"description": "Too many attempts"}},
    dependencies=[forbid_unknown_query()],
)
def create_report_grant(
    kind: ReportKind,
    body: PasswordBody,
    request: Request,
    response: Response,
    settings: SettingsDep,
    now: NowDep,
) -> GrantRead:
    """Exchange a report form's password for a short-lived grant (cookie `fieldcat_grant`)."""
    grant = exchange_form_password(
        request.app.state.session_factory, report_form_key(kind), body.password,
        client=auth.client_address(request, settings.access.trusted_proxies),
        holder=auth.grant_holder(request), now=now, access=settings.access,
    )  # fmt: skip
    return grant_answer(grant, request, response, settings, now)


@router.delete(
    "/reports/{report_id}",
    status_code=204,
    responses=WITHDRAW_ERRORS,
    dependencies=[forbid_unknown_query("reason")],
)
def delete_report(
    report_id: Annotated[int, PathParam(ge=1, le=INT32_MAX, description="a report's id")],
    reason: Annotated[str, Query(min_length=3, max_length=2000)],
    session: SessionDep,
    settings: SettingsDep,
    staff: StaffDep,
    now: NowDep,
) -> Response:
    """Staff: withdraw a report of this center (a tombstone travels to the peers)."""
    withdraw_field_record(
        session, get_report(session, report_id), local_code=settings.center_code,
        actor=staff, reason=reason, now=now,
    )  # fmt: skip
    return Response(status_code=204)
