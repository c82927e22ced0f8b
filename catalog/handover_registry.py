"""The instrument registry in a hand-over: the closing center's places and instruments move
with its datasets.

The manifest lists each place and instrument the closing center originated, an instrument
whole (components, calibrations, deployments naming their place by public id, every QC
configuration version) with its certificate files (SHA-256 and size, fetched and verified
like originals), and each handed-over dataset's link to its deployment as the instrument's
public id and the deployment's position among its deployments (ids differ between
centers). The receiving center makes each entry its own in place of the mirror it held (the
row kept, so other deployments at a place still point at it; an instrument's parts
replaced), a new origin version announced with `moved_from`; it returns its calibrations'
ids, so the closing center's mirrored calibrations name the certificates at the new origin.
An entry already this center's own is left as it is, so a run repeated after a crash adds
nothing.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any, cast

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from catalog.handover_rows import row_of, values_of
from catalog.models import Dataset
from catalog.registry_models import (
    Calibration,
    DatasetDeployment,
    Deployment,
    Instrument,
    InstrumentComponent,
    Place,
    QcConfig,
)
from catalog.registry_records import REGISTRY_MODELS, RegistryEntry, announce_entry, raise_version
from catalog.storage import ArchiveStore

CALIBRATION = "calibration:"
"""The prefix of a calibration's id at the closing center among the receiver's refs."""
PARTS = (InstrumentComponent, Calibration, Deployment, QcConfig)


def _instrument_entry(session: Session, store: ArchiveStore, instrument: Instrument,
                      blobs: dict[str, int]) -> dict[str, Any]:  # fmt: skip
    iid = instrument.id
    calibrations = session.scalars(
        select(Calibration).where(Calibration.instrument_id == iid).order_by(Calibration.id)
    ).all()
    certificates: dict[str, int] = {}
    for cal in calibrations:
        sha = cal.certificate_sha256
        path = None if sha is None else store.original_path(sha)
        if path is not None and path.is_file():
            certificates[path.name] = blobs[path.name] = path.stat().st_size
    deployments = session.execute(
        select(Deployment, Place.public_id).join(Place, Place.id == Deployment.place_id)
        .where(Deployment.instrument_id == iid).order_by(Deployment.id)
    ).all()  # fmt: skip
    components = select(InstrumentComponent).where(InstrumentComponent.instrument_id == iid)
    configs = select(QcConfig).where(QcConfig.instrument_id == iid)
    return {
        "row": row_of(instrument),
        "components": [row_of(c) for c in session.scalars(components.order_by("id"))],
        "calibrations": [row_of(c) | {"ref": c.id} for c in calibrations],
        "deployments": [row_of(d) | {"place": place} for d, place in deployments],
        "qc_configs": [row_of(q) for q in session.scalars(configs.order_by("id"))],
        "certificates": [{"sha256": s, "size": n} for s, n in sorted(certificates.items())],
    }  # fmt: skip


def registry_manifest(session: Session, store: ArchiveStore, local: str,
                      blobs: dict[str, int]) -> dict[str, list[dict[str, Any]]]:  # fmt: skip
    """The places and instruments this center originated, as the manifest lists them (their
    certificates added to `blobs`)."""
    places = session.scalars(select(Place).where(Place.center_code == local).order_by(Place.id))
    owned = select(Instrument).where(Instrument.center_code == local).order_by(Instrument.id)
    return {
        "places": [{"row": row_of(place)} for place in places],
        "instruments": [_instrument_entry(session, store, i, blobs)
                        for i in session.scalars(owned)],
    }  # fmt: skip


def dataset_links(session: Session, local: str) -> dict[int, dict[str, Any]]:
    """Each of this center's datasets linked to a deployment: dataset id -> the link as the
    manifest carries it (the instrument's public id, the deployment's position)."""
    rows = session.execute(
        select(DatasetDeployment.dataset_id, DatasetDeployment.deployment_id,
               DatasetDeployment.chosen_by, Instrument.id, Instrument.public_id)
        .join(Deployment, Deployment.id == DatasetDeployment.deployment_id)
        .join(Instrument, Instrument.id == Deployment.instrument_id)
        .join(Dataset, Dataset.id == DatasetDeployment.dataset_id)
        .where(Dataset.origin_center == local)
    ).all()  # fmt: skip
    order: dict[int, list[int]] = defaultdict(list)
    wanted = {row[3] for row in rows}
    query = select(Deployment.instrument_id, Deployment.id).order_by(Deployment.id)
    for instrument_id, deployment_id in session.execute(
        query.where(Deployment.instrument_id.in_(wanted))
    ):
        order[instrument_id].append(deployment_id)
    return {
        dataset_id: {"instrument": public_id, "deployment": order[iid].index(deployment_id),
                     "chosen_by": chosen_by}
        for dataset_id, deployment_id, chosen_by, iid, public_id in rows
    }  # fmt: skip


def handed_over_certificates(session: Session, local: str, shas: set[str]) -> set[str]:
    """Those of these files that are certificates of instruments this center originated (so
    may be pulled, one to a request or in a bundle): one query whatever their number."""
    if not shas:
        return set()
    query = (
        select(Calibration.certificate_sha256)
        .join(Instrument, Instrument.id == Calibration.instrument_id)
        .where(Calibration.certificate_sha256.in_(shas), Instrument.center_code == local)
    )
    return {sha for sha in session.scalars(query) if sha is not None}


def _calibration_refs(session: Session, instrument: Instrument,
                      item: dict[str, Any]) -> dict[str, int]:  # fmt: skip
    """The closing center's calibration ids -> ours (in the same order at both)."""
    ids = session.scalars(
        select(Calibration.id).where(Calibration.instrument_id == instrument.id)
        .order_by(Calibration.id)
    ).all()  # fmt: skip
    return {f"{CALIBRATION}{c['ref']}": i for c, i in zip(item["calibrations"], ids, strict=False)}


def _insert_parts(session: Session, instrument: Instrument, item: dict[str, Any]) -> None:
    iid = instrument.id
    places = dict(session.execute(select(Place.public_id, Place.id).where(
        Place.public_id.in_([d["place"] for d in item["deployments"]])
    )).all())  # fmt: skip
    rows: dict[Any, list[dict[str, Any]]] = {
        InstrumentComponent: [values_of(InstrumentComponent, c) for c in item["components"]],
        Calibration: [values_of(Calibration, c) | {"origin_ref": None}
                      for c in item["calibrations"]],
        Deployment: [values_of(Deployment, d) | {"place_id": places[d["place"]]}
                     for d in item["deployments"] if d["place"] in places],
        QcConfig: [values_of(QcConfig, q) for q in item["qc_configs"]],
    }  # fmt: skip
    for model in PARTS:  # one by one, in the manifest's order: the same order of ids here
        for values in rows[model]:
            session.execute(insert(model).values(values | {"instrument_id": iid}))


def _take(session: Session, model: type[RegistryEntry], item: dict[str, Any],
          local: str) -> tuple[RegistryEntry, bool]:  # fmt: skip
    """The row of a handed-over entry made ours (the mirror held updated in place); whether
    it was already ours."""
    row = item["row"]
    query = select(model).where(model.public_id == row["public_id"])
    held = cast(RegistryEntry | None, session.scalars(query).first())
    if held is not None and held.center_code == local:
        return held, False
    entry = held if held is not None else model()
    for name, value in values_of(model, row).items():
        setattr(entry, name, value)
    entry.center_code, entry.origin_version = local, int(row["origin_version"]) + 1
    session.add(entry)
    session.flush()
    return entry, True


Moved = list[tuple[str, str]]


def import_registry(session: Session, items: list[tuple[str, dict[str, Any]]], local: str,
                    source: str, now: datetime) -> tuple[Moved, dict[str, int]]:  # fmt: skip
    """Make the group's places and instruments ours, announced as moves: the (kind, public
    id) of each one moved now (to audit), and our calibrations' ids by `CALIBRATION` + the
    closing center's id."""
    moved: Moved = []
    refs: dict[str, int] = {}
    extra = {"moved_from": source}
    for kind, model in REGISTRY_MODELS.items():
        for item in (i for k, i in items if k == kind):
            entry, taken = _take(session, model, item, local)
            if isinstance(entry, Instrument):
                if taken:
                    for part in PARTS:
                        session.execute(delete(part).where(part.instrument_id == entry.id))
                    _insert_parts(session, entry, item)
                refs |= _calibration_refs(session, entry, item)
            if taken:
                announce_entry(session, entry, now, extra=extra)
                moved.append((kind, entry.public_id))
    return moved, refs


def link_imported(session: Session, pairs: list[tuple[int, dict[str, Any]]]) -> None:
    """Link the datasets just imported (our id, manifest item) to our copies of their
    deployments."""
    links = [(dataset_id, item["link"]) for dataset_id, item in pairs if item.get("link")]
    if not links:
        return
    order: dict[str, list[int]] = defaultdict(list)
    for public_id, deployment_id in session.execute(
        select(Instrument.public_id, Deployment.id)
        .join(Deployment, Deployment.instrument_id == Instrument.id)
        .where(Instrument.public_id.in_({link["instrument"] for _, link in links}))
        .order_by(Deployment.id)
    ):  # fmt: skip
        order[public_id].append(deployment_id)
    rows = [
        {"dataset_id": dataset_id, "deployment_id": order[link["instrument"]][link["deployment"]],
         "chosen_by": str(link["chosen_by"])[:100]}
        for dataset_id, link in links
        if 0 <= int(link["deployment"]) < len(order[link["instrument"]])
    ]  # fmt: skip
    if rows:
        session.execute(insert(DatasetDeployment), rows)


def finish_registry(session: Session, local: str, target: str, calibrations: dict[str, int],
                    now: datetime) -> int:  # fmt: skip
    """At the closing center: its places and instruments now name `target` as origin, its
    calibrations `target`'s ids (`calibrations`: ours as text -> theirs), announced as moves
    (places first: an instrument's deployments name them). How many moved (0 when run again)."""
    count = 0
    for model in REGISTRY_MODELS.values():
        owned = select(model).where(model.center_code == local).order_by(model.id)
        for entry in cast(list[RegistryEntry], session.scalars(owned).all()):
            entry.center_code = target
            raise_version(session, entry)
            if isinstance(entry, Instrument):
                cals = select(Calibration).where(Calibration.instrument_id == entry.id)
                for cal in session.scalars(cals):
                    cal.origin_ref = calibrations.get(str(cal.id))
            announce_entry(session, entry, now, extra={"moved_from": local})
            count += 1
    return count
