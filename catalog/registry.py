"""The instrument registry: platforms and stations, instruments with components and
calibrations, deployments, and the link of a dataset to the deployment in force for it.

A dataset is linked automatically when exactly one deployment matches its platform (or
station) and instrument by name, case-folded, and covers its start; otherwise it stays
unlinked and keeps its free-text platform and instrument (staff may link it later). A fixed
station with a position gives a linked dataset without coordinates its location.

Every change of a local entry is announced to the peers, and the tables also hold the
entries mirrored from them (`catalog.registry_records`): linking and QC use this center's
entries only; listings show every center's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from catalog.audit import record_event
from catalog.closing import refuse_if_closing
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
from catalog.registry_records import (
    RegistryEntry,
    announce_entry,
    check_local,
    edited,
    local_code,
    origins,
    raise_version,
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
    """Record a platform or station and announce it to the peers; a second one of the same
    kind and name at this center is a conflict (a peer's of that name is another record)."""
    if spec.kind not in PLACE_KINDS:
        raise InvalidQueryError(f"kind must be one of {', '.join(PLACE_KINDS)}")
    key = fold(spec.name) or ""
    if not key:
        raise InvalidQueryError("a platform or station needs a name")
    code = local_code(session)
    refuse_if_closing(session, code)
    same = (Place.kind == spec.kind, Place.key == key, Place.center_code == code)
    if session.scalar(select(Place.id).where(*same)):
        raise ConflictError(f"{spec.kind} {spec.name!r} is already registered")
    place = Place(
        kind=spec.kind, name=spec.name.strip(), key=key, latitude=spec.latitude,
        longitude=spec.longitude, altitude=spec.altitude, description=spec.description,
        created_at=now, center_code=code, origin_version=1,
    )  # fmt: skip
    session.add(place)
    announce_entry(session, place, now)
    return place


def list_places(session: Session, kind: str) -> list[Place]:
    """The platforms or the stations of every center held here, by name and origin."""
    query = select(Place).where(Place.kind == kind).order_by(Place.key, Place.center_code)
    return list(session.scalars(query))


def get_place(session: Session, place_id: int) -> Place:
    """A platform or station by id (NotFoundError)."""
    place = session.get(Place, place_id)
    if place is None:
        raise NotFoundError(f"no platform or station {place_id}")
    return place


def delete_place(session: Session, place_id: int, *, actor: Principal, now: datetime) -> None:
    """Delete a local platform or station no deployment names: audited, a tombstone travels."""
    place = get_place(session, place_id)
    session.refresh(place, with_for_update=True)
    check_local(session, place)
    if session.scalar(select(Deployment.id).where(Deployment.place_id == place.id)):
        raise ConflictError(f"instruments were deployed at {place.name!r}: it stays registered")
    _remove(session, place, actor=actor, now=now)


def _remove(session: Session, entry: RegistryEntry, *, actor: Principal, now: datetime) -> None:
    kind = "place" if isinstance(entry, Place) else "instrument"
    raise_version(session, entry)
    announce_entry(session, entry, now, removed=True)
    record_event(
        session, actor=actor, action=f"{kind}.delete", now=now, reason="",
        before={"public_id": entry.public_id, "name": entry.name}, after=None,
    )  # fmt: skip
    session.delete(entry)
    session.flush()


def add_instrument(session: Session, spec: InstrumentInput, now: datetime) -> Instrument:
    """Record an instrument with its components and announce it to the peers; a second one
    of the same name at this center is a conflict (a peer's of that name, or with the same
    serial numbers, is another record: each center's entry is its own)."""
    key = fold(spec.name) or ""
    if not key:
        raise InvalidQueryError("an instrument needs a name")
    code = local_code(session)
    refuse_if_closing(session, code)
    if session.scalar(select(Instrument.id).where(_local_name(key, code))):
        raise ConflictError(f"instrument {spec.name!r} is already registered")
    instrument = Instrument(
        name=spec.name.strip(), key=key, kind=spec.kind, description=spec.description,
        created_at=now, center_code=code, origin_version=1,
    )  # fmt: skip
    session.add(instrument)
    session.flush()
    for name, serial in spec.components:
        session.add(InstrumentComponent(instrument_id=instrument.id, name=name, serial=serial))
    announce_entry(session, instrument, now)
    return instrument


def _local_name(key: str, code: str) -> Any:
    return (Instrument.key == key) & (Instrument.center_code == code)


def edit_instrument(
    session: Session, instrument_id: int, spec: InstrumentInput, now: datetime
) -> Instrument:
    """Change a local instrument's name, kind, description and components: its origin
    version goes up and the record travels again; a mirrored one is a ConflictError."""
    instrument = editable_instrument(session, instrument_id)
    key = fold(spec.name) or ""
    if not key:
        raise InvalidQueryError("an instrument needs a name")
    same = select(Instrument.id).where(
        _local_name(key, instrument.center_code), Instrument.id != instrument.id
    )
    if session.scalar(same):
        raise ConflictError(f"instrument {spec.name!r} is already registered")
    instrument.name, instrument.key = spec.name.strip(), key
    instrument.kind, instrument.description = spec.kind, spec.description
    session.execute(
        delete(InstrumentComponent).where(InstrumentComponent.instrument_id == instrument.id)
    )
    for name, serial in spec.components:
        session.add(InstrumentComponent(instrument_id=instrument.id, name=name, serial=serial))
    edited(session, instrument, now)
    return instrument


def retire_instrument(
    session: Session, instrument_id: int, *, actor: Principal, now: datetime
) -> None:
    """Retire a local instrument: audited, a tombstone travels, its row goes with its parts.

    Datasets linked to its deployments keep the registry record they carry (`deployment`)
    and lose the link."""
    instrument = editable_instrument(session, instrument_id)
    _remove(session, instrument, actor=actor, now=now)


def get_instrument(session: Session, instrument_id: int) -> Instrument:
    """An instrument by id (NotFoundError)."""
    instrument = session.get(Instrument, instrument_id)
    if instrument is None:
        raise NotFoundError(f"no instrument {instrument_id}")
    return instrument


def editable_instrument(session: Session, instrument_id: int) -> Instrument:
    """A local instrument about to change, its row locked until the caller commits (so two
    concurrent edits raise its origin version twice); NotFoundError, or ConflictError for a
    mirrored one."""
    instrument = session.get(Instrument, instrument_id, with_for_update=True)
    if instrument is None:
        raise NotFoundError(f"no instrument {instrument_id}")
    check_local(session, instrument)
    return instrument


def list_instruments(session: Session) -> list[Instrument]:
    """Every instrument of every center held here, by name and origin."""
    query = select(Instrument).order_by(Instrument.key, Instrument.center_code)
    return list(session.scalars(query))


def origin_fields(session: Session, entry: RegistryEntry) -> dict[str, Any]:
    """Where an entry comes from: its public id, origin center (code and name), origin
    version, and for a mirrored one its row on the origin's registry page (where it is
    edited)."""
    name, url = origins(session).get(entry.center_code, (entry.center_code, ""))
    mirror = entry.center_code != local_code(session)
    return {
        "public_id": entry.public_id, "center": entry.center_code, "center_name": name,
        "origin_version": entry.origin_version, "is_mirror": mirror,
        "origin_url": f"{url}/registry#{entry.public_id}" if mirror and url else None,
    }  # fmt: skip


def same_serials(session: Session) -> dict[int, list[dict[str, str]]]:
    """Instrument id -> the other registry records (any center) sharing a serial number."""
    rows = session.execute(
        select(InstrumentComponent.serial, Instrument.id, Instrument.center_code,
               Instrument.public_id)
        .join(Instrument, Instrument.id == InstrumentComponent.instrument_id)
        .where(InstrumentComponent.serial != "")
    ).all()  # fmt: skip
    by_serial: dict[str, list[tuple[int, str, str]]] = {}
    for serial, iid, center, public_id in rows:
        by_serial.setdefault(serial, []).append((iid, center, public_id))
    found: dict[int, list[dict[str, str]]] = {}
    for holders in by_serial.values():
        for iid, _, _ in holders:
            others = found.setdefault(iid, [])
            for other, center, public_id in holders:
                twin = {"center": center, "public_id": public_id}
                if other != iid and twin not in others:
                    others.append(twin)
    return found


def instrument_details(session: Session, instrument: Instrument) -> dict[str, Any]:
    """An instrument with its origin, components, calibrations and deployments, as JSON."""
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
        "id": iid, **origin_fields(session, instrument), "name": instrument.name,
        "kind": instrument.kind, "description": instrument.description,
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
    now: datetime,
) -> Calibration:
    """Record a calibration of a local instrument (its certificate by name and SHA-256): an
    edit of the instrument, announced to the peers."""
    instrument = editable_instrument(session, instrument_id)
    if valid_to is not None and valid_to <= valid_from:
        raise InvalidQueryError("valid_to must be after valid_from")
    cal = Calibration(
        instrument_id=instrument_id, valid_from=valid_from, valid_to=valid_to,
        parameters=parameters, certificate_name=certificate_name,
        certificate_sha256=certificate_sha256,
    )  # fmt: skip
    session.add(cal)
    edited(session, instrument, now)
    return cal


def add_deployment(
    session: Session, instrument_id: int, place_id: int, start: datetime, stop: datetime | None,
    now: datetime | None = None,
) -> Deployment:  # fmt: skip
    """Record a local instrument on a platform or at a station (an edit of the instrument,
    announced to the peers at `now`); overlapping deployments of one instrument are a
    conflict (an instrument is in one place at a time). The place may be a peer's."""
    instrument = editable_instrument(session, instrument_id)
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
    edited(session, instrument, now or datetime.now(UTC))
    return deployment


def deployments_for(session: Session, dataset: Dataset) -> list[Deployment]:
    """The deployments in force at the dataset's start for its platform and instrument, in
    this center's registry (a peer's entries describe the peer's datasets)."""
    code = local_code(session)
    query = (
        select(Deployment)
        .join(Place, Place.id == Deployment.place_id)
        .join(Instrument, Instrument.id == Deployment.instrument_id)
        .where(
            Place.key == dataset.platform_key,
            Instrument.key == dataset.instrument_key,
            Instrument.center_code == code,
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
    """The registry's instrument of a dataset: its linked deployment's, else this center's
    one whose name matches the dataset's instrument."""
    linked = select(Instrument).join(Deployment, Deployment.instrument_id == Instrument.id)
    linked = linked.join(DatasetDeployment, DatasetDeployment.deployment_id == Deployment.id)
    found = session.scalar(linked.where(DatasetDeployment.dataset_id == dataset.id))
    if found is not None:
        return found
    named = Instrument.key == dataset.instrument_key
    return session.scalar(
        select(Instrument).where(named, Instrument.center_code == local_code(session))
    )


def registry_names(session: Session, dataset: Dataset) -> dict[str, Any] | None:
    """The registry's names of a linked dataset's deployment (for its page)."""
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
