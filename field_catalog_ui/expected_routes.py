"""What is still to come, as a page: every center's expected deliveries with where each stands,
and for staff the forms that record, change and withdraw this center's entries (as
`/api/v1/expected` does, `catalog.expected`). An entry recorded at another center is shown with
its center and no form: it is changed there. A refused form comes back as typed, the message
on top and focused.
"""

# No `from __future__ import annotations`: FastAPI reads the `Annotated` parameters.
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Form
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog.errors import CatalogError, InvalidQueryError, NotFoundError
from catalog.expected import CATEGORIES, add_expected, edit_expected, judge_all, tally
from catalog.expected import withdraw_expected as withdraw
from catalog.summary_models import ExpectedDelivery
from field_catalog_ui.rendering import Page, PageDep, StaffUser
from web.deps import CsrfDep, NowDep, SessionDep, SettingsDep
from web.params import ExpectedId

router = APIRouter(include_in_schema=False)
NEW_FIELDS = ("pi_name", "did", "platform", "instrument", "category", "description", "due")
"""The new-entry form's fields, as they come back when refused."""


class NewForm(BaseModel):
    """The new-entry form as typed."""

    pi_name: str = Field(default="", max_length=200)
    did: str = Field(default="", max_length=64)
    platform: str = Field(default="", max_length=200)
    instrument: str = Field(default="", max_length=200)
    category: str = Field(default="research", max_length=16)
    description: str = Field(default="", max_length=5000)
    due: str = Field(default="", max_length=10)

    def typed(self) -> dict[str, str]:
        return {name: str(getattr(self, name)).strip() for name in NEW_FIELDS}


class EditForm(BaseModel):
    """The change form as typed: the due day and the note (the rest names the data)."""

    due: str = Field(default="", max_length=10)
    description: str = Field(default="", max_length=5000)


class WithdrawForm(BaseModel):
    """Why the entry is withdrawn (kept in the audit)."""

    reason: str = Field(default="", max_length=2000)


def _due(text: str) -> date | None:
    """The due day typed as YYYY-MM-DD (empty: the campaign's default)."""
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidQueryError(f"the due day {text!r} is not a date (YYYY-MM-DD)") from None


def expected_list(
    page: Page, session: Session, today: date, *, typed: dict[str, str] | None = None,
    error: str | None = None, status: int = 200,
) -> HTMLResponse:  # fmt: skip
    """The list and the tally; for staff, the new-entry form (filled with `typed`)."""
    judged = judge_all(session, today)
    context = {
        "title": "Expected deliveries", "judged": judged,
        "tally": sorted(tally(judged).items()), "categories": CATEGORIES,
        "typed": typed or dict.fromkeys(NEW_FIELDS, "") | {"category": "research"},
        "error": error, "local": page.node.center_code,
    }  # fmt: skip
    return page.render("expected.html", context, status=status)


def _local_entry(session: Session, public_id: str, local: str) -> ExpectedDelivery:
    """This center's entry (a 404 for another center's: it has no form here)."""
    found = session.scalar(
        select(ExpectedDelivery).where(
            ExpectedDelivery.public_id == public_id, ExpectedDelivery.center_code == local
        )
    )
    if found is None:
        raise NotFoundError("This center recorded no such expected delivery.")
    return found


def _stored(entry: ExpectedDelivery) -> dict[str, str]:
    """The change form's fields as the entry holds them."""
    return {"due": entry.due.isoformat(), "description": entry.description}


def edit_page(
    page: Page, entry: ExpectedDelivery, typed: dict[str, str], *, error: str | None = None,
    status: int = 200,
) -> HTMLResponse:  # fmt: skip
    context = {"title": "Change an expected delivery", "entry": entry, "typed": typed,
               "error": error}  # fmt: skip
    return page.render("expected_form.html", context, status=status, csrf=True)


@router.get("/expected", response_class=HTMLResponse)
def expected_page(page: PageDep, session: SessionDep, now: NowDep) -> HTMLResponse:
    """What is still to come: every center's expected deliveries, received, late or waiting."""
    return expected_list(page, session, now.date())


@router.post("/expected", response_model=None)
def create_expected(
    _csrf: CsrfDep, page: PageDep, user: StaffUser, session: SessionDep,
    settings: SettingsDep, now: NowDep, form: Annotated[NewForm, Form()],
) -> Response:  # fmt: skip
    """Staff: record an expected delivery; refused, the page with the form as typed."""
    typed = form.typed()
    try:
        if not typed["pi_name"]:
            raise InvalidQueryError("name the PI who is to deliver the data")
        made = add_expected(
            session, campaign_code=settings.campaign.code, center_code=settings.center_code,
            pi_name=typed["pi_name"], did=typed["did"] or None, platform=typed["platform"],
            instrument=typed["instrument"], category=typed["category"],
            description=typed["description"], due=_due(typed["due"]), now=now,
        )  # fmt: skip
    except CatalogError as err:  # refused before anything was added
        return expected_list(page, session, now.date(), typed=typed, error=str(err), status=400)
    return RedirectResponse(f"/expected#expected-{made.public_id}", status_code=303)


@router.get("/expected/{expected_id}/edit", response_class=HTMLResponse)
def edit_expected_page(
    expected_id: ExpectedId, page: PageDep, user: StaffUser, session: SessionDep
) -> HTMLResponse:
    """Staff: the change and withdraw forms of one of this center's entries."""
    entry = _local_entry(session, expected_id, page.node.center_code)
    return edit_page(page, entry, _stored(entry))


@router.post("/expected/{expected_id}", response_model=None)
def change_expected(
    _csrf: CsrfDep, expected_id: ExpectedId, page: PageDep, user: StaffUser,
    session: SessionDep, now: NowDep, form: Annotated[EditForm, Form()],
) -> Response:  # fmt: skip
    """Staff: change the due day or note (audited; the peers follow)."""
    entry = _local_entry(session, expected_id, page.node.center_code)
    typed = {"due": form.due.strip(), "description": form.description.strip()}
    try:
        due = _due(typed["due"])
        if due is None:
            raise InvalidQueryError("give the due day (YYYY-MM-DD)")
        edit_expected(session, expected_id, local_code=page.node.center_code, due=due,
                      description=typed["description"], actor=user, now=now)  # fmt: skip
    except CatalogError as err:
        return edit_page(page, entry, typed, error=str(err), status=400)
    return RedirectResponse(f"/expected#expected-{expected_id}", status_code=303)


@router.post("/expected/{expected_id}/withdraw", response_model=None)
def withdraw_expected(
    _csrf: CsrfDep, expected_id: ExpectedId, page: PageDep, user: StaffUser,
    session: SessionDep, now: NowDep, form: Annotated[WithdrawForm, Form()],
) -> Response:  # fmt: skip
    """Staff: withdraw the entry with a reason (audited; a tombstone travels to the peers)."""
    entry = _local_entry(session, expected_id, page.node.center_code)
    reason = form.reason.strip()
    typed = _stored(entry)
    if len(reason) < 3:
        error = "say why the entry is withdrawn (at least 3 characters)"
        return edit_page(page, entry, typed | {"reason": reason}, error=error, status=400)
    withdraw(session, expected_id, local_code=page.node.center_code, actor=user,
             reason=reason, now=now)  # fmt: skip
    return RedirectResponse("/expected", status_code=303)
