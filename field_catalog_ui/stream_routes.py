"""The staff page of the node's receivers (FTP drop, watched folder, ingest streams): what the
worker's supervisor last saw of each, and start, stop and restart buttons. A change is
staff's wish in the database, audited, which the supervisor acts on within a second
(`catalog.receiver_control`, the same as `fieldcat streams`)."""

# No `from __future__ import annotations`: FastAPI reads the `Annotated` parameters.

from typing import Annotated

from fastapi import APIRouter, Form
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from catalog.receiver_control import ACTIONS, control, seen_all, supervised, wishes
from field_catalog_ui.rendering import PageDep, StaffUser
from web.deps import CsrfDep, NowDep, SessionDep

router = APIRouter(include_in_schema=False)


@router.get("/staff/streams", response_class=HTMLResponse)
def streams(page: PageDep, user: StaffUser, session: SessionDep) -> HTMLResponse:
    """Every receiver: state, restarts, what staff want, detail; and its buttons."""
    context = {
        "title": "Receivers and streams",
        "receivers": seen_all(session),
        "wishes": wishes(session),
        "actions": ACTIONS,
    }
    return page.render("streams.html", context)


@router.post("/staff/streams/{name}", response_model=None)
def act(
    _csrf: CsrfDep,
    user: StaffUser,
    name: str,
    session: SessionDep,
    now: NowDep,
    action: Annotated[str, Form(max_length=16)],
) -> Response:
    """Start, stop or restart one receiver (audited), then back to the page."""
    supervised(session, name)
    label = user.username or user.role.value
    control(session, name, action, actor=user, label=label, now=now)
    return RedirectResponse("/staff/streams", status_code=303)
