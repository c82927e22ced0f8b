"""The instrument registry in the change log: places and instruments as records of their own.

Two record types travel, exactly like products and reports (`catalog.field_records`): a
`place` (a platform or a station with its position) and an `instrument`, which carries its
components, calibrations, deployments (naming their place by its public id) and every
version of its QC configurations. Adding a calibration, a deployment or a QC version is an
edit of the instrument: its origin version goes up and the whole record travels again.
Deleting a place or retiring an instrument logs a tombstone and rewrites the record's
earlier entries as tombstones. A mirrored entry is read-only here: its edits are made at
its origin (`ConflictError` naming it).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import delete, exists, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from catalog.changes import next_seq, redact_history, tombstone_payload
from catalog.closing import refuse_if_closing
from catalog.errors import ConflictError
from catalog.models import Center, Change
from catalog.registry_models import (
    Calibration,
    Deployment,
    Instrument,
    InstrumentComponent,
    Place,
    QcConfig,
)

RegistryEntry = Place | Instrument
REGISTRY_TYPES = ("place", "instrument")
REGISTRY_MODELS: dict[str, type[RegistryEntry]] = {"place": Place, "instrument": Instrument}


def local_code(session: Session) -> str:
    """This center's code ("" in a database no node has set up yet)."""
    return session.scalar(select(Center.code).where(Center.is_local.is_(True))) or ""


def origins(session: Session) -> dict[str, tuple[str, str]]:
    """Every known center: code -> (name, base URL), for naming an entry's origin."""
    rows = session.execute(select(Center.code, Center.name, Center.base_url))
    return {code: (name, url) for code, name, url in rows}


def check_local(session: Session, entry: RegistryEntry) -> None:
    """A mirrored entry is edited at its origin only: ConflictError (409) naming it."""
    if entry.center_code != local_code(session):
        name, url = origins(session).get(entry.center_code, (entry.center_code, ""))
        where = f" ({url})" if url else ""
        raise ConflictError(
            f"{entry.name!r} is mirrored from center {entry.center_code} {name}{where}: "
            "edit it there"
        )
    refuse_if_closing(session, entry.center_code)


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def place_payload(place: Place) -> dict[str, Any]:
    """A platform or station as its peers mirror it."""
    return {
        "public_id": place.public_id, "kind": place.kind, "name": place.name,
        "latitude": place.latitude, "longitude": place.longitude, "altitude": place.altitude,
        "description": place.description, "created_at": _iso(place.created_at),
    }  # fmt: skip


def instrument_payload(session: Session, instrument: Instrument) -> dict[str, Any]:
    """An instrument with its components, calibrations, deployments and QC configurations;
    a calibration's `id` is its id at the origin (where its certificate is fetched: a
    handed-over instrument's, announced by its old origin, names the new one's)."""
    iid = instrument.id
    components = session.scalars(
        select(InstrumentComponent)
        .where(InstrumentComponent.instrument_id == iid)
        .order_by(InstrumentComponent.id)
    )
    calibrations = session.scalars(
        select(Calibration).where(Calibration.instrument_id == iid).order_by(Calibration.id)
    )
    deployments = session.execute(
        select(Deployment, Place.public_id)
        .join(Place, Place.id == Deployment.place_id)
        .where(Deployment.instrument_id == iid)
        .order_by(Deployment.id)
    )
    configs = session.scalars(
        select(QcConfig)
        .where(QcConfig.instrument_id == iid)
        .order_by(QcConfig.variable_key, QcConfig.version)
    )
    return {
        "public_id": instrument.public_id, "name": instrument.name, "kind": instrument.kind,
        "description": instrument.description, "created_at": _iso(instrument.created_at),
        "components": [{"name": c.name, "serial": c.serial} for c in components],
        "calibrations": [
            {"id": c.origin_ref or c.id, "valid_from": _iso(c.valid_from),
             "valid_to": _iso(c.valid_to), "parameters": c.parameters,
             "certificate_name": c.certificate_name, "certificate_sha256": c.certificate_sha256}
            for c in calibrations
        ],
        "deployments": [
            {"place": place, "start": _iso(d.start), "stop": _iso(d.stop)}
            for d, place in deployments
        ],
        "qc_configs": [
            {"variable": q.variable_key, "version": q.version, "tests": q.tests,
             "created_at": _iso(q.created_at)}
            for q in configs
        ],
    }  # fmt: skip


def entry_payloads(session: Session) -> Iterator[tuple[str, RegistryEntry, dict[str, Any]]]:
    """Every place and instrument held here (own and mirrored) with its payload as its
    origin sends it: (record type, entry, payload), what `peers verify` compares."""
    for place in session.scalars(select(Place).order_by(Place.id)):
        yield "place", place, place_payload(place)
    for instrument in session.scalars(select(Instrument).order_by(Instrument.id)).all():
        yield "instrument", instrument, instrument_payload(session, instrument)


def announce_entry(
    session: Session, entry: RegistryEntry, now: datetime, *, removed: bool = False,
    extra: dict[str, Any] | None = None,
) -> Change | None:  # fmt: skip
    """Log a local place or instrument for the peers (the caller raised its origin version).

    `removed` (deleted, retired) goes as a tombstone, only if the entry was ever announced;
    an upsert's payload gets `extra` (a hand-over's `moved_from`). None when nothing is
    logged (a database no node has set up has no change log to feed).
    """
    session.flush()
    if not entry.center_code:
        return None
    if removed and not session.scalar(select(exists().where(Change.public_id == entry.public_id))):
        return None
    record_type = "place" if isinstance(entry, Place) else "instrument"
    if removed:
        payload = tombstone_payload(entry.public_id, entry.center_code, entry.origin_version)
    elif isinstance(entry, Place):
        payload = place_payload(entry)
    else:
        payload = instrument_payload(session, entry)
    if not removed and extra:
        payload |= extra
    change = Change(
        seq=next_seq(session), public_id=entry.public_id, record_type=record_type,
        origin_center=entry.center_code, origin_version=entry.origin_version,
        kind="tombstone" if removed else "upsert", payload=payload, created_at=now,
    )  # fmt: skip
    session.add(change)
    session.flush()
    if removed:
        redact_history(session, [entry.public_id], before=change.seq)
    return change


def raise_version(session: Session, entry: RegistryEntry) -> None:
    """Raise a local entry's origin version in the database itself: concurrent edits each
    raise it once, even on SQLite, where a request's reads run before its write transaction
    begins (a `+= 1` in Python could then write the same version twice)."""
    session.flush()
    model = type(entry)
    version = session.execute(
        update(model)
        .where(model.id == entry.id)
        .values(origin_version=model.origin_version + 1)
        .returning(model.origin_version)
        .execution_options(synchronize_session=False)
    ).scalar_one()
    set_committed_value(entry, "origin_version", version)


def edited(session: Session, entry: RegistryEntry, now: datetime) -> None:
    """A local entry changed: raise its origin version and announce it."""
    raise_version(session, entry)
    announce_entry(session, entry, now)


def write_mirrored_entry(
    session: Session, record_type: str, values: dict[str, Any], row: RegistryEntry | None
) -> None:
    """Insert or update a mirrored place or instrument from its coerced `values`; an
    instrument's parts (`values["parts"]`) replace the ones held."""
    parts = values.pop("parts", None)
    if row is None:
        row = REGISTRY_MODELS[record_type]()
        session.add(row)
    for name, value in values.items():
        setattr(row, name, value)
    session.flush()
    if isinstance(row, Instrument) and parts is not None:
        _replace_parts(session, row, parts)


def _replace_parts(session: Session, instrument: Instrument, parts: dict[str, Any]) -> None:
    """A mirrored instrument's components, calibrations, deployments and QC configurations,
    as its origin last sent them; a deployment at a place not held here is left out."""
    iid = instrument.id
    for model in (InstrumentComponent, Calibration, Deployment, QcConfig):
        session.execute(delete(model).where(model.instrument_id == iid))
    places = dict(
        session.execute(
            select(Place.public_id, Place.id).where(
                Place.public_id.in_([d["place"] for d in parts["deployments"]])
            )
        ).all()
    )
    session.add_all(InstrumentComponent(instrument_id=iid, **c) for c in parts["components"])
    session.add_all(Calibration(instrument_id=iid, **c) for c in parts["calibrations"])
    session.add_all(
        Deployment(instrument_id=iid, place_id=places[d["place"]], start=d["start"],
                   stop=d["stop"])
        for d in parts["deployments"] if d["place"] in places
    )  # fmt: skip
    session.add_all(QcConfig(instrument_id=iid, **q) for q in parts["qc_configs"])
    session.flush()
