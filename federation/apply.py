"""Applying a page of a peer's changes: newer origin versions only, re-listed, checkpointed.

One call is one transaction (the caller commits): the records, their re-listing in the local
change log and the peer's checkpoint move together, so a crash leaves no gap and no
duplicate. Rows are written in bulk (a page of thousands costs a handful of statements).
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Table, bindparam, delete, insert, select, update
from sqlalchemy.orm import Session

from catalog.access import SHARED_STATES
from catalog.changes import redact_history, tombstone_payload
from catalog.federation_models import MirrorTombstone, Peer
from catalog.models import (
    Campaign,
    Center,
    Change,
    ChangeCounter,
    Dataset,
    DatasetVersion,
    PeerState,
    Variable,
)
from catalog.registration import ensure_campaign
from federation.errors import PeerProtocolError
from federation.feed import FeedChange, FeedPage
from federation.mirror_rows import child_rows, dataset_row

logger = logging.getLogger(__name__)

DATASETS: Table = Dataset.__table__  # type: ignore[assignment]
VARIABLES: Table = Variable.__table__  # type: ignore[assignment]
VERSIONS: Table = DatasetVersion.__table__  # type: ignore[assignment]
CHANGES: Table = Change.__table__  # type: ignore[assignment]
SHARED = {s.value for s in SHARED_STATES}
CHUNK = 500


@dataclass
class ApplyResult:
    """What one page did: applied, skipped as not newer, refused, and the new checkpoint."""

    applied: int = 0
    skipped: int = 0
    relayed: int = 0
    """Records of a center we peer with directly, relayed by another: taken from it alone."""
    refused: int = 0
    checkpoint: int = 0


@dataclass
class _Held:
    id: int | None
    origin_center: str
    origin_version: int
    listed: bool
    tombstone: bool


def _chunks(items: list[Any]) -> list[list[Any]]:
    return [items[i : i + CHUNK] for i in range(0, len(items), CHUNK)]


def _held(session: Session, public_ids: list[str]) -> dict[str, _Held]:
    held: dict[str, _Held] = {}
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
            held[row.public_id] = _Held(
                row.id, row.origin_center, row.origin_version, row.listed, False
            )
        for stone in session.scalars(
            select(MirrorTombstone).where(MirrorTombstone.public_id.in_(part))
        ):
            held.setdefault(
                stone.public_id,
                _Held(None, stone.origin_center, stone.origin_version, False, True),
            )
    return held


class _PageWriter:
    """Accumulates one page's decisions, then writes them in bulk."""

    def __init__(
        self, session: Session, page: FeedPage, local_code: str, peer_code: str, now: datetime
    ) -> None:
        self.session, self.page, self.local_code, self.now = session, page, local_code, now
        self.peer_code = peer_code
        self.direct = set(session.scalars(select(Peer.code)))
        self.campaigns: dict[str, int] = {}
        self.inserts: list[tuple[FeedChange, dict[str, Any]]] = []
        self.updates: list[tuple[int, FeedChange, dict[str, Any]]] = []
        self.removals: list[tuple[_Held, FeedChange]] = []
        self.relist: list[FeedChange] = []
        self.shared_delta: Counter[str] = Counter()

    def campaign_id(self, code: str) -> int:
        if code not in self.campaigns:
            found = self.session.scalar(select(Campaign.id).where(Campaign.code == code))
            self.campaigns[code] = found or ensure_campaign(self.session, code, code).id
        return self.campaigns[code]

    def decide(self, change: FeedChange, held: _Held | None) -> str:
        if change.origin_center == self.local_code:
            # Our own record echoed back unchanged is expected in a mesh; anything else is not.
            own = held is not None and held.origin_center == self.local_code
            echo = own and held is not None and change.origin_version <= held.origin_version
            return "skipped" if echo else "refused"
        if held is not None and held.origin_center != change.origin_center:
            return "refused"
        if change.origin_center in self.direct and change.origin_center != self.peer_code:
            # A center we peer with is heard from itself only: a relay cannot alter its records.
            return "relayed"
        removing = _removing(change)
        if held is not None:
            newer = change.origin_version > held.origin_version
            if not (
                newer
                or (
                    removing and not held.tombstone and change.origin_version == held.origin_version
                )
            ):
                return "skipped"
        if removing:
            gone = held or _Held(None, change.origin_center, 0, False, True)
            self.removals.append((gone, change))
        else:
            campaign = str(change.payload.get("campaign") or "")
            row = dataset_row(change.payload, self.campaign_id(campaign), change)
            if held is not None and held.id is not None:
                self.updates.append((held.id, change, row))
            else:
                self.inserts.append((change, row))
                self.shared_delta[change.origin_center] += 1
        self.relist.append(change)
        return "applied"

    def write(self) -> None:
        self._ensure_centers()
        self._write_removals()
        self._write_updates()
        self._write_inserts()
        self._write_relist()
        for code, delta in self.shared_delta.items():
            if delta:
                self.session.execute(
                    update(Center)
                    .where(Center.code == code)
                    .values(shared_records=Center.shared_records + delta)
                    .execution_options(synchronize_session=False)
                )

    def _ensure_centers(self) -> None:
        origins = {c.origin_center for c in self.relist}
        known = set(self.session.scalars(select(Center.code).where(Center.code.in_(origins))))
        for code in sorted(origins - known):
            info = self.page.centers.get(code, {})
            self.session.add(
                Center(code=code, name=info.get("name") or code, base_url=info.get("url") or "",
                       is_local=False, shared_records=0)
            )  # fmt: skip
        # A center's own word on where it lives wins; a relay's word only fills a gap.
        own = self.page.centers.get(self.page.center, {}).get("url")
        if own and self.page.center != self.local_code:
            self.session.execute(
                update(Center)
                .where(Center.code == self.page.center, Center.is_local.is_(False))
                .values(base_url=own)
                .execution_options(synchronize_session=False)
            )
        self.session.flush()

    def _write_removals(self) -> None:
        if not self.removals:
            return
        ids = [held.id for held, _ in self.removals if held.id is not None]
        for held, change in self.removals:
            if held.listed:
                self.shared_delta[change.origin_center] -= 1
        for part in _chunks(ids):
            self.session.execute(delete(DATASETS).where(DATASETS.c.id.in_(part)))
        stones = {change.public_id: change for _, change in self.removals}
        for part in _chunks(sorted(stones)):
            self.session.execute(delete(MirrorTombstone).where(MirrorTombstone.public_id.in_(part)))
        self.session.execute(
            insert(MirrorTombstone),
            [
                {"public_id": c.public_id, "origin_center": c.origin_center,
                 "origin_version": c.origin_version, "removed_at": self.now, "reason": c.kind}
                for c in stones.values()
            ],
        )  # fmt: skip

    def _write_updates(self) -> None:
        if not self.updates:
            return
        ids = [dataset_id for dataset_id, _, _ in self.updates]
        for part in _chunks(ids):
            self.session.execute(delete(VARIABLES).where(VARIABLES.c.dataset_id.in_(part)))
            self.session.execute(delete(VERSIONS).where(VERSIONS.c.dataset_id.in_(part)))
        rows = [{**row, "b_id": dataset_id} for dataset_id, _, row in self.updates]
        skip = ("b_id", "created")
        values: dict[str, Any] = {name: bindparam(name) for name in rows[0] if name not in skip}
        statement = update(DATASETS).where(DATASETS.c.id == bindparam("b_id")).values(values)
        self.session.execute(statement, [{k: v for k, v in r.items() if k != "created"}
                                         for r in rows])  # fmt: skip
        self._writechild_rows([(dataset_id, change) for dataset_id, change, _ in self.updates])

    def _write_inserts(self) -> None:
        if not self.inserts:
            return
        stale = [change.public_id for change, _ in self.inserts]
        for part in _chunks(stale):
            self.session.execute(delete(MirrorTombstone).where(MirrorTombstone.public_id.in_(part)))
        statement = insert(DATASETS).returning(
            DATASETS.c.id, DATASETS.c.public_id, sort_by_parameter_order=True
        )
        result = self.session.execute(statement, [row for _, row in self.inserts])
        ids = [row.id for row in result]
        self._writechild_rows(list(zip(ids, (c for c, _ in self.inserts), strict=True)))

    def _writechild_rows(self, made: list[tuple[int, FeedChange]]) -> None:
        variables: list[dict[str, Any]] = []
        versions: list[dict[str, Any]] = []
        for dataset_id, change in made:
            more_variables, more_versions = child_rows(dataset_id, change.payload)
            variables += more_variables
            versions += more_versions
        if variables:
            self.session.execute(insert(VARIABLES), variables)
        if versions:
            self.session.execute(insert(VERSIONS), versions)

    def _write_relist(self) -> None:
        if not self.relist:
            return
        top = self.session.execute(
            update(ChangeCounter)
            .where(ChangeCounter.id == 1)
            .values(last_seq=ChangeCounter.last_seq + len(self.relist))
            .returning(ChangeCounter.last_seq)
        ).scalar_one()
        first = int(top) - len(self.relist) + 1
        self.session.execute(
            insert(CHANGES),
            [
                {
                    "seq": first + i,
                    "public_id": c.public_id,
                    "origin_center": c.origin_center,
                    "origin_version": c.origin_version,
                    "kind": "tombstone" if _removing(c) else "upsert",
                    "payload": _tombstone(c) if _removing(c) else c.payload,
                    "created_at": self.now,
                }
                for i, c in enumerate(self.relist)
            ],
        )
        removed = {c.public_id for c in self.relist if _removing(c)}
        redact_history(self.session, removed, before=first)


def _removing(change: FeedChange) -> bool:
    """A tombstone, or an upsert that no longer shares the record (never mirrored as is)."""
    return change.kind == "tombstone" or change.payload.get("access_state") not in SHARED


def _tombstone(change: FeedChange) -> dict[str, Any]:
    return tombstone_payload(change.public_id, change.origin_center, change.origin_version)


def _newest_per_record(changes: list[FeedChange]) -> list[FeedChange]:
    newest: dict[str, FeedChange] = {}
    for change in changes:
        kept = newest.get(change.public_id)
        if kept is None or change.origin_version >= kept.origin_version:
            newest[change.public_id] = change
    return sorted(newest.values(), key=lambda c: c.seq)


def apply_page(
    session: Session, *, local_code: str, peer_code: str, since: int, page: FeedPage, now: datetime
) -> ApplyResult:
    """Apply a page pulled from `peer_code` after `since`, and checkpoint it (caller commits).

    Changes to this center's own datasets, and changes that would move a record to another
    origin, are refused and logged; older or equal origin versions are skipped; records of a
    center we peer with directly are taken only from that center, never from a relay.
    """
    state = session.get(PeerState, peer_code, with_for_update=True)
    if state is None:
        state = PeerState(peer_code=peer_code, last_seq_applied=0)
        session.add(state)
    if state.last_seq_applied != since:
        raise PeerProtocolError(f"checkpoint moved from {since} to {state.last_seq_applied}")
    result = ApplyResult(checkpoint=since)
    if page.changes:
        writer = _PageWriter(session, page, local_code, peer_code, now)
        newest = _newest_per_record(page.changes)
        result.skipped += len(page.changes) - len(newest)
        held = _held(session, [c.public_id for c in newest])
        for change in newest:
            outcome = writer.decide(change, held.get(change.public_id))
            setattr(result, outcome, getattr(result, outcome) + 1)
            if outcome == "refused":
                logger.warning(
                    "refused a change of %s (origin %s) from peer %s",
                    change.public_id, change.origin_center, peer_code,
                )  # fmt: skip
        writer.write()
        result.checkpoint = page.changes[-1].seq
    state.last_seq_applied = result.checkpoint
    state.last_contact, state.last_error = now, None
    session.flush()
    return result
