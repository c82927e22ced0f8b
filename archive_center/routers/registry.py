"""The instrument registry: `/instruments`, `/platforms`, `/stations` (read by anyone,
written by staff) and the QC configurations of an instrument's variables (staff)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field

from archive_center.routers.query import RowId, as_utc
from catalog.qc import set_qc_config
from catalog.registry import (
    InstrumentInput,
    PlaceInput,
    add_calibration,
    add_deployment,
    add_instrument,
    add_place,
    get_instrument,
    instrument_details,
    list_instruments,
    list_places,
)
from catalog.registry_models import Place
from web.deps import NowDep, SessionDep, StaffDep, forbid_unknown_query

router = APIRouter(tags=["registry"])
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Not signed in"},
    403: {"description": "Not staff"},
    404: {"description": "No such instrument or place"},
    409: {"description": "Already registered, or overlapping"},
    422: {"description": "Invalid request"},
}


class PlaceBody(BaseModel):
    """A new platform or station."""

    kind: Literal["platform", "station"]
    name: str = Field(min_length=1, max_length=200)
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=360)
    altitude: float | None = Field(default=None, ge=-12000, le=100000)
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


def _place(place: Place) -> dict[str, Any]:
    return {
        "id": place.id, "kind": place.kind, "name": place.name, "latitude": place.latitude,
        "longitude": place.longitude, "altitude": place.altitude,
        "description": place.description,
    }  # fmt: skip


@router.get("/instruments", dependencies=[forbid_unknown_query()])
def get_instruments(session: SessionDep) -> list[dict[str, Any]]:
    """Every instrument with its components, calibrations and deployments."""
    return [instrument_details(session, i) for i in list_instruments(session)]


@router.post(
    "/instruments", status_code=201, responses=ERRORS, dependencies=[forbid_unknown_query()]
)
def post_instrument(
    body: InstrumentBody, session: SessionDep, staff: StaffDep, now: NowDep
) -> dict[str, Any]:
    """Staff: register an instrument and its components."""
    spec = InstrumentInput(
        name=body.name, kind=body.kind, description=body.description,
        components=tuple((c.name, c.serial) for c in body.components),
    )  # fmt: skip
    return instrument_details(session, add_instrument(session, spec, now))


@router.get("/platforms", dependencies=[forbid_unknown_query()])
def get_platforms(session: SessionDep) -> list[dict[str, Any]]:
    """Every registered platform with its position."""
    return [_place(p) for p in list_places(session, "platform")]


@router.get("/stations", dependencies=[forbid_unknown_query()])
def get_stations(session: SessionDep) -> list[dict[str, Any]]:
    """Every registered station with its position."""
    return [_place(p) for p in list_places(session, "station")]


@router.post("/places", status_code=201, responses=ERRORS, dependencies=[forbid_unknown_query()])
def post_place(
    body: PlaceBody, session: SessionDep, staff: StaffDep, now: NowDep
) -> dict[str, Any]:
    """Staff: register a platform or a station."""
    return _place(add_place(session, PlaceInput(**body.model_dump()), now))


@router.post(
    "/instruments/{instrument_id}/calibrations",
    status_code=201,
    responses=ERRORS,
    dependencies=[forbid_unknown_query()],
)
def post_calibration(
    instrument_id: RowId, body: CalibrationBody, session: SessionDep, staff: StaffDep
) -> dict[str, Any]:
    """Staff: record a calibration of an instrument."""
    add_calibration(
        session, instrument_id, valid_from=_utc(body.valid_from), valid_to=as_utc(body.valid_to),
        parameters=dict(body.parameters), certificate_name=body.certificate_name,
        certificate_sha256=body.certificate_sha256,
    )  # fmt: skip
    return instrument_details(session, get_instrument(session, instrument_id))


@router.post(
    "/instruments/{instrument_id}/deployments",
    status_code=201,
    responses=ERRORS,
    dependencies=[forbid_unknown_query()],
)
def post_deployment(
    instrument_id: RowId, body: DeploymentBody, session: SessionDep, staff: StaffDep
) -> dict[str, Any]:
    """Staff: deploy an instrument on a platform or at a station."""
    add_deployment(session, instrument_id, body.place_id, _utc(body.start), as_utc(body.stop))
    return instrument_details(session, get_instrument(session, instrument_id))


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
    """Staff: a new version of the QC tests of an instrument's variable (QC runs again)."""
    config = set_qc_config(session, instrument_id, variable, body.tests, actor=staff, now=now)
    return {
        "instrument_id": instrument_id, "variable": config.variable_key,
        "version": config.version, "tests": config.tests,
    }  # fmt: skip
