"""The change log peers pull: every change of a shared dataset, numbered without gaps.

When a dataset leaves the shared catalog (withdrawn, or made private), its tombstone is logged
and every earlier entry for it is rewritten as a tombstone too: a peer reading the log from
the start (a center joining late, a `peers resync`) must not learn metadata that is no
longer public. The entries keep their numbers, so the log stays gap-free.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import exists, insert, select, update
from sqlalchemy.orm import Session

from catalog.access import AccessState
from catalog.dataset_fields import shared_fields
from catalog.models import Center, Change, ChangeCounter, Dataset, DatasetVersion, Variable

logger = logging.getLogger(__name__)
KINDS = ("upsert", "tombstone")
PRIVATE = AccessState.PRIVATE.value


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def dataset_payload(dataset: Dataset) -> dict[str, Any]:
    """The public metadata a peer mirrors (never the password hash or the owner).

    Its fields are the shared public columns (`dataset_fields.shared_fields`), plus the
    campaign's code, the variables and the current version.
    """
    current = dataset.current_version
    payload: dict[str, Any] = {}
    for field in shared_fields():
        value = getattr(dataset, field.name)
        payload[field.name] = _iso(value) if field.is_time else value
    payload["campaign"] = dataset.campaign.code
    payload["variables"] = [_variable_payload(v) for v in dataset.variables]
    payload["current_version"] = None if current is None else _version_payload(current)
    return payload


def _variable_payload(variable: Variable) -> dict[str, Any]:
    return {
        "name": variable.name,
        "original_name": variable.original_name,
        "unit": variable.unit,
        "original_unit": variable.original_unit,
        "long_name": variable.long_name,
    }


def _version_payload(version: DatasetVersion) -> dict[str, Any]:
    return {
        "data_version": version.data_version,
        "sha256": version.sha256,
        "size": version.size,
        "original_name": version.original_name,
        "source_format": version.source_format,
        "created_at": _iso(version.created_at),
    }


def tombstone_payload(public_id: str, origin_center: str, origin_version: int) -> dict[str, Any]:
    """A tombstone's payload: which record and version, never why (no reason, no time).

    Withdrawn and made private give the same tombstone, so a peer cannot tell a dataset that
    still exists (private) from one that is gone (SECURITY.md row 12).
    """
    return {
        "public_id": public_id,
        "origin_center": origin_center,
        "origin_version": origin_version,
    }


def _tombstone_payload(dataset: Dataset) -> dict[str, Any]:
    return tombstone_payload(dataset.public_id, dataset.origin_center, dataset.origin_version)


def _count_shared(session: Session, dataset: Dataset, *, now_shared: bool) -> None:
    """Keep `Center.shared_records` in step with what the log announces as shared."""
    delta = int(now_shared) - int(bool(dataset.listed))
    dataset.listed = now_shared
    if delta:
        session.execute(
            update(Center)
            .where(Center.code == dataset.origin_center)
            .values(shared_records=Center.shared_records + delta)
            .execution_options(synchronize_session=False)
        )


def next_seq(session: Session, count: int = 1) -> int:
    """Take the next `count` sequence numbers (the last one is returned); the counter row
    stays locked until the caller commits."""
    seq = session.execute(
        update(ChangeCounter)
        .where(ChangeCounter.id == 1)
        .values(last_seq=ChangeCounter.last_seq + count)
        .returning(ChangeCounter.last_seq)
    ).scalar_one_or_none()
    if seq is None:  # a database built without the migration's seed row
        session.execute(insert(ChangeCounter).values(id=1, last_seq=count))
        seq = count
    return int(seq)


def announced(session: Session, public_ids: Collection[str]) -> set[str]:
    """Those of `public_ids` the log has announced before."""
    if not public_ids:
        return set()
    query = select(Change.public_id).where(Change.public_id.in_(list(public_ids))).distinct()
    return set(session.scalars(query))


def append_entries(session: Session, entries: list[dict[str, Any]], now: datetime) -> int:
    """Log many entries in one statement, numbered in their order from one take of the
    counter (each: public_id, record_type, origin_center, origin_version, kind, payload);
    the earlier upserts of those logged as tombstones are redacted. How many were logged."""
    if not entries:
        return 0
    first = next_seq(session, len(entries)) - len(entries) + 1
    rows = [{**entry, "seq": first + i, "created_at": now} for i, entry in enumerate(entries)]
    session.execute(insert(Change), rows)
    stones = [entry["public_id"] for entry in entries if entry["kind"] == "tombstone"]
    redact_history(session, stones, before=first)
    return len(entries)


def log_datasets(session: Session, datasets: list[Dataset], now: datetime,
                 extra: dict[str, Any]) -> int:  # fmt: skip
    """`append_change(..., "upsert")` for many loaded datasets at once (their variables and
    versions loaded), each upsert's payload with `extra`; how many entries were logged."""
    before = announced(session, [d.public_id for d in datasets if d.access_state == PRIVATE])
    entries, deltas = [], dict[str, int]()
    for dataset in datasets:
        upsert = dataset.access_state != PRIVATE
        if not upsert and dataset.public_id not in before:
            continue
        delta = int(upsert) - int(bool(dataset.listed))
        deltas[dataset.origin_center] = deltas.get(dataset.origin_center, 0) + delta
        dataset.listed = upsert
        entries.append({
            "public_id": dataset.public_id, "record_type": "dataset",
            "origin_center": dataset.origin_center, "origin_version": dataset.origin_version,
            "kind": "upsert" if upsert else "tombstone",
            "payload": dataset_payload(dataset) | extra if upsert else _tombstone_payload(dataset),
        })  # fmt: skip
    for code, delta in deltas.items():
        if delta:
            session.execute(
                update(Center).where(Center.code == code)
                .values(shared_records=Center.shared_records + delta)
                .execution_options(synchronize_session=False)
            )  # fmt: skip
    session.flush()
    return append_entries(session, entries, now)


def append_change(
    session: Session, dataset: Dataset, kind: str, now: datetime | None = None
) -> Change | None:
    """Log a change of `dataset` for the peers; None for a private dataset never shared.

    A private dataset that was shared before is announced as a tombstone, so mirrors drop it
    without learning anything more. Gap-free: the seq comes from a counter row that the
    transaction locks, so concurrent appends queue and a rollback returns its number.
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}")
    if dataset.access_state == AccessState.PRIVATE.value:
        shared_before = session.scalar(
            select(exists().where(Change.public_id == dataset.public_id))
        )
        if not shared_before:
            return None
        kind = "tombstone"
    _count_shared(session, dataset, now_shared=kind == "upsert")
    payload = dataset_payload(dataset) if kind == "upsert" else _tombstone_payload(dataset)
    change = Change(
        seq=next_seq(session),
        public_id=dataset.public_id,
        origin_center=dataset.origin_center,
        origin_version=dataset.origin_version,
        kind=kind,
        payload=payload,
        created_at=now or datetime.now(UTC),
    )
    session.add(change)
    session.flush()
    if kind == "tombstone":
        redact_history(session, [dataset.public_id], before=change.seq)
    return change


def redact_history(session: Session, public_ids: Collection[str], *, before: int) -> int:
    """Rewrite the upserts of these datasets with seq < `before` as bare tombstones.

    Each keeps its seq and origin version; a peer applying it drops the record (or skips it,
    holding a newer one). Returns how many entries were rewritten.
    """
    if not public_ids:
        return 0
    rows = session.scalars(
        select(Change).where(
            Change.public_id.in_(list(public_ids)),
            Change.kind == "upsert",
            Change.seq < before,
        )
    ).all()
    for row in rows:
        row.kind = "tombstone"
        row.payload = tombstone_payload(row.public_id, row.origin_center, row.origin_version)
    session.flush()
    return len(rows)


def list_changes_since(session: Session, since: int, limit: int) -> list[Change]:
    """Changes with seq > `since`, oldest first, at most `limit` (1..10000)."""
    limit = max(1, min(limit, 10_000))
    query = select(Change).where(Change.seq > since).order_by(Change.seq).limit(limit)
    return list(session.scalars(query))


def last_seq(session: Session) -> int:
    """The newest seq in the log (0 when empty)."""
    value = session.scalar(select(ChangeCounter.last_seq).where(ChangeCounter.id == 1))
    return int(value or 0)
