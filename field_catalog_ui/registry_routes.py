"""The registry page: every center's instruments, platforms and stations, each naming its
origin; a mirrored entry links to its origin's page, where it is edited."""

# No `from __future__ import annotations`: FastAPI reads the `Annotated` parameters.
from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from catalog.registry import (
    instrument_details,
    list_instruments,
    list_places,
    origin_fields,
    same_serials,
)
from field_catalog_ui.rendering import PageDep
from web.deps import SessionDep

router = APIRouter(include_in_schema=False)


@router.get("/registry", response_class=HTMLResponse)
def registry_page(page: PageDep, session: SessionDep) -> HTMLResponse:
    """Instruments (with their parts), platforms and stations of every center held here."""
    twins = same_serials(session)
    instruments = [
        {**instrument_details(session, i), "same_serial": twins.get(i.id, [])}
        for i in list_instruments(session)
    ]
    places = {
        kind: [{**origin_fields(session, p), "place": p} for p in list_places(session, kind)]
        for kind in ("platform", "station")
    }
    context = {"title": "Instrument registry", "instruments": instruments, "places": places}
    return page.render("registry.html", context)
