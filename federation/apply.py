"""Applying a page of a peer's changes: newer origin versions only, re-listed, checkpointed.

One call is one transaction (the caller commits): the records, their re-listing in the local
change log and the peer's checkpoint move together, so a crash leaves no gap and no
duplicate. This module decides what a page does to each record (apply, skip, refuse); the
rows are written by the catalog (`catalog.dataset_writes.write_mirrored`, in bulk).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from catalog.access import SHARED_STATES
from catalog.changes import tombstone_payload
from catalog.dataset_writes import (
    HeldRecord,
    MirrorBatch,
    Relisted,
    Removal,
    held_records,
    write_mirrored,
)
from catalog.handover import find_handover
from catalog.peer_records import lock_checkpoint, peer_codes, set_checkpoint
from catalog.registration import campaign_id
from catalog.registry_records import REGISTRY_TYPES
from federation.errors import PeerProtocolError
from federation.feed import FeedChange, FeedPage
from federation.field_apply import FieldWrite, decide_field
from federation.field_apply import removing as field_removing
from federation.mirror_rows import child_rows, dataset_row

logger = logging.getLogger(__name__)

SHARED = {s.value for s in SHARED_STATES}


@dataclass
class ApplyResult:
    """What one page did: applied, skipped as not newer, refused, and the new checkpoint."""

    applied: int = 0
    skipped: int = 0
    relayed: int = 0
    """Records of a center we peer with directly, relayed by another: taken from it alone."""
    refused: int = 0
    taken_over: int = 0
    """Our own records the peer now holds by a hand-over we offered it (`catalog.handover`):
    left as they are here until our completion makes them its mirrors."""
    checkpoint: int = 0


class _PageWriter:
    """Decides each change of one page, collecting the writes for `write_mirrored`."""

    def __init__(
        self, session: Session, page: FeedPage, local_code: str, peer_code: str, now: datetime
    ) -> None:
        self.session, self.local_code = session, local_code
        self.peer_code = peer_code
        self.direct = peer_codes(session)
        self.campaigns: dict[str, int] = {}
        self.field_writes: list[FieldWrite] = []
        self.batch = MirrorBatch(now=now)
        self.batch.centers = {
            code: (str(info.get("name") or code), str(info.get("url") or ""))
            for code, info in page.centers.items()
        }
        own = page.centers.get(page.center, {}).get("url")
        if own and page.center != local_code:
            self.batch.sender = (page.center, str(own))
        self._offered: bool | None = None

    def taken_over(self, change: FeedChange, held: HeldRecord) -> bool:
        """A record of ours that the peer, as its new origin, says it took over from us, by a
        hand-over we offered it: expected while the hand-over runs (not applied either way)."""
        if not (
            held.origin_center == self.local_code
            and change.origin_center == self.peer_code
            and change.payload.get("moved_from") == self.local_code
        ):
            return False
        if self._offered is None:
            self._offered = find_handover(self.session, self.local_code, self.peer_code) is not None
        return self._offered

    def campaign_id(self, code: str) -> int:
        if code not in self.campaigns:
            self.campaigns[code] = campaign_id(self.session, code)
        return self.campaigns[code]

    def decide_field(self, change: FeedChange) -> str:
        """A product, report or registry entry (`federation.field_apply`), relisted like a
        dataset. Registry entries belong to no campaign."""
        campaign = str(change.payload.get("campaign") or "")
        no_campaign = change.kind == "tombstone" or change.record_type in REGISTRY_TYPES
        outcome, write = decide_field(
            self.session, change, local_code=self.local_code, peer_code=self.peer_code,
            direct=self.direct, campaign_id=0 if no_campaign else self.campaign_id(campaign),
        )  # fmt: skip
        if write is not None:
            self.field_writes.append(write)
            self.batch.relist.append(_relisted(change))
        return outcome

    def decide(self, change: FeedChange, held: HeldRecord | None) -> str:
        if change.record_type != "dataset":
            return self.decide_field(change)
        if change.origin_center == self.local_code:
            # Our own record echoed back unchanged is expected in a mesh; anything else is not.
            own = held is not None and held.origin_center == self.local_code
            echo = own and held is not None and change.origin_version <= held.origin_version
            return "skipped" if echo else "refused"
        if held is not None and held.origin_center != change.origin_center:
            if not is_handover(change, held.origin_center, self.peer_code):
                return "taken_over" if self.taken_over(change, held) else "refused"
        elif change.origin_center in self.direct and change.origin_center != self.peer_code:
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
            gone = held or HeldRecord(None, change.origin_center, 0, False, True)
            self.batch.removals.append(
                Removal(gone, change.public_id, change.origin_center, change.origin_version,
                        change.kind)
            )  # fmt: skip
        else:
            campaign = str(change.payload.get("campaign") or "")
            row = dataset_row(change.payload, self.campaign_id(campaign), change)
            if held is not None and held.id is not None:
                self.batch.updates.append((held.id, row, change.payload))
            else:
                self.batch.inserts.append((row, change.payload))
        self.batch.relist.append(_relisted(change))
        return "applied"

    def write(self) -> None:
        write_mirrored(self.session, self.batch, child_rows)
        # after write_mirrored made the origin centers; places before the instruments
        # whose deployments name them
        for write in sorted(self.field_writes, key=lambda w: w.change.record_type != "place"):
            write.run(self.session, self.batch.now)


def is_handover(change: FeedChange, held_origin: str, peer_code: str) -> bool:
    """A record's move to a new origin, said by its old origin itself (`catalog.handover`).

    Only the center that originated the record here may name another origin for it, in its
    own log (`moved_from` is itself): a relay or the new origin cannot claim a record.
    """
    return held_origin == peer_code and change.payload.get("moved_from") == peer_code


def _relisted(change: FeedChange) -> Relisted:
    removing = _removing(change)
    return Relisted(
        public_id=change.public_id,
        origin_center=change.origin_center,
        origin_version=change.origin_version,
        kind="tombstone" if removing else "upsert",
        payload=_tombstone(change) if removing else change.payload,
        record_type=change.record_type,
    )


def _removing(change: FeedChange) -> bool:
    """A tombstone, or an upsert that no longer shares the record (never mirrored as is)."""
    if change.record_type != "dataset":
        return field_removing(change)
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
    origin, are refused and logged (but the records a peer took over by a hand-over this
    center offered it: counted, not applied, one line for the page); older or equal origin
    versions are skipped; records of a center we peer with directly are taken only from
    that center, never from a relay.
    """
    state = lock_checkpoint(session, peer_code)
    if state.last_seq_applied != since:
        raise PeerProtocolError(f"checkpoint moved from {since} to {state.last_seq_applied}")
    result = ApplyResult(checkpoint=since)
    if page.changes:
        writer = _PageWriter(session, page, local_code, peer_code, now)
        newest = _newest_per_record(page.changes)
        result.skipped += len(page.changes) - len(newest)
        held = held_records(session, [c.public_id for c in newest])
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
        if result.taken_over:
            logger.info(
                "%d of our records taken over by %s (the hand-over we offered it); "
                "they become its mirrors when it completes", result.taken_over, peer_code,
            )  # fmt: skip
    set_checkpoint(session, state, result.checkpoint, now)
    return result
