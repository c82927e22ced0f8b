"""Held-mail pages: staff release or discard held messages; a sender confirms theirs with the
signed link mailed to their registered address (signed in as that user). Each form posts with
its CSRF token and calls `submissions.held_release`, as the API does."""

# No `from __future__ import annotations`: FastAPI reads the `Annotated` parameters.

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Form, Path, Query
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog.errors import CatalogError
from catalog.held_mail import Confirmation, list_held_mail, past_retention
from catalog.intake_models import HeldMail
from field_catalog_ui.rendering import Page, PageDep, StaffUser, Submitter
from submissions.held_release import confirm_held, discard_held, release_held
from submissions.mail_intake import MailDesk
from web.deps import CsrfDep, NowDep, SessionDep, SettingsDep
from web.mail_desk import MailDeskDep
from web.settings import Settings

router = APIRouter(include_in_schema=False)
HeldId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,32}$")]


def _queue_page(page: Page, session: Session, settings: Settings, now: datetime,
                error: str = "", status: int = 200) -> HTMLResponse:  # fmt: skip
    days = settings.submissions.mail.held_retention_days
    items = list_held_mail(session, limit=1000)
    context = {
        "title": "Held mail", "items": items, "retention_days": days, "error": error,
        "overdue": {m.public_id for m in items if past_retention(m, now, days)},
    }  # fmt: skip
    return page.render("held_mail.html", context, status=status)


def _refused(page: Page, desk: MailDesk, settings: Settings, now: datetime,
             error: str) -> HTMLResponse:  # fmt: skip
    """The queue with why the action was refused (the request's session was handed back)."""
    with desk.sessions() as session:
        return _queue_page(page, session, settings, now, error=error, status=400)


@router.get("/staff/mail", response_class=HTMLResponse)
def held_mail(
    page: PageDep, user: StaffUser, session: SessionDep, settings: SettingsDep, now: NowDep
) -> HTMLResponse:
    """Mail the e-mail intake held: no valid personal address, so its sender is unproven."""
    return _queue_page(page, session, settings, now)


@router.post("/staff/mail/{held_id}/release", response_model=None)
def release(
    _csrf: CsrfDep, page: PageDep, user: StaffUser, held_id: HeldId, session: SessionDep,
    settings: SettingsDep, now: NowDep, desk: MailDeskDep,
    username: Annotated[str, Form(max_length=100)],
    reason: Annotated[str, Form(max_length=2000)] = "",
) -> Response:  # fmt: skip
    """File a held message as the chosen user's; refused: the queue with the message."""
    session.commit()
    try:
        release_held(desk, held_id, username.strip(), user, reason)
    except CatalogError as err:
        return _refused(page, desk, settings, now, str(err))
    return RedirectResponse("/staff/mail", status_code=303)


@router.post("/staff/mail/{held_id}/discard", response_model=None)
def discard(
    _csrf: CsrfDep, page: PageDep, user: StaffUser, held_id: HeldId, session: SessionDep,
    settings: SettingsDep, now: NowDep, desk: MailDeskDep,
    reason: Annotated[str, Form(max_length=2000)] = "",
) -> Response:  # fmt: skip
    """Discard a held message with a reason (told to its sender)."""
    session.commit()
    if len(reason.strip()) < 3:
        return _refused(page, desk, settings, now, "Give the reason the sender will be told.")
    try:
        discard_held(desk, held_id, user, reason)
    except CatalogError as err:
        return _refused(page, desk, settings, now, str(err))
    return RedirectResponse("/staff/mail", status_code=303)


def _confirm_context(
    held: HeldMail | None, held_id: str, u: int, e: int, s: str
) -> dict[str, object]:
    return {"title": "Confirm your message", "held": held, "held_id": held_id, "u": u, "e": e,
            "s": s}  # fmt: skip


@router.get("/mail/confirm/{held_id}", response_class=HTMLResponse)
def confirm_page(
    page: PageDep, user: Submitter, held_id: HeldId, session: SessionDep,
    u: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
    e: Annotated[int, Query(ge=0, le=2**40)] = 0,
    s: Annotated[str, Query(max_length=64)] = "",
) -> HTMLResponse:  # fmt: skip
    """What the link confirms, and the button that files it (a link alone changes nothing)."""
    held = session.scalars(select(HeldMail).where(HeldMail.public_id == held_id)).first()
    mine = held is not None and user.user_id == u
    return page.render("confirm_mail.html", _confirm_context(held if mine else None,
                                                             held_id, u, e, s))  # fmt: skip


@router.post("/mail/confirm/{held_id}", response_model=None)
def confirm(
    _csrf: CsrfDep, page: PageDep, user: Submitter, held_id: HeldId, session: SessionDep,
    desk: MailDeskDep, u: Annotated[int, Form(ge=0, le=2**31 - 1)],
    e: Annotated[int, Form(ge=0, le=2**40)], s: Annotated[str, Form(max_length=64)],
) -> Response:  # fmt: skip
    """File the held message as the signed-in user's, if the link is theirs and valid."""
    session.commit()
    try:
        outcome = confirm_held(desk, Confirmation(held_id, u, e, s), user)
    except CatalogError as err:
        context = _confirm_context(None, held_id, u, e, s) | {"error": str(err)}
        return page.render("confirm_mail.html", context, status=400)
    context = _confirm_context(None, held_id, u, e, s) | {"outcome": outcome}
    return page.render("confirm_mail.html", context)
