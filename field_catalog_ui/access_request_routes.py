"""Pages of shared access: the account page (your e-mail address, your access requests and
those you answer), asking for access from a dataset page, and approving or declining.

The pages call the same services as the API (`catalog.access_requests`); every form carries
its CSRF token (a vouched user's too).
"""

# No `from __future__ import annotations`: FastAPI reads the `Annotated` parameters.

from datetime import UTC, datetime, time
from typing import Annotated

from fastapi import APIRouter, Form
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from catalog.access_requests import Decision, Requester, decide, list_requests, request_access
from catalog.errors import AuthenticationRequiredError, ConflictError, InvalidQueryError
from catalog.models import User
from catalog.vouched import email_of, person
from field_catalog_ui.rendering import Page, PageDep
from web.deps import CsrfDep, NowDep, SessionDep

router = APIRouter(include_in_schema=False)
BAD_ADDRESS = " \r\n,;<>"


def _who(page: Page) -> tuple[str, str]:
    who = person(page.user, page.node.center_code)
    if who is None:
        raise AuthenticationRequiredError("sign in first")
    return who


def account_page(page: Page, session: Session, error: str | None = None) -> HTMLResponse:
    """Your address (local users), your requests, and those you may answer."""
    who = _who(page)
    rows = list_requests(session, page.user, who)
    context = {
        "title": "Your account", "error": error, "email": email_of(session, page.user),
        "local": page.user.home_center is None,
        "mine": [(r, d) for r, d in rows if (r.center, r.username) == who],
        "to_answer": [(r, d) for r, d in rows if (r.center, r.username) != who],
    }  # fmt: skip
    return page.render("account.html", context, status=400 if error else 200)


@router.get("/account", response_class=HTMLResponse)
def account(page: PageDep, session: SessionDep) -> HTMLResponse:
    """The account page."""
    return account_page(page, session)


@router.post("/account/email", response_model=None)
def set_email(
    _csrf: CsrfDep, page: PageDep, session: SessionDep,
    email: Annotated[str, Form(max_length=320)] = "",
) -> Response:  # fmt: skip
    """Set (or clear) where this center's notices go."""
    _who(page)
    user = session.get(User, page.user.user_id) if page.user.home_center is None else None
    email = email.strip()
    if user is None or (email and ("@" not in email or any(c in email for c in BAD_ADDRESS))):
        return account_page(page, session, error="Give an e-mail address, or leave it empty.")
    user.email = email
    return RedirectResponse("/account", status_code=303)


@router.post("/datasets/{public_id}/ask-access", response_model=None)
def ask_access(
    _csrf: CsrfDep, page: PageDep, public_id: str, session: SessionDep, now: NowDep,
    reason: Annotated[str, Form(max_length=2000)],
) -> Response:  # fmt: skip
    """Ask the owner for access (the dataset page's form); then the account page."""
    center, username = _who(page)
    who = Requester(center=center, username=username, email=email_of(session, page.user))
    try:
        request_access(session, public_id, actor=page.user, who=who, reason=reason, now=now)
    except (InvalidQueryError, ConflictError) as err:
        return account_page(page, session, error=str(err))
    return RedirectResponse("/account", status_code=303)


def _until(day: str) -> datetime | None:
    if not day:
        return None
    try:
        return datetime.combine(datetime.strptime(day, "%Y-%m-%d").date(), time(0), tzinfo=UTC)
    except ValueError as err:
        raise InvalidQueryError("give the expiry as a date, YYYY-MM-DD") from err


@router.post("/access-requests/{request_id}/decide", response_model=None)
def decide_request(
    _csrf: CsrfDep, page: PageDep, request_id: int, session: SessionDep, now: NowDep,
    decision: Annotated[str, Form(max_length=8)],
    until: Annotated[str, Form(max_length=10)] = "",
    note: Annotated[str, Form(max_length=2000)] = "",
) -> Response:  # fmt: skip
    """Approve (until a date) or decline a request; both sides are told."""
    _who(page)
    try:
        answer = Decision(approve=decision == "approve", expires_at=_until(until), note=note)
        decide(session, request_id, answer, actor=page.user, now=now)
    except (InvalidQueryError, ConflictError) as err:
        return account_page(page, session, error=str(err))
    return RedirectResponse("/account", status_code=303)
