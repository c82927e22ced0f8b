"""A hand-over: a closing center gives every record it originated to another center.

The closing center offers (`offer_handover`); the receiving center accepts (`accept_handover`)
and pulls the closing center's manifest (`manifest`: every dataset with all its versions,
every product and report, whatever their state, and its registry entries,
`catalog.handover_registry`) and every original and certificate by SHA-256; it imports
each group of records as its own in bulk (`catalog.handover_import`: a new origin version,
announced with `moved_from`),
then tells the closing center, which turns its rows into mirrors of the new origin and
announces the move in its own log (`finish_as_mirror`). Every step is idempotent, so a crash
on either side is repaired by running it again. Peers accept a record's new origin only from
the old origin's own log (`federation.apply`): a record changes origin only this way.

Users do not travel: an imported dataset has no owner at the new center (its PI claims it
there) and keeps its password hash, so its password still opens it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import datetime
from typing import Any, cast

from sqlalchemy import case, select, update
from sqlalchemy.orm import Session, selectinload

from catalog.audit import record_event
from catalog.changes import log_datasets
from catalog.facet_triggers import tallies_paused
from catalog.federation_models import Handover, Peer
from catalog.field_records import MODELS, FieldRecord, announce_many, campaign_codes
from catalog.handover_files import derived_entries, qc_results, thumbnail_entry
from catalog.handover_registry import (
    dataset_links,
    finish_registry,
    handed_over_certificates,
    registry_manifest,
)
from catalog.handover_rows import row_of
from catalog.models import Center, Dataset, DatasetVersion, Product, Report
from catalog.registration import ensure_center
from catalog.schemas import Principal, Role
from catalog.storage import ArchiveStore
from catalog.summary_models import ExpectedDelivery

logger = logging.getLogger(__name__)

OFFERED, PULLING, DONE = "offered", "pulling", "done"
WHOLE = (
    selectinload(Dataset.variables),
    selectinload(Dataset.versions).selectinload(DatasetVersion.derived_files),
)
"""A dataset loaded whole in a few queries for all (not a few per dataset)."""


def log_moves(session: Session, ids: list[int], source: str, now: datetime) -> list[Dataset]:
    """Log the move of these datasets (just written by plain SQL) away from `source`: each
    reloaded whole, and each but the withdrawn announced with `moved_from` (at both ends of
    a hand-over); the datasets, loaded."""
    query = select(Dataset).where(Dataset.id.in_(ids)).options(*WHOLE).order_by(Dataset.id)
    loaded = list(session.scalars(query.execution_options(populate_existing=True)))
    shared = [d for d in loaded if d.access_state != "withdrawn"]
    log_datasets(session, shared, now, {"moved_from": source})
    return loaded


def offer_handover(session: Session, local: str, to_center: str, now: datetime) -> Handover:
    """The closing center's offer of its records to `to_center` (made once, kept)."""
    return _handover(session, local, to_center, OFFERED, now)


def accept_handover(session: Session, from_center: str, local: str, now: datetime) -> Handover:
    """The receiving center's job of pulling `from_center`'s records (its worker resumes it)."""
    return _handover(session, from_center, local, PULLING, now)


def _handover(session: Session, source: str, target: str, state: str, now: datetime) -> Handover:
    found = find_handover(session, source, target)
    if found is None:
        found = Handover(from_center=source, to_center=target, state=state, records=0,
                         bytes_pulled=0, started_at=now, last_error="")  # fmt: skip
        session.add(found)
        session.flush()
    return found


def find_handover(session: Session, source: str, target: str) -> Handover | None:
    """The hand-over from `source` to `target`, if any."""
    query = select(Handover).where(Handover.from_center == source, Handover.to_center == target)
    return session.scalars(query).first()


def pending_pulls(session: Session, local: str) -> list[Handover]:
    """Hand-overs to this center not finished yet."""
    query = select(Handover).where(Handover.to_center == local, Handover.state == PULLING)
    return list(session.scalars(query))


def imported_ids(session: Session, local: str, public_ids: list[str]) -> set[str]:
    """Those of `public_ids` that are already this center's own datasets."""
    query = select(Dataset.public_id).where(Dataset.origin_center == local)
    return set(session.scalars(query)) & set(public_ids)


def peer_url(session: Session, code: str) -> str:
    """A configured peer's base URL ('' if not configured)."""
    peer = session.get(Peer, code.upper())
    return "" if peer is None else peer.url


def manifest(session: Session, store: ArchiveStore, local: str) -> dict[str, Any]:
    """Every record this center originated, whole, with its derived files
    (`catalog.handover_files`), and the originals they need (SHA-256 -> size)."""
    codes = campaign_codes(session)
    blobs: dict[str, int] = {}
    registry = registry_manifest(session, store, local, blobs)
    links = dataset_links(session, local)
    datasets = []
    owned = session.scalars(
        select(Dataset).where(Dataset.origin_center == local).options(*WHOLE)
    ).all()
    qc = qc_results(session, list(owned))
    for dataset in owned:
        versions = [row_of(v) for v in dataset.versions]
        blobs.update({v.sha256: v.size for v in dataset.versions})
        datasets.append({"row": row_of(dataset), "campaign": codes[dataset.campaign_id],
                         "variables": [row_of(v) for v in dataset.variables],
                         "versions": versions,
                         "derived": derived_entries(store, dataset, qc),
                         "link": links.get(dataset.id)})  # fmt: skip
    products = []
    query = select(Product).where(Product.center_code == local, Product.origin_ref.is_(None))
    for product in session.scalars(query):
        blobs[product.sha256] = product.size
        products.append({"row": row_of(product), "campaign": codes[product.campaign_id],
                         "thumbnail": thumbnail_entry(store, product)})  # fmt: skip
    reports = [
        {"row": row_of(r), "campaign": codes[r.campaign_id]}
        for r in session.scalars(select(Report).where(Report.center_code == local))
    ]
    expected = [
        {"row": row_of(e), "campaign": codes[e.campaign_id]}
        for e in session.scalars(
            select(ExpectedDelivery).where(ExpectedDelivery.center_code == local)
        )
    ]
    return {"center": local, **registry, "datasets": datasets, "products": products,
            "reports": reports, "expected": expected, "blobs": blobs}  # fmt: skip


def handed_over_blob(session: Session, local: str, sha256: str) -> bool:
    """Whether this original (or certificate) belongs to a record this center originated (so
    may be pulled)."""
    version = (
        select(DatasetVersion.id)
        .join(Dataset)
        .where(DatasetVersion.sha256 == sha256, Dataset.origin_center == local)
    )
    product = select(Product.id).where(Product.sha256 == sha256, Product.center_code == local)
    return bool(
        session.scalar(version.limit(1))
        or session.scalar(product.limit(1))
        or sha256 in handed_over_certificates(session, local, {sha256})
    )


CHUNK_IDS = 500
"""Rows per set-based statement of the closing center's completion (bounded parameters)."""


def _chunks(ids: list[int]) -> Iterator[list[int]]:
    for start in range(0, len(ids), CHUNK_IDS):
        yield ids[start : start + CHUNK_IDS]


def finish_as_mirror(session: Session, local: str, target: str, refs: dict[str, int],
                     now: datetime, calibrations: dict[str, int] | None = None) -> int:  # fmt: skip
    """At the closing center: its records now name `target` as origin, announced as moves.

    `refs` gives the products' ids at `target` (where their files are), `calibrations` the
    calibrations' (where their certificates are). Set-based: a few statements per table and
    chunk of rows, not per record (the registry's few entries one by one,
    `catalog.handover_registry`). How many records moved (0 when run again).
    """
    if session.scalars(select(Center).where(Center.code == target)).first() is None:
        ensure_center(session, target, target, peer_url(session, target))
    moved = {"moved_from": local}
    count = finish_registry(session, local, target, calibrations or {}, now)
    owned = select(Dataset.id, Dataset.listed).where(Dataset.origin_center == local)
    rows = session.execute(owned).all()
    listed = sum(1 for row in rows if row.listed)
    if listed:
        session.execute(
            update(Center).where(Center.code == local)
            .values(shared_records=Center.shared_records - listed)
            .execution_options(synchronize_session=False)
        )  # fmt: skip
    mirrored = {"listed": False, "origin_center": target,
                "origin_version": Dataset.origin_version + 1}  # fmt: skip
    for ids in _chunks([int(row.id) for row in rows]):
        with tallies_paused(session, ids, mirrored):  # a new center: its facet, set-based
            session.execute(
                update(Dataset).where(Dataset.id.in_(ids)).values(mirrored)
                .execution_options(synchronize_session=False)
            )  # fmt: skip
        log_moves(session, ids, local, now)
        count += len(ids)
    for kind, model in MODELS.items():
        owned_ids = select(model.id).where(model.center_code == local)
        if kind == "product":
            owned_ids = owned_ids.where(Product.origin_ref.is_(None))
        values: dict[str, Any] = {"center_code": target,
                                  "origin_version": model.origin_version + 1}  # fmt: skip
        if kind == "product":
            values["origin_ref"] = (
                case(refs, value=Product.public_id, else_=Product.id) if refs else Product.id
            )
        for ids in _chunks([int(i) for i in session.scalars(owned_ids)]):
            session.execute(
                update(model).where(model.id.in_(ids)).values(values)
                .execution_options(synchronize_session=False)
            )  # fmt: skip
            loaded = select(model).where(model.id.in_(ids)).order_by(model.id)
            records = session.scalars(loaded.execution_options(populate_existing=True))
            announce_many(session, cast(list[FieldRecord], list(records)), now, moved)
            count += len(ids)
    return count


def finish_handover(session: Session, local: str, target: str, refs: dict[str, int],
                    now: datetime, calibrations: dict[str, int] | None = None) -> int:  # fmt: skip
    """The closing center's side of the end: its records move to `target`, once, audited."""
    job = find_handover(session, local, target)
    moved = finish_as_mirror(session, local, target, refs, now, calibrations)
    if job is not None and job.state != DONE:
        job.state, job.finished_at, job.records = DONE, now, moved
        record_event(
            session, actor=Principal(role=Role.PEER, username=target), action="center.handover",
            now=now, reason=f"every record of {local} handed over to {target}",
            before={"origin_center": local}, after={"origin_center": target, "records": moved},
            actor_label=f"peer:{target}",
        )  # fmt: skip
    return moved
