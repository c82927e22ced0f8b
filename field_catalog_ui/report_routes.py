"""Daily summaries and instrument status reports: public listings, and one entry form per
kind behind its own password (exchanged once for a short-lived grant; staff need none)."""

# No `from __future__ import annotations`: FastAPI must see the local `Annotated` aliases.

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from catalog.errors import CatalogError, RateLimitedError
from catalog.field_reports import (
    REPORT_KINDS,
    add_report,
    list_reports,
    may_write_report,
    report_form_key,
)
from catalog.grants import set_form_password
from catalog.schemas import Principal
from field_catalog_ui.deps import UiDeps
from field_catalog_ui.rendering import STAFF_ROLES, Renderer


def add_report_routes(router: APIRouter, deps: UiDeps, render: Renderer) -> None:
    """`/reports` listings, `/reports/{kind}/new` forms and their password exchange."""
    SessionDep = Annotated[Session, Depends(deps.session, scope="function")]
    PrincipalDep = Annotated[Principal, Depends(deps.principal)]
    NowDep = Annotated[Any, Depends(deps.now)]
    NodeDep = Annotated[Any, Depends(deps.settings)]
    CsrfDep = [Depends(deps.verify_csrf)]

    def may_write(
        request: Request, session: Session, principal: Principal, kind: str, now: Any
    ) -> bool:
        return may_write_report(session, principal, deps.grant_holder(request), kind, now)

    def unknown(request: Request, node: Any, principal: Principal) -> Response:
        context = {"title": "Not found", "message": "There is no such report form."}
        return render.page(request, node, "error.html", context, status=404, user=principal)

    @router.get("/reports", response_model=None)
    def reports(
        request: Request,
        session: SessionDep,
        principal: PrincipalDep,
        node: NodeDep,
        kind: Annotated[str, Query(max_length=16)] = "",
    ) -> Response:
        shown = kind if kind in REPORT_KINDS else ""
        context = {
            "title": REPORT_KINDS.get(shown, "Reports"),
            "kind": shown,
            "kinds": REPORT_KINDS,
            "reports": list_reports(session, kind=shown or None),
        }
        return render.page(request, node, "reports.html", context, user=principal)

    def form_page(
        request: Request,
        node: Any,
        principal: Principal,
        kind: str,
        *,
        allowed: bool,
        error: str | None = None,
        status: int = 200,
    ) -> Response:
        context = {
            "title": f"New {REPORT_KINDS[kind].lower()}",
            "kind": kind,
            "label": REPORT_KINDS[kind],
            "allowed": allowed,
            "error": error,
            "today": date.today().isoformat(),
        }
        return render.page(
            request, node, "report_form.html", context, status=status, user=principal, csrf=True
        )

    @router.get("/reports/{kind}/new", response_model=None)
    def new_report(
        request: Request,
        kind: str,
        session: SessionDep,
        principal: PrincipalDep,
        node: NodeDep,
        now: NowDep,
    ) -> Response:
        if kind not in REPORT_KINDS:
            return unknown(request, node, principal)
        allowed = may_write(request, session, principal, kind, now)
        return form_page(request, node, principal, kind, allowed=allowed)

    @router.post("/reports/{kind}/password", response_model=None, dependencies=CsrfDep)
    def unlock(
        request: Request,
        kind: str,
        principal: PrincipalDep,
        node: NodeDep,
        now: NowDep,
        password: Annotated[str, Form(max_length=1024)],
    ) -> Response:
        if kind not in REPORT_KINDS:
            return unknown(request, node, principal)
        response = RedirectResponse(f"/reports/{kind}/new", status_code=303)
        try:
            deps.exchange_form_password(request, response, report_form_key(kind), password, now)
        except CatalogError as err:
            status = 429 if isinstance(err, RateLimitedError) else 401
            message = str(err) if status == 429 else "Wrong password for this form."
            return form_page(
                request, node, principal, kind, allowed=False, error=message, status=status
            )
        return response

    @router.post("/reports/{kind}", response_model=None, dependencies=CsrfDep)
    def create(
        request: Request,
        kind: str,
        session: SessionDep,
        principal: PrincipalDep,
        node: NodeDep,
        now: NowDep,
        report_date: Annotated[date, Form()],
        title: Annotated[str, Form(max_length=500)],
        body: Annotated[str, Form(max_length=20_000)] = "",
    ) -> Response:
        if kind not in REPORT_KINDS:
            return unknown(request, node, principal)
        if not may_write(request, session, principal, kind, now):
            return form_page(
                request,
                node,
                principal,
                kind,
                allowed=False,
                status=403,
                error="Give the form's password first.",
            )
        try:
            add_report(
                session,
                campaign_code=node.campaign.code,
                center_code=node.center_code,
                kind=kind,
                report_date=report_date,
                title=title,
                body=body,
                author=principal,
                now=now,
            )
        except CatalogError as err:
            return form_page(
                request, node, principal, kind, allowed=True, error=str(err), status=400
            )
        return RedirectResponse(f"/reports?kind={kind}", status_code=303)

    @router.post("/reports/{kind}/form-password", response_model=None, dependencies=CsrfDep)
    def set_password(
        request: Request,
        kind: str,
        session: SessionDep,
        principal: PrincipalDep,
        node: NodeDep,
        now: NowDep,
        password: Annotated[str, Form(min_length=8, max_length=1024)],
    ) -> Response:
        if kind not in REPORT_KINDS:
            return unknown(request, node, principal)
        if principal.role not in STAFF_ROLES:
            context = {"title": "Staff only", "message": "Staff set the form passwords."}
            return render.page(request, node, "error.html", context, status=403, user=principal)
        set_form_password(session, report_form_key(kind), password, now)
        return RedirectResponse(f"/reports/{kind}/new", status_code=303)
