"""The receiving center's import of a hand-over, a group of records per transaction, in bulk.

`import_group` makes a group of handed-over records this center's own with a few set-based
statements per table (not one ORM object per record): a dataset it mirrors is made the
handed-over record in place (`catalog.handover_adopt`), other mirrors are deleted (their
tombstones too), the records not held inserted with one multi-row INSERT per table (ids
mapped back with RETURNING, in the rows' order), each a new origin version announced
with `moved_from`, and one audit event each. Records already this center's own are left as
they are (a product's id here is still returned), so a group run again after a crash adds
nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, cast

from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from catalog.audit import event_row, record_events
from catalog.federation_models import MirrorTombstone
from catalog.field_records import MODELS, FieldRecord, announce_many
from catalog.handover import log_moves
from catalog.handover_adopt import Target, adopt, insert_children, target_of
from catalog.handover_files import Placed, place_derived
from catalog.handover_registry import import_registry, link_imported
from catalog.handover_rows import values_of
from catalog.models import Center, Dataset, DatasetVersion, DerivedFile
from catalog.registration import campaign_id
from catalog.registry_models import QcResult
from catalog.schemas import Principal, Role
from catalog.storage import ArchiveStore, fsync_dirs

logger = logging.getLogger(__name__)
Item = tuple[str, dict[str, Any]]


@dataclass(frozen=True)
class Move:
    """Who hands over to whom, when, and where the verified derived files wait."""

    source: str
    local: str
    now: datetime
    store: ArchiveStore
    holding: Path

    def audit(self, kind: str, public_id: str, dataset_id: int | None = None) -> dict[str, Any]:
        """The audit event of one record's move."""
        return event_row(
            actor=Principal(role=Role.PEER, username=self.source), action=f"{kind}.handover",
            now=self.now, reason=f"handed over by {self.source} to {self.local}",
            dataset_id=dataset_id,
            before={"public_id": public_id, "origin_center": self.source},
            after={"public_id": public_id, "origin_center": self.local},
            actor_label=f"peer:{self.source}",
        )  # fmt: skip


def import_group(session: Session, items: list[Item], move: Move) -> tuple[int, dict[str, int]]:
    """Import a group of handed-over records (in the caller's transaction): how many datasets
    were imported, and the products' ids here by public id (with the calibrations' by
    `catalog.handover_registry.CALIBRATION` + their id at the closing center)."""
    stones = [str(item["row"]["public_id"]) for _, item in items]
    session.execute(delete(MirrorTombstone).where(MirrorTombstone.public_id.in_(stones)))
    campaigns: dict[str, int] = {}

    def campaign(code: str) -> int:
        if code not in campaigns:
            campaigns[code] = campaign_id(session, code)
        return campaigns[code]

    moved, refs = import_registry(session, items, move.local, move.source, move.now)
    record_events(session, [move.audit(kind, public_id) for kind, public_id in moved])
    datasets = [item for kind, item in items if kind == "dataset"]
    imported = _import_datasets(session, datasets, move, campaign)
    for kind in MODELS:
        made = _import_fields(session, kind, [i for k, i in items if k == kind], move, campaign)
        if kind == "product":
            refs |= made
    return imported, refs


def _import_datasets(session: Session, items: list[dict[str, Any]], move: Move,
                     campaign: Any) -> int:  # fmt: skip
    held = session.execute(
        select(Dataset.id, Dataset.public_id, Dataset.origin_center, Dataset.listed).where(
            Dataset.public_id.in_([str(item["row"]["public_id"]) for item in items])
        )
    ).all()
    ours = {row.public_id for row in held if row.origin_center == move.local}
    mirrors = {row.public_id: row for row in held if row.origin_center != move.local}
    for code in {row.origin_center for row in mirrors.values()}:
        listed = sum(1 for row in mirrors.values() if row.origin_center == code and row.listed)
        if listed:
            session.execute(
                update(Center).where(Center.code == code)
                .values(shared_records=Center.shared_records - listed)
                .execution_options(synchronize_session=False)
            )  # fmt: skip
    items = [item for item in items if item["row"]["public_id"] not in ours]
    if not items:
        return 0
    keys = [str(item["row"]["public_id"]) for item in items]
    targets = [_target(item, move, campaign) for item in items]
    ids = {key: int(mirrors[key].id) for key in keys if key in mirrors}
    adopt(session, {ids[k]: t for k, t in zip(keys, targets, strict=True) if k in ids})
    fresh = [(k, t) for k, t in zip(keys, targets, strict=True) if k not in ids]
    ids |= _insert_new(session, fresh)
    made = [ids[key] for key in keys]
    versions = select(DatasetVersion.dataset_id, DatasetVersion.id).where(
        DatasetVersion.dataset_id.in_(made), DatasetVersion.is_current.is_(True)
    )
    current = {int(row.dataset_id): int(row.id) for row in session.execute(versions)}
    placed = Placed()
    for dataset_id, item in zip(made, items, strict=True):
        if dataset_id in current:
            place_derived(move.store, move.holding, str(item["row"]["public_id"]),
                          current[dataset_id], item.get("derived", []), move.now,
                          placed)  # fmt: skip
    fsync_dirs(placed.folders)  # the names, before the rows commit
    for name, public_id in placed.unverified:
        logger.warning("hand-over from %s: derived file %s of %s not verified; made again here",
                       move.source, name, public_id)  # fmt: skip
    if placed.derived:
        session.execute(insert(DerivedFile), placed.derived)
    if placed.qc:
        session.execute(insert(QcResult), placed.qc)
    link_imported(session, list(zip(made, items, strict=True)))
    loaded = log_moves(session, made, move.source, move.now)
    record_events(session, [move.audit("dataset", d.public_id, d.id) for d in loaded])
    return len(made)


def _target(item: dict[str, Any], move: Move, campaign: Any) -> Target:
    """A handed-over dataset's rows as they stand here: this center's, a version on."""
    origin_version = int(item["row"]["origin_version"]) + 1
    here = {"origin_center": move.local, "listed": False, "origin_version": origin_version,
            "campaign_id": campaign(item["campaign"])}  # fmt: skip
    return target_of(item, here)


def _insert_new(session: Session, fresh: list[tuple[str, Target]]) -> dict[str, int]:
    """Insert the records this center did not mirror, with their variables and versions:
    their ids here, by public id."""
    if not fresh:
        return {}
    statement = insert(Dataset).returning(Dataset.id, sort_by_parameter_order=True)
    made = session.execute(statement, [target.row for _, target in fresh]).scalars().all()
    insert_children(session, [(int(i), t) for i, (_, t) in zip(made, fresh, strict=True)])
    return {key: int(i) for i, (key, _) in zip(made, fresh, strict=True)}


def _import_fields(session: Session, kind: str, items: list[dict[str, Any]], move: Move,
                   campaign: Any) -> dict[str, int]:  # fmt: skip
    model = MODELS[kind]
    if not items:
        return {}
    held = session.execute(
        select(model.id, model.public_id, model.center_code).where(
            model.public_id.in_([str(item["row"]["public_id"]) for item in items])
        )
    ).all()
    ids = {row.public_id: int(row.id) for row in held if row.center_code == move.local}
    mirrors = [row.id for row in held if row.center_code != move.local]
    if mirrors:
        session.execute(delete(model).where(model.id.in_(mirrors)))
    items = [item for item in items if item["row"]["public_id"] not in ids]
    if not items:
        return ids
    rows = []
    for item in items:
        values = values_of(model, item["row"])
        values.update(center_code=move.local,
                      origin_version=int(item["row"]["origin_version"]) + 1,
                      campaign_id=campaign(item["campaign"]))  # fmt: skip
        if kind == "product":
            values["origin_ref"] = None
        rows.append(values)
    made = (
        session.execute(insert(model).returning(model.id, sort_by_parameter_order=True), rows)
        .scalars()
        .all()
    )
    loaded = session.scalars(select(model).where(model.id.in_(made)).order_by(model.id))
    records = cast(list[FieldRecord], list(loaded))
    announce_many(session, records, move.now, {"moved_from": move.source})
    record_events(session, [move.audit(kind, r.public_id) for r in records])
    return ids | {r.public_id: int(r.id) for r in records}
