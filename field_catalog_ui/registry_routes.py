"""The registry page: every center's instruments, platforms and stations, each naming its
origin; a mirrored entry links to its origin's page, where it is edited. Staff see the forms
of this center's entries beside them (`field_catalog_ui.registry_forms` takes them)."""

# No `from __future__ import annotations`: FastAPI reads the `Annotated` parameters.
from typing import Any

from fastapi import APIRouter
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from catalog.registry import (
    instrument_details,
    list_instruments,
    list_places,
    origin_fields,
    same_serials,
)
from field_catalog_ui.rendering import STAFF_ROLES, Page, PageDep
from web.deps import SessionDep

router = APIRouter(include_in_schema=False)


def registry_view(
    page: Page, session: Session, *, error: str | None = None,
    typed: dict[str, Any] | None = None, status: int = 200,
) -> HTMLResponse:  # fmt: skip
    """The registry page; a refused staff form's message on top (focused) and what was typed
    into it (`typed`: the calibration whose certificate form it was, and the name)."""
    twins = same_serials(session)
    instruments = [
        {**instrument_details(session, i), "same_serial": twins.get(i.id, [])}
        for i in list_instruments(session)
    ]
    places = {
        kind: [{**origin_fields(session, p), "place": p} for p in list_places(session, kind)]
        for kind in ("platform", "station")
    }
    context = {
        "title": "Instrument registry", "instruments": instruments, "places": places,
        "error": error, "typed": typed or {},
    }  # fmt: skip
    return page.render("registry.html", context, status=status, csrf=page.user.role in STAFF_ROLES)


@router.get("/registry", response_class=HTMLResponse)
def registry_page(page: PageDep, session: SessionDep) -> HTMLResponse:
    """Instruments (with their parts), platforms and stations of every center held here."""
    return registry_view(page, session)
