"""The registry's staff forms: change a platform or station, remove one calibration or one
deployment of an instrument, upload a calibration's certificate. They call what the API
calls (`catalog.registry_edits`, `catalog.certificates`), under the same rules: staff only,
this center's entries only (a mirrored one is a 409 naming its origin).

A refused form comes back as typed with the message on top, focused; every post carries the
CSRF token. The certificate takes the upload page's road: streamed into staging with the
`max_upload_bytes` cap, the token checked before a byte of the file is staged
(`web.form_upload`).
"""

# No `from __future__ import annotations`: FastAPI reads the `Annotated` parameters.
import math
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Form
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from catalog.certificates import store_certificate
from catalog.errors import CatalogError, InvalidQueryError
from catalog.registry import PlaceInput, get_instrument, get_place
from catalog.registry_edits import delete_calibration, delete_deployment, edit_place
from catalog.registry_models import PLACE_KINDS, POSITION_BOUNDS, Place
from catalog.registry_records import check_local
from catalog.schemas import Principal
from catalog.storage import ArchiveStore
from field_catalog_ui.registry_routes import registry_view
from field_catalog_ui.rendering import Page, PageDep, StaffUser
from submissions.errors import UploadRefusedError
from submissions.web import Upload
from web.auth import CSRF_FIELD
from web.deps import CsrfDep, NowDep, SessionDep, SessionFactoryDep, StoreDep
from web.errors import ERROR_TABLE
from web.form_upload import FormUploadCsrfDep, receive_form_upload
from web.params import RowId

router = APIRouter(include_in_schema=False)


def error_status(err: Exception) -> int:
    """The status the error table gives `err` (400 when it names none)."""
    return next((status for kind, status, _ in ERROR_TABLE if isinstance(err, kind)), 400)


class PlaceForm(BaseModel):
    """The place form's fields as typed (a browser sends them all, empty or not)."""

    kind: str = Field(default="", max_length=16)
    name: str = Field(default="", max_length=200)
    latitude: str = Field(default="", max_length=40)
    longitude: str = Field(default="", max_length=40)
    altitude: str = Field(default="", max_length=40)
    description: str = Field(default="", max_length=4000)

    def typed(self) -> dict[str, str]:
        """The fields, trimmed (the description as typed), as the form shows them again."""
        typed = {name: str(value).strip() for name, value in self.model_dump().items()}
        return typed | {"description": self.description}


PlaceFormDep = Annotated[PlaceForm, Form()]


def _coordinate(typed: dict[str, str], name: str) -> float | None:
    text = typed[name]
    if not text:
        return None
    low, high = POSITION_BOUNDS[name]
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or not low <= value <= high:
        raise InvalidQueryError(f"give the {name} as a number from {low:g} to {high:g}")
    return value


def read_place_form(typed: dict[str, str]) -> PlaceInput:
    """The form's place (`InvalidQueryError` saying what is wrong)."""
    if typed["kind"] not in PLACE_KINDS:
        raise InvalidQueryError("choose whether it is a platform or a station")
    if not typed["name"]:
        raise InvalidQueryError("give it a name")
    return PlaceInput(
        kind=typed["kind"], name=typed["name"], latitude=_coordinate(typed, "latitude"),
        longitude=_coordinate(typed, "longitude"), altitude=_coordinate(typed, "altitude"),
        description=typed["description"],
    )  # fmt: skip


def place_form(
    page: Page, place: Place, typed: dict[str, str], *, error: str | None = None,
    status: int = 200,
) -> HTMLResponse:  # fmt: skip
    """The form of a place, filled with `typed`."""
    context = {"title": f"Change {place.kind} {place.name}", "place": place, "typed": typed,
               "kinds": PLACE_KINDS, "error": error}  # fmt: skip
    return page.render("registry_place_form.html", context, status=status, csrf=True)


def _shown(value: float | None) -> str:
    return "" if value is None else str(value)


def _typed(place: Place) -> dict[str, str]:
    return {"kind": place.kind, "name": place.name, "latitude": _shown(place.latitude),
            "longitude": _shown(place.longitude), "altitude": _shown(place.altitude),
            "description": place.description}  # fmt: skip


@router.get("/registry/places/{place_id}/edit", response_class=HTMLResponse)
def edit_place_page(
    place_id: RowId, page: PageDep, user: StaffUser, session: SessionDep
) -> HTMLResponse:
    """The form of a local platform or station, filled with what it is now (a mirrored one:
    409 naming its origin)."""
    place = get_place(session, place_id)
    check_local(session, place)
    return place_form(page, place, _typed(place))


@router.post("/registry/places/{place_id}", response_model=None)
def change_place(
    _csrf: CsrfDep, place_id: RowId, page: PageDep, user: StaffUser, session: SessionDep,
    now: NowDep, form: PlaceFormDep,
) -> Response:  # fmt: skip
    """Change a place; refused: the form as typed, the message on top."""
    typed = form.typed()
    try:
        place = edit_place(session, place_id, read_place_form(typed), actor=user, now=now)
    except CatalogError as err:  # refused before any write
        shown = get_place(session, place_id)  # a missing place: its 404 page
        return place_form(page, shown, typed, error=str(err), status=error_status(err))
    return RedirectResponse(f"/registry#{place.public_id}", status_code=303)


def _refused(page: Page, session: Session, err: Exception, **typed: Any) -> HTMLResponse:
    """The registry page with the refusal on top (the edits check before they write)."""
    return registry_view(page, session, error=str(err), typed=typed, status=error_status(err))


@router.post(
    "/registry/instruments/{instrument_id}/calibrations/{calibration_id}/delete",
    response_model=None,
)
def remove_calibration(
    _csrf: CsrfDep, instrument_id: RowId, calibration_id: RowId, page: PageDep,
    user: StaffUser, session: SessionDep, now: NowDep,
) -> Response:  # fmt: skip
    """Remove one calibration, then back to its instrument's row."""
    try:
        delete_calibration(session, instrument_id, calibration_id, actor=user, now=now)
    except CatalogError as err:
        return _refused(page, session, err)
    anchor = get_instrument(session, instrument_id).public_id
    return RedirectResponse(f"/registry#{anchor}", status_code=303)


@router.post(
    "/registry/instruments/{instrument_id}/deployments/{deployment_id}/delete",
    response_model=None,
)
def remove_deployment(
    _csrf: CsrfDep, instrument_id: RowId, deployment_id: RowId, page: PageDep,
    user: StaffUser, session: SessionDep, now: NowDep,
) -> Response:  # fmt: skip
    """Remove one deployment (its datasets are linked again), then back to its instrument."""
    try:
        delete_deployment(session, instrument_id, deployment_id, actor=user, now=now)
    except CatalogError as err:
        return _refused(page, session, err)
    anchor = get_instrument(session, instrument_id).public_id
    return RedirectResponse(f"/registry#{anchor}", status_code=303)


def _record_certificate(
    page: Page, factory: sessionmaker[Session], store: ArchiveStore, calibration_id: int,
    upload: Upload, user: Principal, now: datetime,
) -> Response:  # fmt: skip
    """Record the staged certificate (in a thread: it hashes and links the file)."""
    name = upload.fields.get("name", "").strip() or upload.filename
    try:
        with factory() as own, own.begin():
            cal = store_certificate(
                own, store, calibration_id, staged=upload.staged.path,
                sha256=upload.staged.sha256, name=name[-255:], actor=user, now=now,
            )  # fmt: skip
            anchor = get_instrument(own, cal.instrument_id).public_id
    except CatalogError as err:
        with factory() as own:
            typed = {"calibration": calibration_id, "name": upload.fields.get("name", "")}
            return _refused(page, own, err, **typed)
    return RedirectResponse(f"/registry#{anchor}", status_code=303)


def _refused_upload(
    page: Page, factory: sessionmaker[Session], err: UploadRefusedError, calibration_id: int
) -> HTMLResponse:
    """The registry page saying why the upload was refused (over the cap, cut off)."""
    with factory() as own:
        return _refused(page, own, err, calibration=calibration_id)


@router.post("/registry/calibrations/{calibration_id}/certificate", response_model=None)
async def upload_certificate(
    csrf: FormUploadCsrfDep, calibration_id: RowId, page: PageDep, user: StaffUser,
    session: SessionDep, store: StoreDep, factory: SessionFactoryDep, now: NowDep,
) -> Response:  # fmt: skip
    """Upload a calibration's certificate file (multipart: `csrf_token`, `name`, `file`)."""
    session.commit()  # the caller is settled: no connection is held while the body streams
    try:
        received = await receive_form_upload(page.request, store, page.node.max_upload_bytes, csrf)
    except UploadRefusedError as err:
        return await run_in_threadpool(_refused_upload, page, factory, err, calibration_id)
    received.fields.pop(CSRF_FIELD, None)
    try:
        return await run_in_threadpool(
            _record_certificate, page, factory, store, calibration_id, received, user, now
        )
    finally:
        received.discard()
