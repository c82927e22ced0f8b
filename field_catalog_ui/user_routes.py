"""User management: staff see the users, admins add them and change role or activity.

Each change is one `catalog.users` call and an audit event (`catalog.audit.record_event`).
"""

# No `from __future__ import annotations`: FastAPI reads the `Annotated` parameters.

from typing import Annotated

from fastapi import APIRouter, Form
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from catalog.audit import record_event
from catalog.errors import CatalogError, InvalidQueryError
from catalog.schemas import Role
from catalog.users import create_user, get_user, list_users, set_active, set_role
from field_catalog_ui.rendering import AdminUser, Page, PageDep, StaffUser
from web.deps import CsrfDep, NowDep, SessionDep

ROLE_CHOICES = {"pi": "PI", "staff": "Staff", "admin": "Admin"}

router = APIRouter(include_in_schema=False)


def users_page(page: Page, session: Session, error: str | None = None) -> HTMLResponse:
    """The user list (with the admin's forms), and the message of a refused change."""
    context = {
        "title": "Users",
        "users": list_users(session),
        "roles": ROLE_CHOICES,
        "can_edit": page.user.role is Role.ADMIN,
        "error": error,
    }
    return page.render("users.html", context, status=400 if error else 200)


def listed_role(role: str) -> Role:
    """A role chosen in the form (`InvalidQueryError` when it is not one of the listed)."""
    if role not in ROLE_CHOICES:
        raise InvalidQueryError("Choose a listed role.")
    return Role(role)


@router.get("/staff/users", response_class=HTMLResponse)
def users(page: PageDep, user: StaffUser, session: SessionDep) -> HTMLResponse:
    """The node's users."""
    return users_page(page, session)


@router.post("/staff/users", response_model=None)
def add_user(
    _csrf: CsrfDep,
    page: PageDep,
    admin: AdminUser,
    session: SessionDep,
    now: NowDep,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(min_length=8, max_length=1024)],
    role: Annotated[str, Form(max_length=16)],
    display_name: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Add a user (audited)."""
    try:
        user = create_user(
            session, username=username, password=password, role=listed_role(role),
            display_name=display_name or None, now=now,
        )  # fmt: skip
    except CatalogError as err:
        return users_page(page, session, error=str(err))
    after = {"role": user.role}
    reason = f"added {user.username}"
    record_event(session, actor=admin, action="user.add", now=now, reason=reason, after=after)
    return RedirectResponse("/staff/users", status_code=303)


@router.post("/staff/users/{username}", response_model=None)
def change_user(
    _csrf: CsrfDep,
    page: PageDep,
    admin: AdminUser,
    username: str,
    session: SessionDep,
    now: NowDep,
    role: Annotated[str, Form(max_length=16)],
    active: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    """Change a user's role and whether the account is active (audited when it changed)."""
    try:
        user = get_user(session, username)
        before = {"role": user.role, "active": user.active}
        set_role(session, user, listed_role(role))
        set_active(session, user, active == "on")
    except CatalogError as err:
        return users_page(page, session, error=str(err))
    after = {"role": user.role, "active": user.active}
    if after != before:
        record_event(
            session, actor=admin, action="user.change", now=now,
            reason=f"changed {user.username}", before=before, after=after,
        )  # fmt: skip
    return RedirectResponse("/staff/users", status_code=303)
