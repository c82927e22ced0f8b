"""The instrument registry: platforms and stations, instruments with components and
calibrations, deployments, and the link of a dataset to the deployment in force for it.

A dataset is linked automatically when exactly one deployment matches its platform (or
station) and instrument by name, case-folded, and covers its start; otherwise it stays
unlinked and keeps its free-text platform and instrument (staff may link it later). A fixed
station with a position gives a linked dataset without coordinates its location.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from catalog.audit import record_event
from catalog.curation import curated_dataset
from catalog.errors import ConflictError, InvalidQueryError, NotFoundError
from catalog.models import Dataset, fold
from catalog.registry_models import (
    PLACE_KINDS,
    Calibration,
    DatasetDeployment,
    Deployment,
    Instrument,
    InstrumentComponent,
    Place,
)
from catalog.schemas import Principal


@dataclass(frozen=True)
class PlaceInput:
    """A new platform or station."""

    kind: str
    name: str
    latitude: float | None = None
    longitude: float | None = None
    altitude: float | None = None
    description: str = ""


@dataclass(frozen=True)
class InstrumentInput:
    """A new instrument and its components as (name, serial) pairs."""

    name: str
    kind: str = ""
    description: str = ""
    components: tuple[tuple[str, str], ...] = field(default_factory=tuple)


def add_place(session: Session, spec: PlaceInput, now: datetime) -> Place:
    """Record a platform or station; a second one of the same kind and name is a conflict."""
    if spec.kind not in PLACE_KINDS:
        raise InvalidQueryError(f"kind must be one of {', '.join(PLACE_KINDS)}")
    key = fold(spec.name) or ""
    if not key:
        raise InvalidQueryError("a platform or station needs a name")
    if session.scalar(select(Place.id).where(Place.kind == spec.kind, Place.key == key)):
        raise ConflictError(f"{spec.kind} {spec.name!r} is already registered")
    place = Place(
        kind=spec.kind, name=spec.name.strip(), key=key, latitude=spec.latitude,
        longitude=spec.longitude, altitude=spec.altitude, description=spec.description,
        created_at=now,
    )  # fmt: skip
    session.add(place)
    session.flush()
    return place


def list_places(session: Session, kind: str) -> list[Place]:
    """The platforms or the stations, by name."""
    return list(session.scalars(select(Place).where(Place.kind == kind).order_by(Place.key)))


def add_instrument(session: Session, spec: InstrumentInput, now: datetime) -> Instrument:
    """Record an instrument with its components."""
    key = fold(spec.name) or ""
    if not key:
        raise InvalidQueryError("an instrument needs a name")
    if session.scalar(select(Instrument.id).where(Instrument.key == key)):
        raise ConflictError(f"instrument {spec.name!r} is already registered")
    instrument = Instrument(
        name=spec.name.strip(), key=key, kind=spec.kind, description=spec.description,
        created_at=now,
    )  # fmt: skip
    session.add(instrument)
    session.flush()
    for name, serial in spec.components:
        session.add(InstrumentComponent(instrument_id=instrument.id, name=name, serial=serial))
    session.flush()
    return instrument


def get_instrument(session: Session, instrument_id: int) -> Instrument:
    """An instrument by id (NotFoundError)."""
    instrument = session.get(Instrument, instrument_id)
    if instrument is None:
        raise NotFoundError(f"no instrument {instrument_id}")
    return instrument


def list_instruments(session: Session) -> list[Instrument]:
    """Every instrument, by name."""
    return list(session.scalars(select(Instrument).order_by(Instrument.key)))


def instrument_details(session: Session, instrument: Instrument) -> dict[str, Any]:
    """An instrument with its components, calibrations and deployments, as JSON."""
    iid = instrument.id
    components = session.scalars(
        select(InstrumentComponent).where(InstrumentComponent.instrument_id == iid)
    )
    calibrations = session.scalars(
        select(Calibration).where(Calibration.instrument_id == iid).order_by(Calibration.valid_from)
    )
    deployments = session.execute(
        select(Deployment, Place)
        .join(Place, Place.id == Deployment.place_id)
        .where(Deployment.instrument_id == iid)
        .order_by(Deployment.start)
    )
    return {
        "id": iid, "name": instrument.name, "kind": instrument.kind,
        "description": instrument.description,
        "components": [{"name": c.name, "serial": c.serial} for c in components],
        "calibrations": [_calibration(c) for c in calibrations],
        "deployments": [_deployment(d, p) for d, p in deployments],
    }  # fmt: skip


def _calibration(cal: Calibration) -> dict[str, Any]:
    return {
        "id": cal.id, "valid_from": cal.valid_from, "valid_to": cal.valid_to,
        "parameters": cal.parameters, "certificate_name": cal.certificate_name,
        "certificate_sha256": cal.certificate_sha256,
    }  # fmt: skip


def _deployment(deployment: Deployment, place: Place) -> dict[str, Any]:
    return {
        "id": deployment.id, "place": place.name, "place_kind": place.kind,
        "start": deployment.start, "stop": deployment.stop,
    }  # fmt: skip


def add_calibration(
    session: Session,
    instrument_id: int,
    *,
    valid_from: datetime,
    valid_to: datetime | None,
    parameters: dict[str, Any],
    certificate_name: str = "",
    certificate_sha256: str | None = None,
) -> Calibration:
    """Record a calibration of an instrument (its certificate by name and SHA-256)."""
    get_instrument(session, instrument_id)
    if valid_to is not None and valid_to <= valid_from:
        raise InvalidQueryError("valid_to must be after valid_from")
    cal = Calibration(
        instrument_id=instrument_id, valid_from=valid_from, valid_to=valid_to,
        parameters=parameters, certificate_name=certificate_name,
        certificate_sha256=certificate_sha256,
    )  # fmt: skip
    session.add(cal)
    session.flush()
    return cal


def add_deployment(
    session: Session, instrument_id: int, place_id: int, start: datetime, stop: datetime | None
) -> Deployment:
    """Record an instrument on a platform or at a station; overlapping deployments of one
    instrument are a conflict (an instrument is in one place at a time)."""
    get_instrument(session, instrument_id)
    if session.get(Place, place_id) is None:
        raise NotFoundError(f"no platform or station {place_id}")
    if stop is not None and stop <= start:
        raise InvalidQueryError("stop must be after start")
    overlapping = select(Deployment.id).where(
        Deployment.instrument_id == instrument_id,
        or_(Deployment.stop.is_(None), Deployment.stop > start),
    )
    if stop is not None:
        overlapping = overlapping.where(Deployment.start < stop)
    if session.scalar(overlapping) is not None:
        raise ConflictError("the instrument is deployed elsewhere in that period")
    deployment = Deployment(instrument_id=instrument_id, place_id=place_id, start=start, stop=stop)
    session.add(deployment)
    session.flush()
    return deployment


def deployments_for(session: Session, dataset: Dataset) -> list[Deployment]:
    """The deployments in force at the dataset's start for its platform and instrument."""
    query = (
        select(Deployment)
        .join(Place, Place.id == Deployment.place_id)
        .join(Instrument, Instrument.id == Deployment.instrument_id)
        .where(
            Place.key == dataset.platform_key,
            Instrument.key == dataset.instrument_key,
            Deployment.start <= dataset.start,
            or_(Deployment.stop.is_(None), Deployment.stop >= dataset.start),
        )
    )
    return list(session.scalars(query))


def link_deployment(session: Session, dataset: Dataset) -> Deployment | None:
    """Link the dataset to its deployment when exactly one matches (else leave it as it is);
    a station's position becomes the dataset's location when the file gave none."""
    matches = deployments_for(session, dataset)
    if len(matches) != 1:
        return None
    deployment = matches[0]
    link = session.get(DatasetDeployment, dataset.id)
    if link is None:
        session.add(DatasetDeployment(dataset_id=dataset.id, deployment_id=deployment.id))
    else:
        link.deployment_id, link.chosen_by = deployment.id, "auto"
    place = session.get_one(Place, deployment.place_id)
    dataset.deployment = registry_record(session, deployment)
    if dataset.south is None and place.latitude is not None and place.longitude is not None:
        dataset.south = dataset.north = place.latitude
        dataset.west = dataset.east = place.longitude
    session.flush()
    return deployment


def registry_record(session: Session, deployment: Deployment) -> dict[str, Any]:
    """What a dataset carries of the registry (and so its peers see): the instrument, the
    platform or station with its position, and the deployment's period."""
    place = session.get_one(Place, deployment.place_id)
    instrument = session.get_one(Instrument, deployment.instrument_id)
    return {
        "instrument": instrument.name, "instrument_kind": instrument.kind,
        "place": place.name, "place_kind": place.kind, "latitude": place.latitude,
        "longitude": place.longitude, "altitude": place.altitude,
        "start": deployment.start.isoformat(),
        "stop": None if deployment.stop is None else deployment.stop.isoformat(),
    }  # fmt: skip


def instrument_of(session: Session, dataset: Dataset) -> Instrument | None:
    """The registry's instrument of a dataset: its linked deployment's, else the one whose
    name matches the dataset's instrument."""
    linked = select(Instrument).join(Deployment, Deployment.instrument_id == Instrument.id)
    linked = linked.join(DatasetDeployment, DatasetDeployment.deployment_id == Deployment.id)
    found = session.scalar(linked.where(DatasetDeployment.dataset_id == dataset.id))
    if found is not None:
        return found
    return session.scalar(select(Instrument).where(Instrument.key == dataset.instrument_key))


def registry_names(session: Session, public_id: str) -> dict[str, Any] | None:
    """The registry's names of a linked dataset's deployment (for its page)."""
    dataset = session.scalar(select(Dataset).where(Dataset.public_id == public_id))
    if dataset is None:
        return None
    row = session.execute(
        select(Deployment, Place, Instrument)
        .join(DatasetDeployment, DatasetDeployment.deployment_id == Deployment.id)
        .join(Place, Place.id == Deployment.place_id)
        .join(Instrument, Instrument.id == Deployment.instrument_id)
        .where(DatasetDeployment.dataset_id == dataset.id)
    ).first()
    if row is None:
        return None
    deployment, place, instrument = row
    return {
        "deployment_id": deployment.id, "instrument": instrument.name,
        "instrument_id": instrument.id, "place": place.name, "place_kind": place.kind,
        "place_id": place.id,
    }  # fmt: skip


def choose_deployment(
    session: Session, public_id: str, deployment_id: int, *, actor: Principal, now: datetime
) -> DatasetDeployment:
    """The dataset's PI or staff link it to a deployment (where the match was ambiguous or
    absent); audited; the caller publishes the changed record (`access_admin.publish`).
    A later version's automatic link replaces it only when unambiguous."""
    dataset = curated_dataset(session, public_id, actor, now)
    deployment = session.get(Deployment, deployment_id)
    if deployment is None:  # the dataset exists: a 409, never the missing dataset's 404
        raise ConflictError(f"no deployment {deployment_id} in the registry")
    link = session.get(DatasetDeployment, dataset.id)
    before = None if link is None else {"deployment_id": link.deployment_id}
    if link is None:
        link = DatasetDeployment(dataset_id=dataset.id, deployment_id=deployment_id)
        session.add(link)
    link.deployment_id, link.chosen_by = deployment_id, (actor.username or actor.role.value)[:100]
    dataset.deployment = registry_record(session, deployment)
    record_event(
        session, actor=actor, action="deployment.choose", now=now, reason="", dataset=dataset,
        before=before, after={"deployment_id": deployment_id},
    )  # fmt: skip
    session.flush()
    return link
