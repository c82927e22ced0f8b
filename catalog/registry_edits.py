"""Edits of registry entries after they were made: a place changed, one calibration or one
deployment of an instrument removed (`catalog.registry` adds them).

Each is a staff write on a local entry, audited (`place.edit`, `calibration.delete`,
`deployment.delete`), raising the entry's origin version and sending its record again, so
the peers replace what they hold (a mirrored instrument's parts are replaced whole). The
removals are one conditional `DELETE` each: of concurrent removals of one calibration or
deployment exactly one succeeds and the others are 404s, on SQLite as on PostgreSQL. Every
check comes before the first write, so a refusal leaves the caller's transaction clean.

A removed deployment stops linking datasets: each dataset linked to it loses the link and
the registry record it carried, and is linked again by the usual automatic rule (exactly
one deployment in force for its platform, instrument and start), then published, so the
peers see its new `deployment`. A location a station gave it stays: it cannot be told
apart from one its file gave.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CursorResult, delete, select
from sqlalchemy.orm import Session

from catalog.access_admin import publish
from catalog.audit import record_event
from catalog.errors import ConflictError, InvalidQueryError, NotFoundError
from catalog.models import Dataset, fold
from catalog.registry import PlaceInput, link_deployment
from catalog.registry_models import (
    PLACE_KINDS,
    Calibration,
    DatasetDeployment,
    Deployment,
    Instrument,
    Place,
)
from catalog.registry_records import check_local, edited, local_code, place_payload
from catalog.schemas import Principal

PLACE_EDITABLE = ("kind", "name", "latitude", "longitude", "altitude", "description")


def _place_fields(place: Place) -> dict[str, Any]:
    """What an edit may change, as the peers' record says it (the audit's before and after)."""
    payload = place_payload(place)
    return {name: payload[name] for name in PLACE_EDITABLE}


def edit_place(
    session: Session, place_id: int, spec: PlaceInput, *, actor: Principal, now: datetime
) -> Place:
    """Change a local platform's or station's kind, name, position and description: audited,
    its origin version raised, its record sent again (NotFoundError; ConflictError for a
    mirrored one or a name taken by another of its kind here).

    Datasets linked to it keep the registry record they carry until their next version or
    link (as for an edited instrument); their pages show the new name at once."""
    place = session.get(Place, place_id, with_for_update=True)
    if place is None:
        raise NotFoundError(f"no platform or station {place_id}")
    check_local(session, place)
    if spec.kind not in PLACE_KINDS:
        raise InvalidQueryError(f"kind must be one of {', '.join(PLACE_KINDS)}")
    key = fold(spec.name) or ""
    if not key:
        raise InvalidQueryError("a platform or station needs a name")
    same = select(Place.id).where(
        Place.kind == spec.kind, Place.key == key, Place.center_code == place.center_code,
        Place.id != place.id,
    )  # fmt: skip
    if session.scalar(same):
        raise ConflictError(f"{spec.kind} {spec.name!r} is already registered")
    before = _place_fields(place)
    place.kind, place.name, place.key = spec.kind, spec.name.strip(), key
    place.latitude, place.longitude, place.altitude = spec.latitude, spec.longitude, spec.altitude
    place.description = spec.description
    record_event(
        session, actor=actor, action="place.edit", now=now, reason="",
        before={"public_id": place.public_id, **before},
        after={"public_id": place.public_id, **_place_fields(place)},
    )  # fmt: skip
    edited(session, place, now)
    return place


def _owning_instrument(session: Session, instrument_id: int, model: Any, part_id: int) -> Any:
    """The instrument (locked) and its part `part_id` of `model`: NotFoundError for a wrong
    pair (before the mirror check: a wrong id says so wherever it is asked), ConflictError
    for a mirrored instrument."""
    instrument = session.get(Instrument, instrument_id, with_for_update=True)
    if instrument is None:
        raise NotFoundError(f"no instrument {instrument_id}")
    part = session.scalar(
        select(model).where(model.id == part_id, model.instrument_id == instrument_id)
    )
    what = "calibration" if model is Calibration else "deployment"
    if part is None:
        raise NotFoundError(f"instrument {instrument_id} has no {what} {part_id}")
    check_local(session, instrument)
    return instrument, part


def _delete_row(session: Session, model: Any, part_id: int, instrument_id: int) -> None:
    """Delete one row, conditionally: 0 rows (a concurrent removal won) is a NotFoundError."""
    what = "calibration" if model is Calibration else "deployment"
    result: CursorResult[Any] = session.execute(  # type: ignore[assignment]
        delete(model)
        .where(model.id == part_id, model.instrument_id == instrument_id)
        .execution_options(synchronize_session=False)
    )
    if not result.rowcount:
        raise NotFoundError(f"instrument {instrument_id} has no {what} {part_id}")


def delete_calibration(
    session: Session, instrument_id: int, calibration_id: int, *, actor: Principal,
    now: datetime,
) -> None:  # fmt: skip
    """Remove one calibration of a local instrument: audited, the instrument's record sent
    again without it. Its certificate file stays in the archive (content-addressed: other
    calibrations or originals may hold the same bytes)."""
    instrument, cal = _owning_instrument(session, instrument_id, Calibration, calibration_id)
    before = {
        "instrument": instrument.public_id, "calibration": cal.id,
        "valid_from": cal.valid_from.isoformat(),
        "valid_to": None if cal.valid_to is None else cal.valid_to.isoformat(),
        "parameters": cal.parameters, "certificate_name": cal.certificate_name,
        "certificate_sha256": cal.certificate_sha256,
    }  # fmt: skip
    session.expunge(cal)
    _delete_row(session, Calibration, calibration_id, instrument_id)
    record_event(
        session, actor=actor, action="calibration.delete", now=now, reason="", before=before,
        after=None,
    )  # fmt: skip
    edited(session, instrument, now)


def delete_deployment(
    session: Session, instrument_id: int, deployment_id: int, *, actor: Principal,
    now: datetime,
) -> list[str]:  # fmt: skip
    """Remove one deployment of a local instrument: audited, the instrument's record sent
    again without it; the datasets it linked are linked again by the automatic rule (see the
    module docstring). The public ids of those datasets."""
    instrument, deployment = _owning_instrument(session, instrument_id, Deployment, deployment_id)
    place = session.get_one(Place, deployment.place_id)
    linked = list(
        session.scalars(
            select(Dataset)
            .join(DatasetDeployment, DatasetDeployment.dataset_id == Dataset.id)
            .where(DatasetDeployment.deployment_id == deployment_id)
            .order_by(Dataset.id)
        )
    )
    before = {
        "instrument": instrument.public_id, "deployment": deployment.id,
        "place": place.public_id, "place_name": place.name,
        "start": deployment.start.isoformat(),
        "stop": None if deployment.stop is None else deployment.stop.isoformat(),
        "datasets": [d.public_id for d in linked],
    }  # fmt: skip
    session.expunge(deployment)
    _delete_row(session, Deployment, deployment_id, instrument_id)  # the first write
    session.execute(  # the database cascades; this drops the links the session holds
        delete(DatasetDeployment).where(DatasetDeployment.deployment_id == deployment_id)
    )
    record_event(
        session, actor=actor, action="deployment.delete", now=now, reason="", before=before,
        after=None,
    )  # fmt: skip
    edited(session, instrument, now)
    _relink(session, linked, now)
    return [d.public_id for d in linked]


def _relink(session: Session, datasets: list[Dataset], now: datetime) -> None:
    """Datasets whose deployment went: linked again where exactly one matches, published."""
    code = local_code(session)
    for dataset in datasets:
        dataset.deployment = None
        link_deployment(session, dataset)
        if dataset.origin_center == code:
            publish(session, dataset, now)
    session.flush()
