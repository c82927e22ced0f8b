"""The transfer sources pages (staff, as `/api/v1/transfers`): each source with its pull
jobs and their runs, and the forms to add, change and delete a source (`catalog.
transfer_sources`). The secret is write-only: the form never shows it, and an empty secret
on a change keeps the stored one. A refused form comes back as typed (never the secret),
the message on top and focused.
"""

# No `from __future__ import annotations`: FastAPI reads the `Annotated` parameters.
from typing import Annotated, Any

from fastapi import APIRouter, Form
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog.errors import CatalogError, InvalidQueryError
from catalog.job_models import PERIODS, TRANSFER_AUTH, TransferSource
from catalog.jobs import pull_jobs_of
from catalog.models import User
from catalog.schemas import Role
from catalog.transfer_sources import (
    add_transfer_source,
    delete_transfer_source,
    get_transfer_source,
    transfer_sources_with_jobs,
    update_transfer_source,
)
from field_catalog_ui.forms import small_count
from field_catalog_ui.job_routes import KIND_LABELS, RUNS_SHOWN
from field_catalog_ui.rendering import Page, PageDep, StaffUser
from web.deps import CsrfDep, NowDep, SessionDep
from web.params import RowId

router = APIRouter(include_in_schema=False)
AUTH_LABELS = {
    "token": "Token from the pre-shared secret and a timestamp (as IAGOS does)",
    "hmac": "HMAC signature of each request with the secret and a key id (as our peers sign)",
}
assert tuple(AUTH_LABELS) == TRANSFER_AUTH
CATEGORIES = ("research", "operational")
ACCESS = ("open", "embargoed", "private")
FIELDS = ("name", "url", "auth", "key_id", "owner_user_id", "campaign", "category", "access",
          "period")  # fmt: skip
"""The form's fields as they come back when refused (the secret never does)."""


def source_form(
    page: Page, session: Session, typed: dict[str, str], *, source_id: int | None = None,
    error: str | None = None, status: int = 200,
) -> HTMLResponse:  # fmt: skip
    """The source form, new (`source_id` None) or for a source, filled with `typed`."""
    pis = session.execute(
        select(User.id, User.username, User.display_name)
        .where(User.role == Role.PI.value, User.active.is_(True)).order_by(User.username)
    ).all()  # fmt: skip
    context = {
        "title": "Change a transfer source" if source_id else "New transfer source",
        "source_id": source_id, "typed": typed, "error": error, "auths": AUTH_LABELS,
        "pis": pis, "periods": PERIODS, "categories": CATEGORIES, "access_states": ACCESS,
    }  # fmt: skip
    return page.render("transfer_form.html", context, status=status, csrf=True)


def _typed(session: Session, source: TransferSource) -> dict[str, str]:
    jobs = pull_jobs_of(session, source.id)
    return {
        "name": source.name, "url": source.url, "auth": source.auth, "key_id": source.key_id,
        "owner_user_id": str(source.owner_user_id), "campaign": source.campaign,
        "category": source.category or "", "access": source.access or "",
        "period": jobs[0].period if jobs else "",
    }  # fmt: skip


def _read(typed: dict[str, str]) -> dict[str, Any]:
    """The form as `catalog.transfer_sources` takes it (`InvalidQueryError` saying what)."""
    if not typed["name"]:
        raise InvalidQueryError("Give the source a name.")
    owner = small_count(typed["owner_user_id"])
    if not owner:
        raise InvalidQueryError("Choose the PI the source's files are submitted under.")
    if typed["category"] not in ("", *CATEGORIES) or typed["access"] not in ("", *ACCESS):
        raise InvalidQueryError("Choose a category and an access state from the lists.")
    if not typed["campaign"]:
        raise InvalidQueryError("Give the campaign the files belong to.")
    return {
        "name": typed["name"], "url": typed["url"], "auth": typed["auth"],
        "key_id": typed["key_id"], "owner_user_id": owner, "campaign": typed["campaign"],
        "category": typed["category"] or None, "access": typed["access"] or None,
        "period": typed["period"] or None,
    }  # fmt: skip


class SourceForm(BaseModel):
    """The source form's fields as typed."""

    name: str = Field(default="", max_length=200)
    url: str = Field(default="", max_length=1000)
    auth: str = Field(default="", max_length=8)
    key_id: str = Field(default="", max_length=100)
    secret: str = Field(default="", max_length=500)
    owner_user_id: str = Field(default="", max_length=12)
    campaign: str = Field(default="", max_length=32)
    category: str = Field(default="", max_length=16)
    access: str = Field(default="", max_length=16)
    period: str = Field(default="", max_length=16)

    def typed(self) -> dict[str, str]:
        """The fields, trimmed, as the form shows them again: never the secret."""
        return {name: str(getattr(self, name)).strip() for name in FIELDS}


SourceFormDep = Annotated[SourceForm, Form()]


@router.get("/transfers", response_class=HTMLResponse)
def transfers_page(page: PageDep, user: StaffUser, session: SessionDep) -> HTMLResponse:
    """Every source (no secret) with its cursor, last error, pull jobs and their runs."""
    context = {"title": "Transfer sources", "kinds": KIND_LABELS,
               "sources": transfer_sources_with_jobs(session, RUNS_SHOWN)}  # fmt: skip
    return page.render("transfers.html", context, csrf=True)


@router.get("/transfers/new", response_class=HTMLResponse)
def new_source(page: PageDep, user: StaffUser, session: SessionDep) -> HTMLResponse:
    """The form of a new source."""
    typed = dict.fromkeys(FIELDS, "") | {"auth": "token", "period": "hourly",
                                         "campaign": page.node.campaign.code}  # fmt: skip
    return source_form(page, session, typed)


@router.post("/transfers", response_model=None)
def create_source(
    _csrf: CsrfDep, page: PageDep, user: StaffUser, session: SessionDep, now: NowDep,
    form: SourceFormDep,
) -> Response:  # fmt: skip
    """Add a source and, with a period, its pull job; refused: the form as typed."""
    typed = form.typed()
    try:
        add_transfer_source(session, **_read(typed), secret=form.secret, now=now)
    except CatalogError as err:
        return source_form(page, session, typed, error=str(err), status=400)
    return RedirectResponse("/transfers", status_code=303)


@router.get("/transfers/{source_id}/edit", response_class=HTMLResponse)
def edit_source(
    source_id: RowId, page: PageDep, user: StaffUser, session: SessionDep
) -> HTMLResponse:
    """The form of a source, filled with what it is now (never its secret)."""
    source = get_transfer_source(session, source_id)
    return source_form(page, session, _typed(session, source), source_id=source_id)


@router.post("/transfers/{source_id}", response_model=None)
def change_source(
    _csrf: CsrfDep, source_id: RowId, page: PageDep, user: StaffUser, session: SessionDep,
    now: NowDep, form: SourceFormDep,
) -> Response:  # fmt: skip
    """Change a source (an empty secret keeps the stored one); refused: the form as typed."""
    source = get_transfer_source(session, source_id)
    typed = form.typed()
    try:
        update_transfer_source(session, source, **_read(typed), secret=form.secret, now=now)
    except CatalogError as err:
        return source_form(page, session, typed, source_id=source_id, error=str(err), status=400)
    return RedirectResponse(f"/transfers#source-{source_id}", status_code=303)


@router.post("/transfers/{source_id}/delete", response_model=None)
def remove_source(
    _csrf: CsrfDep, source_id: RowId, user: StaffUser, session: SessionDep
) -> Response:
    """Delete a source and its pull jobs (what it brought in stays)."""
    delete_transfer_source(session, get_transfer_source(session, source_id))
    return RedirectResponse("/transfers", status_code=303)
