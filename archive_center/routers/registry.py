"""The instrument registry: `/instruments`, `/platforms`, `/stations` (read by anyone,
written by staff), calibration certificate files (uploaded by staff, read by anyone) and the
QC configurations of an instrument's variables (staff).

The listings hold every center's entries, each naming its origin; a mirrored entry is
edited at its origin only (409 naming it, `catalog.registry_records`)."""

from __future__ import annotations

import mimetypes
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, RedirectResponse, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from archive_center.routers.query import as_utc
from catalog.certificates import find_certificate, store_certificate
from catalog.downloads import content_disposition
from catalog.qc import set_qc_config
from catalog.registry import (
    InstrumentInput,
    PlaceInput,
    add_calibration,
    add_deployment,
    add_instrument,
    add_place,
    delete_place,
    edit_instrument,
    editable_instrument,
    get_instrument,
    instrument_details,
    list_instruments,
    list_places,
    origin_fields,
    retire_instrument,
    same_serials,
)
from catalog.registry_edits import delete_calibration, delete_deployment, edit_place
from catalog.registry_models import POSITION_BOUNDS, Place
from catalog.registry_records import edited
from submissions.staging import Stager
from web.deps import (
    NowDep,
    SessionDep,
    SessionFactoryDep,
    SettingsDep,
    StaffDep,
    StoreDep,
    forbid_unknown_query,
)
from web.links import API_LINKS
from web.params import RowId
from web.responses import cache_headers

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

router = APIRouter(tags=["registry"])
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Not signed in"},
    403: {"description": "Not staff"},
    404: {"description": "No such instrument or place"},
    409: {"description": "Already registered, overlapping, or mirrored (edit it at its origin)"},
    422: {"description": "Invalid request"},
}


class PlaceBody(BaseModel):
    """A new platform or station."""

    kind: Literal["platform", "station"]
    name: str = Field(min_length=1, max_length=200)
    latitude: float | None = Field(
        default=None, ge=POSITION_BOUNDS["latitude"][0], le=POSITION_BOUNDS["latitude"][1]
    )
    longitude: float | None = Field(
        default=None, ge=POSITION_BOUNDS["longitude"][0], le=POSITION_BOUNDS["longitude"][1]
    )
    altitude: float | None = Field(
        default=None, ge=POSITION_BOUNDS["altitude"][0], le=POSITION_BOUNDS["altitude"][1]
    )
    description: str = Field(default="", max_length=4000)


class ComponentBody(BaseModel):
    """A component of an instrument."""

    name: str = Field(min_length=1, max_length=200)
    serial: str = Field(default="", max_length=100)


class InstrumentBody(BaseModel):
    """A new instrument with its components."""

    name: str = Field(min_length=1, max_length=200)
    kind: str = Field(default="", max_length=100)
    description: str = Field(default="", max_length=4000)
    components: list[ComponentBody] = Field(default_factory=list, max_length=100)


class CalibrationBody(BaseModel):
    """A calibration: parameters, validity and the certificate's name and SHA-256."""

    valid_from: datetime
    valid_to: datetime | None = None
    parameters: dict[str, float | str] = Field(default_factory=dict, max_length=100)
    certificate_name: str = Field(default="", max_length=255)
    certificate_sha256: str | None = Field(default=None, pattern="^[0-9a-f]{64}$")


class DeploymentBody(BaseModel):
    """The instrument on a platform or at a station from `start` (to `stop`)."""

    place_id: int = Field(ge=1, le=2**31 - 1)
    start: datetime
    stop: datetime | None = None


class QcConfigBody(BaseModel):
    """The QC tests of a variable: test name -> ioos_qc arguments."""

    tests: dict[str, dict[str, Any]] = Field(min_length=1, max_length=6)


def _utc(value: datetime) -> datetime:
    return as_utc(value) or value


def _place(session: Session, place: Place) -> dict[str, Any]:
    return {
        "id": place.id, **origin_fields(session, place), "kind": place.kind,
        "name": place.name, "latitude": place.latitude,
        "longitude": place.longitude, "altitude": place.altitude,
        "description": place.description,
    }  # fmt: skip


@router.get("/instruments", dependencies=[forbid_unknown_query()])
def get_instruments(session: SessionDep) -> list[dict[str, Any]]:
    """Every center's instruments with their origin, components, calibrations and
    deployments; `same_serial` names the other records (any center) sharing a serial."""
    twins = same_serials(session)
    return [
        {**instrument_details(session, i), "same_serial": twins.get(i.id, [])}
        for i in list_instruments(session)
    ]


@router.post(
    "/instruments", status_code=201, responses=ERRORS, dependencies=[forbid_unknown_query()]
)
def post_instrument(
    body: InstrumentBody, session: SessionDep, staff: StaffDep, now: NowDep
) -> dict[str, Any]:
    """Staff: register an instrument and its components."""
    return instrument_details(session, add_instrument(session, _spec(body), now))


def _spec(body: InstrumentBody) -> InstrumentInput:
    return InstrumentInput(
        name=body.name, kind=body.kind, description=body.description,
        components=tuple((c.name, c.serial) for c in body.components),
    )  # fmt: skip


@router.put("/instruments/{instrument_id}", responses=ERRORS, dependencies=[forbid_unknown_query()])
def put_instrument(
    instrument_id: RowId, body: InstrumentBody, session: SessionDep, staff: StaffDep,
    now: NowDep,
) -> dict[str, Any]:  # fmt: skip
    """Staff: change a local instrument's name, kind, description and components."""
    return instrument_details(session, edit_instrument(session, instrument_id, _spec(body), now))


@router.delete(
    "/instruments/{instrument_id}",
    status_code=204,
    responses=ERRORS,
    dependencies=[forbid_unknown_query()],
)
def delete_instrument(
    instrument_id: RowId, session: SessionDep, staff: StaffDep, now: NowDep
) -> None:
    """Staff: retire a local instrument (its peers drop it)."""
    retire_instrument(session, instrument_id, actor=staff, now=now)


@router.delete(
    "/places/{place_id}", status_code=204, responses=ERRORS, dependencies=[forbid_unknown_query()]
)
def delete_place_route(place_id: RowId, session: SessionDep, staff: StaffDep, now: NowDep) -> None:
    """Staff: delete a local platform or station no deployment names (its peers drop it)."""
    delete_place(session, place_id, actor=staff, now=now)


@router.put("/places/{place_id}", responses=ERRORS, dependencies=[forbid_unknown_query()])
def put_place(
    place_id: RowId, body: PlaceBody, session: SessionDep, staff: StaffDep, now: NowDep
) -> dict[str, Any]:
    """Staff: change a local platform's or station's kind, name, position and description
    (audited; its peers follow)."""
    spec = PlaceInput(**body.model_dump())
    return _place(session, edit_place(session, place_id, spec, actor=staff, now=now))


@router.get("/platforms", dependencies=[forbid_unknown_query()])
def get_platforms(session: SessionDep) -> list[dict[str, Any]]:
    """Every center's registered platforms with their origin and position."""
    return [_place(session, p) for p in list_places(session, "platform")]


@router.get("/stations", dependencies=[forbid_unknown_query()])
def get_stations(session: SessionDep) -> list[dict[str, Any]]:
    """Every center's registered stations with their origin and position."""
    return [_place(session, p) for p in list_places(session, "station")]


@router.post("/places", status_code=201, responses=ERRORS, dependencies=[forbid_unknown_query()])
def post_place(
    body: PlaceBody, session: SessionDep, staff: StaffDep, now: NowDep
) -> dict[str, Any]:
    """Staff: register a platform or a station."""
    return _place(session, add_place(session, PlaceInput(**body.model_dump()), now))


@router.post(
    "/instruments/{instrument_id}/calibrations",
    status_code=201,
    responses=ERRORS,
    dependencies=[forbid_unknown_query()],
)
def post_calibration(
    instrument_id: RowId, body: CalibrationBody, session: SessionDep, staff: StaffDep,
    now: NowDep,
) -> dict[str, Any]:  # fmt: skip
    """Staff: record a calibration of an instrument."""
    add_calibration(
        session, instrument_id, valid_from=_utc(body.valid_from), valid_to=as_utc(body.valid_to),
        parameters=dict(body.parameters), certificate_name=body.certificate_name,
        certificate_sha256=body.certificate_sha256, now=now,
    )  # fmt: skip
    return instrument_details(session, get_instrument(session, instrument_id))


@router.post(
    "/instruments/{instrument_id}/deployments",
    status_code=201,
    responses=ERRORS,
    dependencies=[forbid_unknown_query()],
)
def post_deployment(
    instrument_id: RowId, body: DeploymentBody, session: SessionDep, staff: StaffDep,
    now: NowDep,
) -> dict[str, Any]:  # fmt: skip
    """Staff: deploy an instrument on a platform or at a station."""
    start, stop = _utc(body.start), as_utc(body.stop)
    add_deployment(session, instrument_id, body.place_id, start, stop, now)
    return instrument_details(session, get_instrument(session, instrument_id))


@router.delete(
    "/instruments/{instrument_id}/calibrations/{calibration_id}",
    status_code=204,
    responses=ERRORS,
    dependencies=[forbid_unknown_query()],
)
def delete_calibration_route(
    instrument_id: RowId, calibration_id: RowId, session: SessionDep, staff: StaffDep,
    now: NowDep,
) -> None:  # fmt: skip
    """Staff: remove one calibration of a local instrument (audited; its peers drop it)."""
    delete_calibration(session, instrument_id, calibration_id, actor=staff, now=now)


@router.delete(
    "/instruments/{instrument_id}/deployments/{deployment_id}",
    status_code=204,
    responses=ERRORS,
    dependencies=[forbid_unknown_query()],
)
def delete_deployment_route(
    instrument_id: RowId, deployment_id: RowId, session: SessionDep, staff: StaffDep,
    now: NowDep,
) -> None:  # fmt: skip
    """Staff: remove one deployment of a local instrument (audited; its peers drop it); the
    datasets it linked are linked again by the automatic rule."""
    delete_deployment(session, instrument_id, deployment_id, actor=staff, now=now)


@router.put(
    "/instruments/{instrument_id}/qc/{variable}",
    responses=ERRORS,
    dependencies=[forbid_unknown_query()],
)
def put_qc_config(
    instrument_id: RowId,
    variable: str,
    body: QcConfigBody,
    session: SessionDep,
    staff: StaffDep,
    now: NowDep,
) -> dict[str, Any]:
    """Staff: a new version of the QC tests of a local instrument's variable (QC runs again;
    the instrument's record, which carries its QC versions, travels again)."""
    instrument = editable_instrument(session, instrument_id)
    config = set_qc_config(session, instrument_id, variable, body.tests, actor=staff, now=now)
    edited(session, instrument, now)
    return {
        "instrument_id": instrument_id, "variable": config.variable_key,
        "version": config.version, "tests": config.tests,
    }  # fmt: skip


CERTIFICATE_DOC: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
    }
}


def _disposition_name(header: str) -> str:
    """The `filename` of a Content-Disposition header, or ""."""
    for part in header.split(";"):
        key, _, value = part.strip().partition("=")
        if key.lower() == "filename":
            return value.strip().strip('"')
    return ""


@router.put(
    "/calibrations/{calibration_id}/certificate",
    responses={
        **ERRORS,
        400: {"description": "An empty file"},
        413: {"description": "Over the size limit"},
    },
    openapi_extra=CERTIFICATE_DOC,
    dependencies=[forbid_unknown_query("name")],
)
async def put_certificate(
    calibration_id: RowId,
    request: Request,
    session: SessionDep,
    sessions: SessionFactoryDep,
    settings: SettingsDep,
    store: StoreDep,
    staff: StaffDep,
    now: NowDep,
    name: Annotated[str | None, Query(min_length=1, max_length=255)] = None,
) -> dict[str, Any]:
    """Staff: upload a local calibration's certificate file (the body; its name from `name`
    or the Content-Disposition). A SHA-256 declared before must match (else 409)."""
    session.commit()  # sign-in is settled: hold no connection while the body streams
    given = name or _disposition_name(request.headers.get("content-disposition", ""))
    with Stager(store, settings.max_upload_bytes) as stager:
        async for chunk in request.stream():
            stager.write(chunk)
        staged = stager.finish()

    def record() -> dict[str, Any]:
        try:
            with sessions() as own, own.begin():
                cal = store_certificate(
                    own, store, calibration_id, staged=staged.path, sha256=staged.sha256,
                    name=given[-255:], actor=staff, now=now,
                )  # fmt: skip
                return instrument_details(own, get_instrument(own, cal.instrument_id))
        finally:
            staged.path.unlink(missing_ok=True)

    return await run_in_threadpool(record)


@router.get(
    "/calibrations/{calibration_id}/certificate",
    response_class=FileResponse,
    responses={307: {"description": "Mirrored: the file at its origin"},
               404: {"description": "No such calibration or no certificate file"}},
    dependencies=[forbid_unknown_query()],
)  # fmt: skip
def get_certificate(calibration_id: RowId, session: SessionDep, store: StoreDep) -> Response:
    """A calibration's certificate file (public, like the registry; a mirrored one's: a
    redirect to its origin)."""
    found = find_certificate(session, store, calibration_id, API_LINKS)
    if found.redirect is not None:
        return RedirectResponse(found.redirect, status_code=307, headers=cache_headers(False))
    headers = {"Content-Disposition": content_disposition(found.name)} | cache_headers(True)
    media = mimetypes.guess_type(found.name)[0] or "application/octet-stream"
    return FileResponse(found.path or "", media_type=media, headers=headers)
