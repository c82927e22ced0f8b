"""Staff pages: datasets by release date, and setting, extending or lifting access with a
reason (through `catalog.access_admin.change_access`, audited and sent to the peers)."""

# No `from __future__ import annotations`: FastAPI must see the local `Annotated` aliases.

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from catalog.access import AccessState
from catalog.access_admin import AccessRequest, change_access, list_restricted
from catalog.audit import list_events
from catalog.errors import CatalogError, NotFoundError
from catalog.schemas import Principal
from field_catalog_ui import pages
from field_catalog_ui.deps import NodeInfo, UiDeps
from field_catalog_ui.forms import parse_time
from field_catalog_ui.rendering import STAFF_ROLES, Renderer


def add_staff_routes(router: APIRouter, deps: UiDeps, render: Renderer) -> None:
    """`GET /staff/embargoes` and `POST /datasets/{id}/access`."""
    SessionDep = Annotated[Session, Depends(deps.session, scope="function")]
    PrincipalDep = Annotated[Principal, Depends(deps.principal)]
    NowDep = Annotated[Any, Depends(deps.now)]
    NodeDep = Annotated[NodeInfo, Depends(deps.settings)]

    def gate(request: Request, principal: Principal, node: NodeInfo) -> Response | None:
        if principal.user_id is None:
            target = quote(request.url.path, safe="/")
            return RedirectResponse(f"/signin?next={target}", status_code=303)
        if principal.role not in STAFF_ROLES:
            context = {"title": "Staff only", "message": "This page is for center staff."}
            return render.page(request, node, "error.html", context, status=403, user=principal)
        return None

    @router.get("/staff/embargoes", response_model=None)
    def embargoes(
        request: Request, session: SessionDep, principal: PrincipalDep, now: NowDep, node: NodeDep
    ) -> Response:
        refused = gate(request, principal, node)
        if refused is not None:
            return refused
        context = {
            "title": "Embargoes and restricted data",
            "restricted": list_restricted(session, now),
            "events": list_events(session, limit=50),
            "access_labels": pages.ACCESS_LABELS,
        }
        return render.page(request, node, "embargoes.html", context, user=principal)

    @router.post(
        "/datasets/{public_id}/access",
        response_model=None,
        dependencies=[Depends(deps.verify_csrf)],
    )
    def set_access(
        request: Request,
        public_id: str,
        session: SessionDep,
        principal: PrincipalDep,
        now: NowDep,
        node: NodeDep,
        state: Annotated[str, Form(max_length=32)],
        reason: Annotated[str, Form(max_length=2000)] = "",
        release_at: Annotated[str, Form(max_length=64)] = "",
        password: Annotated[str, Form(max_length=1024)] = "",
    ) -> Response:
        refused = gate(request, principal, node)
        if refused is not None:
            return refused
        try:
            wanted = AccessRequest(
                state=AccessState(state),
                reason=reason,
                release_at=parse_time(release_at) if release_at.strip() else None,
                password=password or None,
            )
            change_access(session, public_id, wanted, actor=principal, now=now)
        except NotFoundError:
            context = {"title": "Not found", "message": "There is no such dataset here."}
            return render.page(request, node, "error.html", context, status=404, user=principal)
        except (CatalogError, ValueError) as err:
            message = str(err) if isinstance(err, CatalogError) else "Check the state and date."
            context = pages.dataset_context(session, public_id, principal, now, node)
            context |= pages.staff_context(session, public_id)
            context["access_error"] = message
            return render.page(request, node, "dataset.html", context, status=400, user=principal)
        return RedirectResponse(f"/datasets/{public_id}#access-h", status_code=303)
