"""Staff pages: datasets by release date, and setting, extending or lifting access with a
reason (through `catalog.access_admin.change_access`, audited and sent to the peers).

A refused change renders the dataset page again with the form as typed (never the password)
and the message at the form's top; the form posts to `#access-errors`, so the browser lands
on the message and focuses it. A mirrored record has no form: its origin's page is linked.
"""

# No `from __future__ import annotations`: FastAPI reads the `Annotated` parameters.

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Form
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from catalog.access import RELEASING_STATES, AccessState
from catalog.access_admin import AccessRequest, change_access, list_restricted
from catalog.audit import list_events
from catalog.errors import CatalogError, InvalidQueryError, NotFoundError
from catalog.schemas import Principal
from catalog.search import get_dataset
from field_catalog_ui import pages
from field_catalog_ui.forms import parse_time
from field_catalog_ui.rendering import PageDep, StaffUser
from web.deps import CsrfDep, NowDep, SessionDep

router = APIRouter(include_in_schema=False)


@router.get("/staff/embargoes", response_class=HTMLResponse)
def embargoes(page: PageDep, user: StaffUser, session: SessionDep, now: NowDep) -> HTMLResponse:
    """Restricted datasets by release date, and the latest access changes."""
    context = {
        "title": "Embargoes and restricted data",
        "restricted": list_restricted(session, now),
        "events": list_events(session, limit=50),
        "access_labels": pages.ACCESS_LABELS,
    }
    return page.render("embargoes.html", context)


def access_request(state: str, reason: str, release_at: str, password: str) -> AccessRequest:
    """The access form as an `AccessRequest` (`InvalidQueryError` naming the wrong field)."""
    try:
        wanted_state = AccessState(state)
    except ValueError as err:
        raise InvalidQueryError("Choose one of the listed access states.") from err
    try:
        release = parse_time(release_at.strip()) if release_at.strip() else None
    except (ValueError, OverflowError) as err:
        message = "Give the release date as YYYY-MM-DD (or a date and time, UTC)."
        raise InvalidQueryError(message) from err
    return AccessRequest(
        state=wanted_state, reason=reason, release_at=release, password=password or None
    )


@router.post("/datasets/{public_id}/access", response_model=None)
def set_access(
    _csrf: CsrfDep,
    page: PageDep,
    user: StaffUser,
    public_id: str,
    session: SessionDep,
    now: NowDep,
    state: Annotated[str, Form(max_length=32)],
    reason: Annotated[str, Form(max_length=2000)] = "",
    release_at: Annotated[str, Form(max_length=64)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
) -> Response:
    """Change a dataset's access; refused: the page with the form as typed, message on top."""
    try:
        wanted = access_request(state, reason, release_at, password)
        check_campaign_default(session, public_id, wanted, user, now)
        change_access(session, public_id, wanted, actor=user, now=now)
    except NotFoundError:
        raise
    except CatalogError as err:
        context = pages.dataset_context(session, page.store, public_id, user, now, page.node)
        typed = {"state": state, "release_at": release_at, "reason": reason}
        context |= pages.staff_context(session, context["d"], now, typed, error=str(err))
        return page.render("dataset.html", context, status=400)
    return RedirectResponse(f"/datasets/{public_id}#access-h", status_code=303)


def check_campaign_default(
    session: Session, public_id: str, wanted: AccessRequest, user: Principal, now: datetime
) -> None:
    """Refuse an empty release date whose campaign default has passed, saying what it means.

    `change_access` refuses it too ("must be in the future"), without saying that the date
    was the campaign's default, nor which date that is.
    """
    if wanted.release_at is not None or wanted.state not in RELEASING_STATES:
        return
    detail = get_dataset(session, public_id, user, now)
    note = pages.campaign_default_note(pages.campaign_default_release(session, detail), now)
    if note is not None and not detail.is_mirror:
        raise InvalidQueryError(note)
