"""Daily summaries and instrument status reports: public listings, and one entry form per
kind behind its own password (exchanged once for a short-lived grant; staff need none)."""

# No `from __future__ import annotations`: FastAPI reads the `Annotated` parameters.

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from catalog.errors import CatalogError, NotFoundError, RateLimitedError
from catalog.field_reports import (
    REPORT_KINDS,
    add_report,
    list_reports,
    may_write_report,
    report_form_key,
)
from catalog.grants import set_form_password
from catalog.summaries import search_reports
from field_catalog_ui.calendar import month_weeks, neighbours, parse_month
from field_catalog_ui.rendering import Page, PageDep, StaffUser
from web.auth import grant_holder
from web.deps import CsrfDep, NowDep, SessionDep, SettingsDep
from web.sign_in import exchange_form_password

router = APIRouter(include_in_schema=False)


async def report_kind(kind: str) -> str:
    """The `{kind}` path segment, when it names a report kind (else a 404)."""
    if kind not in REPORT_KINDS:
        raise NotFoundError("There is no such report form.")
    return kind


KindDep = Annotated[str, Depends(report_kind)]


def form_page(
    page: Page, kind: str, *, allowed: bool, error: str | None = None, status: int = 200
) -> HTMLResponse:
    """The entry form of `kind` (or, when not `allowed`, its password form)."""
    context = {
        "title": f"New {REPORT_KINDS[kind].lower()}",
        "kind": kind,
        "label": REPORT_KINDS[kind],
        "allowed": allowed,
        "error": error,
        "today": date.today().isoformat(),
    }
    return page.render("report_form.html", context, status=status, csrf=True)


@router.get("/reports", response_class=HTMLResponse)
def reports(
    page: PageDep, session: SessionDep, kind: Annotated[str, Query(max_length=16)] = ""
) -> HTMLResponse:
    """The reports, all or of one kind."""
    shown = kind if kind in REPORT_KINDS else ""
    context = {
        "title": REPORT_KINDS.get(shown, "Reports"),
        "kind": shown,
        "kinds": REPORT_KINDS,
        "reports": list_reports(session, kind=shown or None),
    }
    return page.render("reports.html", context)


@router.get("/calendar", response_class=HTMLResponse)
def calendar_page(
    page: PageDep, session: SessionDep, settings: SettingsDep,
    month: Annotated[str, Query(max_length=7)] = "",
) -> HTMLResponse:  # fmt: skip
    """A month of every center's reports, day by day (the campaign's first month by default)."""
    first = parse_month(month, settings.campaign.start)
    last = (first.replace(day=28) + 4 * date.resolution).replace(day=1) - date.resolution
    found = search_reports(session, start=first, end=last, limit=5000)
    before, after = neighbours(first)
    context = {"title": "Campaign calendar", "first": first, "last": last, "before": before,
               "after": after, "weeks": month_weeks(first, found)}  # fmt: skip
    return page.render("calendar.html", context)


@router.get("/reports/{kind}/new", response_class=HTMLResponse)
def new_report(kind: KindDep, page: PageDep, session: SessionDep, now: NowDep) -> HTMLResponse:
    """The entry form, or its password form for a caller without the form's grant."""
    allowed = may_write_report(session, page.user, grant_holder(page.request), kind, now)
    return form_page(page, kind, allowed=allowed)


@router.post("/reports/{kind}/password", response_model=None)
def unlock(
    _csrf: CsrfDep,
    kind: KindDep,
    page: PageDep,
    now: NowDep,
    password: Annotated[str, Form(max_length=1024)],
) -> Response:
    """Exchange the form's password for a grant (kept in the grant cookie)."""
    response = RedirectResponse(f"/reports/{kind}/new", status_code=303)
    try:
        exchange_form_password(page.request, response, report_form_key(kind), password, now)
    except CatalogError as err:
        status = 429 if isinstance(err, RateLimitedError) else 401
        message = str(err) if status == 429 else "Wrong password for this form."
        return form_page(page, kind, allowed=False, error=message, status=status)
    return response


@router.post("/reports/{kind}", response_model=None)
def create(
    _csrf: CsrfDep,
    kind: KindDep,
    page: PageDep,
    session: SessionDep,
    now: NowDep,
    report_date: Annotated[date, Form()],
    title: Annotated[str, Form(max_length=500)],
    body: Annotated[str, Form(max_length=20_000)] = "",
) -> Response:
    """Add a report (staff, or a holder of the form's grant)."""
    if not may_write_report(session, page.user, grant_holder(page.request), kind, now):
        error = "Give the form's password first."
        return form_page(page, kind, allowed=False, status=403, error=error)
    try:
        add_report(
            session, campaign_code=page.node.campaign.code, center_code=page.node.center_code,
            kind=kind, report_date=report_date, title=title, body=body, author=page.user, now=now,
        )  # fmt: skip
    except CatalogError as err:
        return form_page(page, kind, allowed=True, error=str(err), status=400)
    return RedirectResponse(f"/reports?kind={kind}", status_code=303)


@router.post("/reports/{kind}/form-password", response_model=None)
def set_password(
    _csrf: CsrfDep,
    user: StaffUser,
    kind: KindDep,
    session: SessionDep,
    now: NowDep,
    password: Annotated[str, Form(min_length=8, max_length=1024)],
) -> Response:
    """Set a form's password (staff)."""
    set_form_password(session, report_form_key(kind), password, now)
    return RedirectResponse(f"/reports/{kind}/new", status_code=303)
