"""Products and reports in the change log: what a peer learns of them, and their mirror rows
(the registry's places and instruments are held and written here too, `registry_records`).

They travel exactly like datasets (`catalog.changes`): one gap-free log, keyed by public id,
each entry naming its origin center and origin version; withdrawal is a tombstone and
rewrites the record's earlier entries as tombstones. The entry's `record_type` tells a peer
which table the record goes to. Nothing private travels: a product that is not open is
announced as a tombstone (if it was ever shared) and never its metadata; reports are
public listings. Uploaders, authors and password grants never leave the center.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from catalog.access_states import AccessState
from catalog.audit import record_event
from catalog.changes import (
    announced,
    append_entries,
    next_seq,
    redact_history,
    tombstone_payload,
)
from catalog.errors import ConflictError, InvalidQueryError
from catalog.federation_models import MirrorTombstone
from catalog.models import Campaign, Change, Product, Report
from catalog.registry_models import Instrument, Place
from catalog.registry_records import REGISTRY_MODELS, RegistryEntry, write_mirrored_entry
from catalog.schemas import Principal
from catalog.summaries import set_details
from catalog.summary_models import ExpectedDelivery

FieldRecord = Product | Report | ExpectedDelivery
RECORD_TYPES = ("dataset", "product", "report", "expected", *REGISTRY_MODELS)
"""Every record type of the change log (`place` and `instrument`: `catalog.registry_records`)."""
MODELS: dict[str, type[FieldRecord]] = {
    "product": Product, "report": Report, "expected": ExpectedDelivery
}  # fmt: skip
MirrorRow = FieldRecord | RegistryEntry
MIRROR_MODELS: dict[str, type[MirrorRow]] = {**MODELS, **REGISTRY_MODELS}


def record_type_of(record: FieldRecord) -> str:
    """`product`, `report` or `expected`."""
    return next(name for name, model in MODELS.items() if isinstance(record, model))


def expected_payload(expected: ExpectedDelivery, campaign_code: str) -> dict[str, Any]:
    """An expected delivery as the peers mirror it (the project office sees every center's)."""
    return {
        "public_id": expected.public_id, "campaign": campaign_code,
        "pi_name": expected.pi_name, "did": expected.did, "platform": expected.platform,
        "instrument": expected.instrument, "category": expected.category,
        "description": expected.description, "due": _iso(expected.due),
        "created_at": _iso(expected.created_at),
    }  # fmt: skip


def _iso(value: datetime | date) -> str:
    return value.isoformat()


def product_payload(product: Product, campaign_code: str) -> dict[str, Any]:
    """The public metadata of a product a peer mirrors (never who uploaded it)."""
    return {
        "public_id": product.public_id,
        "campaign": campaign_code,
        "filename": product.filename,
        "source": product.source,
        "product_time": _iso(product.product_time),
        "product_name": product.product_name,
        "ext": product.ext,
        "sha256": product.sha256,
        "size": product.size,
        "access_state": product.access_state,
        "origin_ref": product.id if product.origin_ref is None else product.origin_ref,
        "created_at": _iso(product.created_at),
    }


def report_payload(report: Report, campaign_code: str) -> dict[str, Any]:
    """The public content of a report a peer mirrors (never its author's account)."""
    return {
        "public_id": report.public_id,
        "campaign": campaign_code,
        "kind": report.kind,
        "report_date": _iso(report.report_date),
        "title": report.title,
        "body": report.body,
        "details": report.details,
        "created_at": _iso(report.created_at),
    }


def _shared(record: FieldRecord) -> bool:
    return not isinstance(record, Product) or record.access_state == AccessState.OPEN.value


def announce(session: Session, record: FieldRecord, now: datetime, *, withdrawn: bool = False
             ) -> Change | None:  # fmt: skip
    """Log a local product or report for the peers (the caller raised its origin version).

    A record that is not shared (a product not open) or `withdrawn` goes as a tombstone, and
    only if it was ever announced; None when nothing is logged.
    """
    session.flush()
    removing = withdrawn or not _shared(record)
    if removing and not session.scalar(
        select(exists().where(Change.public_id == record.public_id))
    ):
        return None
    code = session.scalars(select(Campaign.code).where(Campaign.id == record.campaign_id)).one()
    payload = _payload(record, code, removing)
    change = Change(
        seq=next_seq(session), public_id=record.public_id, record_type=record_type_of(record),
        origin_center=record.center_code, origin_version=record.origin_version,
        kind="tombstone" if removing else "upsert", payload=payload, created_at=now,
    )  # fmt: skip
    session.add(change)
    session.flush()
    if removing:
        redact_history(session, [record.public_id], before=change.seq)
    return change


def _payload(record: FieldRecord, code: str, removing: bool) -> dict[str, Any]:
    if removing:
        return tombstone_payload(record.public_id, record.center_code, record.origin_version)
    if isinstance(record, Product):
        return product_payload(record, code)
    if isinstance(record, Report):
        return report_payload(record, code)
    return expected_payload(record, code)


def campaign_codes(session: Session) -> dict[int, str]:
    """Each campaign's code by its id (the payloads name a record's campaign by its code)."""
    return {row.id: row.code for row in session.execute(select(Campaign.id, Campaign.code))}


def announce_many(session: Session, records: list[FieldRecord], now: datetime,
                  extra: dict[str, Any]) -> int:  # fmt: skip
    """`announce` for many records at once (not withdrawn), each upsert's payload with
    `extra`: one statement for the log; how many entries were logged."""
    session.flush()
    before = announced(session, [r.public_id for r in records if not _shared(r)])
    codes = campaign_codes(session)
    entries = []
    for record in records:
        removing = not _shared(record)
        if removing and record.public_id not in before:
            continue
        payload = _payload(record, codes[record.campaign_id], removing)
        entries.append({
            "public_id": record.public_id, "record_type": record_type_of(record),
            "origin_center": record.center_code, "origin_version": record.origin_version,
            "kind": "tombstone" if removing else "upsert",
            "payload": payload if removing else payload | extra,
        })  # fmt: skip
    return append_entries(session, entries, now)


def field_payloads(session: Session) -> Iterator[tuple[str, FieldRecord, dict[str, Any]]]:
    """Every shared product, report and expected delivery held here (own and mirrored):
    (record type, row, the payload its origin sends), for `fieldcat peers verify`."""
    codes = campaign_codes(session)
    records: Iterator[FieldRecord] = itertools.chain(
        session.scalars(select(Product).order_by(Product.id)),
        session.scalars(select(Report).order_by(Report.id)),
        session.scalars(select(ExpectedDelivery).order_by(ExpectedDelivery.id)),
    )
    for record in records:
        if _shared(record):
            payload = _payload(record, codes[record.campaign_id], removing=False)
            yield record_type_of(record), record, payload


@dataclass(frozen=True)
class HeldField:
    """What this center holds of a record a peer sent (not a dataset): a row, or a tombstone."""

    record: MirrorRow | None
    origin_center: str
    origin_version: int


def held_field_record(session: Session, record_type: str, public_id: str) -> HeldField | None:
    """The row (or mirror tombstone) held here for this record (not a dataset)."""
    model = MIRROR_MODELS[record_type]
    found = session.scalars(select(model).where(model.public_id == public_id)).first()
    row = (
        found
        if isinstance(found, Product | Report | ExpectedDelivery | Place | Instrument)
        else None
    )
    if row is not None:
        return HeldField(row, row.center_code, row.origin_version)
    stone = session.get(MirrorTombstone, public_id)
    if stone is not None:
        return HeldField(None, stone.origin_center, stone.origin_version)
    return None


def write_mirrored_field(
    session: Session, record_type: str, values: dict[str, Any], held: HeldField | None
) -> None:
    """Insert or update a mirrored record (not a dataset) from its coerced `values`."""
    row = held.record if held is not None else None
    if row is None:
        stone = session.get(MirrorTombstone, values["public_id"])
        if stone is not None:
            session.delete(stone)
    if record_type in REGISTRY_MODELS:
        entry = row if isinstance(row, Place | Instrument) else None
        write_mirrored_entry(session, record_type, values, entry)
        return
    if row is None:
        row = MODELS[record_type]()
        session.add(row)
    details = values.pop("details", None)
    for name, value in values.items():
        setattr(row, name, value)
    if isinstance(row, Report):
        set_details(row, details)
    session.flush()


def remove_mirrored_field(
    session: Session, public_id: str, origin_center: str, origin_version: int,
    held: HeldField | None, reason: str, now: datetime,
) -> None:  # fmt: skip
    """Drop a mirrored product or report and keep a tombstone (no older change revives it)."""
    if held is not None and held.record is not None:
        session.delete(held.record)
    stone = session.get(MirrorTombstone, public_id)
    if stone is None:
        stone = MirrorTombstone(public_id=public_id, removed_at=now)
        session.add(stone)
    stone.origin_center, stone.origin_version = origin_center, origin_version
    stone.removed_at, stone.reason = now, reason
    session.flush()


def withdraw_field_record(
    session: Session, record: FieldRecord, *, local_code: str, actor: Principal, reason: str,
    now: datetime,
) -> None:  # fmt: skip
    """Withdraw a local product, report or expected delivery: audited, a tombstone travels,
    the row goes.

    A mirrored record is withdrawn at its origin only (ConflictError here).
    """
    if record.center_code != local_code:
        raise ConflictError(f"held by {record.center_code}: withdraw it there")
    if not reason.strip():
        raise InvalidQueryError("give a reason for the withdrawal")
    kind = record_type_of(record)
    record.origin_version += 1
    announce(session, record, now, withdrawn=True)
    record_event(
        session, actor=actor, action=f"{kind}.withdraw", now=now, reason=reason.strip(),
        before={"public_id": record.public_id, "record_type": kind}, after=None,
    )  # fmt: skip
    session.delete(record)
    session.flush()
