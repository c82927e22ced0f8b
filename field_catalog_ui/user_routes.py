"""User management: staff see the users, admins add them and change role or activity.

Each change is one `catalog.users` call and an audit event (`catalog.audit.record_event`).
"""

# No `from __future__ import annotations`: FastAPI must see the local `Annotated` aliases.

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from catalog.audit import record_event
from catalog.errors import CatalogError
from catalog.schemas import Principal, Role
from catalog.users import create_user, get_user, list_users, set_active, set_role
from field_catalog_ui.deps import NodeInfo, UiDeps
from field_catalog_ui.rendering import STAFF_ROLES, Renderer

ROLE_CHOICES = {"pi": "PI", "staff": "Staff", "admin": "Admin"}


def add_user_routes(router: APIRouter, deps: UiDeps, render: Renderer) -> None:
    """`GET /staff/users`, `POST /staff/users`, `POST /staff/users/{username}`."""
    SessionDep = Annotated[Session, Depends(deps.session, scope="function")]
    PrincipalDep = Annotated[Principal, Depends(deps.principal)]
    NowDep = Annotated[Any, Depends(deps.now)]
    NodeDep = Annotated[NodeInfo, Depends(deps.settings)]

    def gate(
        request: Request, principal: Principal, node: NodeInfo, *, admin: bool
    ) -> Response | None:
        if principal.user_id is None:
            return RedirectResponse(f"/signin?next={quote(request.url.path, safe='/')}", 303)
        allowed = (Role.ADMIN,) if admin else STAFF_ROLES
        if principal.role not in allowed:
            who = "admins" if admin else "center staff"
            context = {"title": "Not allowed", "message": f"This is for {who}."}
            return render.page(request, node, "error.html", context, status=403, user=principal)
        return None

    def page(
        request: Request,
        session: Session,
        principal: Principal,
        node: NodeInfo,
        error: str | None = None,
    ) -> Response:
        context = {
            "title": "Users",
            "users": list_users(session),
            "roles": ROLE_CHOICES,
            "can_edit": principal.role is Role.ADMIN,
            "error": error,
        }
        status = 400 if error else 200
        return render.page(request, node, "users.html", context, status=status, user=principal)

    @router.get("/staff/users", response_model=None)
    def users(
        request: Request, session: SessionDep, principal: PrincipalDep, node: NodeDep
    ) -> Response:
        return gate(request, principal, node, admin=False) or page(
            request, session, principal, node
        )

    @router.post("/staff/users", response_model=None, dependencies=[Depends(deps.verify_csrf)])
    def add_user(
        request: Request,
        session: SessionDep,
        principal: PrincipalDep,
        node: NodeDep,
        now: NowDep,
        username: Annotated[str, Form(max_length=64)],
        password: Annotated[str, Form(min_length=8, max_length=1024)],
        role: Annotated[str, Form(max_length=16)],
        display_name: Annotated[str, Form(max_length=200)] = "",
    ) -> Response:
        refused = gate(request, principal, node, admin=True)
        if refused is not None:
            return refused
        try:
            user = create_user(
                session,
                username=username,
                password=password,
                role=Role(role),
                display_name=display_name or None,
                now=now,
            )
        except (CatalogError, ValueError) as err:
            message = str(err) if isinstance(err, CatalogError) else "Choose a listed role."
            return page(request, session, principal, node, error=message)
        record_event(
            session,
            actor=principal,
            action="user.add",
            now=now,
            reason=f"added {user.username}",
            after={"role": user.role},
        )
        return RedirectResponse("/staff/users", status_code=303)

    @router.post(
        "/staff/users/{username}", response_model=None, dependencies=[Depends(deps.verify_csrf)]
    )
    def change_user(
        request: Request,
        username: str,
        session: SessionDep,
        principal: PrincipalDep,
        node: NodeDep,
        now: NowDep,
        role: Annotated[str, Form(max_length=16)],
        active: Annotated[str, Form(max_length=8)] = "",
    ) -> Response:
        refused = gate(request, principal, node, admin=True)
        if refused is not None:
            return refused
        try:
            user = get_user(session, username)
            before = {"role": user.role, "active": user.active}
            set_role(session, user, Role(role))
            set_active(session, user, active == "on")
        except (CatalogError, ValueError) as err:
            message = str(err) if isinstance(err, CatalogError) else "Choose a listed role."
            return page(request, session, principal, node, error=message)
        after = {"role": user.role, "active": user.active}
        if after != before:
            record_event(
                session,
                actor=principal,
                action="user.change",
                now=now,
                reason=f"changed {user.username}",
                before=before,
                after=after,
            )
        return RedirectResponse("/staff/users", status_code=303)
