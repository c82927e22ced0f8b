"""The one writer of dataset records: the `datasets` rows, their `variables` and
`dataset_versions`, and the change-log entries that announce them.

Two kinds of record, written differently on purpose:

- a local record (`write_local`): one ORM object, changed by a registration or an access
  change at this center. Its origin version was raised by the caller; it may carry an owner
  and a password hash; its change-log payload is made here (`changes.append_change`).
- a mirrored record (`write_mirrored`): rows in bulk from a peer's page (thousands cost a
  handful of statements). It keeps its origin's version, never carries an owner, a password
  or a withdrawal time, and is relisted in the local log with the payload as received, so
  the next center downstream learns exactly what the origin said.

Both count the record in its center's `shared_records` and rewrite the log history of a
record that stops being shared (`changes.redact_history`). The federation decides *what* to
apply (`federation.apply`); this module is *how* it is written.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Table, bindparam, delete, insert, select, update
from sqlalchemy.orm import Session

from catalog.changes import append_change, redact_history
from catalog.federation_models import MirrorTombstone
from catalog.models import Center, Change, ChangeCounter, Dataset, DatasetVersion, Variable

DATASETS: Table = Dataset.__table__  # type: ignore[assignment]
VARIABLES: Table = Variable.__table__  # type: ignore[assignment]
VERSIONS: Table = DatasetVersion.__table__  # type: ignore[assignment]
CHANGES: Table = Change.__table__  # type: ignore[assignment]
CHUNK = 500


def write_local(session: Session, dataset: Dataset, kind: str, now: datetime) -> Change | None:
    """Write a local record (added to the session if new) and announce it in the change log.

    `kind` is `upsert` or `tombstone` (withdrawn); None when nothing is announced (a private
    dataset never shared).
    """
    if dataset not in session:
        session.add(dataset)
    session.flush()
    return append_change(session, dataset, kind, now)


@dataclass
class HeldRecord:
    """What this center holds of a record a peer sent: a row, or a tombstone of one."""

    id: int | None
    origin_center: str
    origin_version: int
    listed: bool
    tombstone: bool


def _chunks(items: list[Any]) -> list[list[Any]]:
    return [items[i : i + CHUNK] for i in range(0, len(items), CHUNK)]


def held_records(session: Session, public_ids: list[str]) -> dict[str, HeldRecord]:
    """The rows (or mirror tombstones) held for these public ids."""
    held: dict[str, HeldRecord] = {}
    for part in _chunks(public_ids):
        for row in session.execute(
            select(
                Dataset.id,
                Dataset.public_id,
                Dataset.origin_center,
                Dataset.origin_version,
                Dataset.listed,
            ).where(Dataset.public_id.in_(part))
        ):
            held[row.public_id] = HeldRecord(
                row.id, row.origin_center, row.origin_version, row.listed, False
            )
        for stone in session.scalars(
            select(MirrorTombstone).where(MirrorTombstone.public_id.in_(part))
        ):
            held.setdefault(
                stone.public_id,
                HeldRecord(None, stone.origin_center, stone.origin_version, False, True),
            )
    return held


@dataclass(frozen=True)
class Relisted:
    """A mirrored record's entry in the local change log (the payload as the origin sent it)."""

    public_id: str
    origin_center: str
    origin_version: int
    kind: str
    payload: dict[str, Any]
    record_type: str = "dataset"


@dataclass(frozen=True)
class Removal:
    """A mirrored record that stops being shared here: its row goes, a tombstone stays."""

    held: HeldRecord
    public_id: str
    origin_center: str
    origin_version: int
    reason: str
    """The kind of the change that removed it (`tombstone`, or `upsert` to a closed state)."""


ChildRows = Callable[[int, dict[str, Any]], tuple[list[dict[str, Any]], list[Any]]]
"""A record's `variables` and `dataset_versions` rows from its id and payload."""


@dataclass
class MirrorBatch:
    """One page's writes of mirrored records, decided by the federation."""

    now: datetime
    inserts: list[tuple[dict[str, Any], dict[str, Any]]] = field(default_factory=list)
    """(dataset row, payload) of records new here; the payload gives their children."""
    updates: list[tuple[int, dict[str, Any], dict[str, Any]]] = field(default_factory=list)
    """(dataset id, dataset row, payload) of records held here in an older version."""
    removals: list[Removal] = field(default_factory=list)
    relist: list[Relisted] = field(default_factory=list)
    """Every applied record, in order, for the local change log."""
    centers: dict[str, tuple[str, str]] = field(default_factory=dict)
    """Origin centers by code: (name, base URL), added when not known here."""
    sender: tuple[str, str] | None = None
    """(code, URL) of the center the page came from: its own word on where it lives."""


def write_mirrored(session: Session, batch: MirrorBatch, child_rows: ChildRows) -> None:
    """Write a page's mirrored records in bulk (the caller commits).

    `child_rows(dataset_id, payload)` gives a record's `variables` and `dataset_versions`
    rows (`federation.mirror_rows.child_rows`).
    """
    shared_delta: Counter[str] = Counter(row["origin_center"] for row, _ in batch.inserts)
    _ensure_centers(session, batch)
    _write_removals(session, batch, shared_delta)
    _write_updates(session, batch, child_rows)
    _write_inserts(session, batch, child_rows)
    _write_relist(session, batch)
    for code, delta in shared_delta.items():
        if delta:
            session.execute(
                update(Center)
                .where(Center.code == code)
                .values(shared_records=Center.shared_records + delta)
                .execution_options(synchronize_session=False)
            )


def _ensure_centers(session: Session, batch: MirrorBatch) -> None:
    origins = {r.origin_center for r in batch.relist}
    known = set(session.scalars(select(Center.code).where(Center.code.in_(origins))))
    for code in sorted(origins - known):
        name, url = batch.centers.get(code, (code, ""))
        session.add(
            Center(code=code, name=name or code, base_url=url or "", is_local=False,
                   shared_records=0)
        )  # fmt: skip
    # A center's own word on where it lives wins; a relay's word only fills a gap.
    if batch.sender is not None and batch.sender[1]:
        code, url = batch.sender
        session.execute(
            update(Center)
            .where(Center.code == code, Center.is_local.is_(False))
            .values(base_url=url)
            .execution_options(synchronize_session=False)
        )
    session.flush()


def _write_removals(session: Session, batch: MirrorBatch, shared_delta: Counter[str]) -> None:
    if not batch.removals:
        return
    ids = [r.held.id for r in batch.removals if r.held.id is not None]
    for removal in batch.removals:
        if removal.held.listed:
            shared_delta[removal.origin_center] -= 1
    for part in _chunks(ids):
        session.execute(delete(DATASETS).where(DATASETS.c.id.in_(part)))
    stones = {removal.public_id: removal for removal in batch.removals}
    for part in _chunks(sorted(stones)):
        session.execute(delete(MirrorTombstone).where(MirrorTombstone.public_id.in_(part)))
    session.execute(
        insert(MirrorTombstone),
        [
            {"public_id": e.public_id, "origin_center": e.origin_center,
             "origin_version": e.origin_version, "removed_at": batch.now, "reason": e.reason}
            for e in stones.values()
        ],
    )  # fmt: skip


def _write_updates(session: Session, batch: MirrorBatch, child_rows: ChildRows) -> None:
    if not batch.updates:
        return
    ids = [dataset_id for dataset_id, _, _ in batch.updates]
    for part in _chunks(ids):
        session.execute(delete(VARIABLES).where(VARIABLES.c.dataset_id.in_(part)))
        session.execute(delete(VERSIONS).where(VERSIONS.c.dataset_id.in_(part)))
    rows = [{**row, "b_id": dataset_id} for dataset_id, row, _ in batch.updates]
    skip = ("b_id", "created")
    values: dict[str, Any] = {name: bindparam(name) for name in rows[0] if name not in skip}
    statement = update(DATASETS).where(DATASETS.c.id == bindparam("b_id")).values(values)
    session.execute(statement, [{k: v for k, v in r.items() if k != "created"} for r in rows])
    _write_children(session, [(dataset_id, p) for dataset_id, _, p in batch.updates], child_rows)


def _write_inserts(session: Session, batch: MirrorBatch, child_rows: ChildRows) -> None:
    if not batch.inserts:
        return
    stale = [row["public_id"] for row, _ in batch.inserts]
    for part in _chunks(stale):
        session.execute(delete(MirrorTombstone).where(MirrorTombstone.public_id.in_(part)))
    statement = insert(DATASETS).returning(
        DATASETS.c.id, DATASETS.c.public_id, sort_by_parameter_order=True
    )
    result = session.execute(statement, [row for row, _ in batch.inserts])
    ids = [row.id for row in result]
    made = list(zip(ids, (p for _, p in batch.inserts), strict=True))
    _write_children(session, made, child_rows)


def _write_children(
    session: Session, made: list[tuple[int, dict[str, Any]]], child_rows: ChildRows
) -> None:
    variables: list[dict[str, Any]] = []
    versions: list[dict[str, Any]] = []
    for dataset_id, payload in made:
        more_variables, more_versions = child_rows(dataset_id, payload)
        variables += more_variables
        versions += more_versions
    if variables:
        session.execute(insert(VARIABLES), variables)
    if versions:
        session.execute(insert(VERSIONS), versions)


def _write_relist(session: Session, batch: MirrorBatch) -> None:
    if not batch.relist:
        return
    top = session.execute(
        update(ChangeCounter)
        .where(ChangeCounter.id == 1)
        .values(last_seq=ChangeCounter.last_seq + len(batch.relist))
        .returning(ChangeCounter.last_seq)
    ).scalar_one()
    first = int(top) - len(batch.relist) + 1
    session.execute(
        insert(CHANGES),
        [
            {
                "seq": first + i,
                "public_id": r.public_id,
                "record_type": r.record_type,
                "origin_center": r.origin_center,
                "origin_version": r.origin_version,
                "kind": r.kind,
                "payload": r.payload,
                "created_at": batch.now,
            }
            for i, r in enumerate(batch.relist)
        ],
    )
    removed = {r.public_id for r in batch.relist if r.kind == "tombstone"}
    redact_history(session, removed, before=first)
