"""Applying a peer's page: newer versions only, re-listed, checkpointed, origins enforced
(SQLite, and PostgreSQL when configured)."""

from __future__ import annotations

import copy
import logging
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog.changes import dataset_payload, list_changes_since
from catalog.federation_models import MirrorTombstone
from catalog.handover import offer_handover
from catalog.models import Center, Dataset, PeerState
from federation.apply import apply_page
from federation.errors import PeerProtocolError
from federation.feed import content_hash, feed_page, parse_feed_page, record_digests
from federation.peers import ensure_peer
from tests.catalog.conftest import NOW
from tests.catalog.factories import make_dataset


def payload(public_id: str, origin: str = "LMD", version: int = 1, **extra: Any) -> dict[str, Any]:
    """A record as an origin's `dataset_payload` writes it."""
    base = {
        "public_id": public_id, "did": "7", "campaign": "INDOEX", "title": f"title {public_id}",
        "summary": "remarks", "pi_name": "Boucher", "platform": "Citation", "instrument": "AMS",
        "location": "mobile", "project": "INDOEX", "category": "research",
        "start": "1999-02-19T03:00:00+00:00", "stop": "1999-02-19T09:30:00+00:00",
        "south": 1.5, "north": 7.25, "west": 72.0, "east": 74.125, "min_altitude": 10.0,
        "max_altitude": 7000.0, "feature_type": "trajectory", "data_version": "R1", "level": 0,
        "level_access": None, "deployment": None,
        "access_state": "open", "release_at": None, "origin_center": origin,
        "origin_version": version, "created": "2026-01-01T00:00:00+00:00",
        "updated": "2026-01-02T00:00:00+00:00", "doi": f"10.80001/fieldcat.lmd.{public_id}",
        "variables": [
            {"name": "O3", "original_name": "O3", "unit": "ppb", "original_unit": "ppbv",
             "long_name": "Ozone mixing ratio"},
            {"name": "CO", "original_name": "CO", "unit": "ppb", "original_unit": "ppbv",
             "long_name": ""},
        ],
        "current_version": {
            "data_version": "R1", "sha256": "ab" * 32, "size": 1234, "original_name": "f.txt",
            "source_format": "header", "created_at": "2026-01-01T00:00:00+00:00",
        },
    }  # fmt: skip
    base.update(extra)
    return base


def page(*records: dict[str, Any], since: int = 0, kinds: list[str] | None = None) -> Any:
    """A parsed page of `records` from peer NPL starting after `since`."""
    changes = [
        {"seq": since + i + 1, "public_id": r["public_id"], "origin_center": r["origin_center"],
         "origin_version": r["origin_version"], "kind": (kinds or [])[i] if kinds else "upsert",
         "payload": r}
        for i, r in enumerate(records)
    ]  # fmt: skip
    centers = {"LMD": {"name": "LMD Paris", "url": "http://lmd.test"}}
    return parse_feed_page(
        {"center": "NPL", "last_seq": since + len(records), "changes": changes, "centers": centers},
        since,
    )


def apply(db: Session, parsed: Any, since: int = 0) -> Any:
    """Apply from NPL after `since` (JOSS is local)."""
    result = apply_page(db, local_code="JOSS", peer_code="NPL", since=since, page=parsed, now=NOW)
    db.flush()
    return result


def mirror(db: Session, public_id: str) -> Dataset | None:
    """The record held for `public_id`."""
    db.expire_all()
    return db.scalars(select(Dataset).where(Dataset.public_id == public_id)).one_or_none()


@pytest.fixture
def peered(db: Session) -> Session:
    """JOSS (local) peers with NPL only."""
    ensure_peer(db, "NPL", "http://npl.test", "NPL New Delhi", NOW)
    db.flush()
    return db


def test_records_are_mirrored_exactly_relisted_and_checkpointed(peered: Session) -> None:
    db = peered
    record = payload("lmd-0001")
    result = apply(db, page(record))
    assert (result.applied, result.checkpoint) == (1, 1)
    held = mirror(db, "lmd-0001")
    assert held is not None and held.origin_center == "LMD" and held.listed
    assert dataset_payload(held) == record, "the mirror holds exactly the origin's metadata"
    assert content_hash(dataset_payload(held)) == content_hash(record)
    assert record_digests(db)["lmd-0001"]["hash"] == content_hash(record)
    assert held.platform_key == "citation" and "o3" in held.search_text
    assert "ozone mixing ratio" in held.search_text  # a mirror searches long names too
    lmd = db.scalars(select(Center).where(Center.code == "LMD")).one()
    assert (lmd.base_url, lmd.shared_records, lmd.is_local) == ("http://lmd.test", 1, False)
    [relisted] = list_changes_since(db, 0, 10)
    assert (relisted.public_id, relisted.origin_center, relisted.payload) == (
        "lmd-0001", "LMD", record
    )  # fmt: skip
    assert db.get(PeerState, "NPL").last_seq_applied == 1  # type: ignore[union-attr]
    served = feed_page(db, "JOSS", 0, 10)
    assert served["centers"]["LMD"]["url"] == "http://lmd.test"


def test_replays_and_older_versions_change_nothing(peered: Session) -> None:
    db = peered
    apply(db, page(payload("lmd-0002", version=2, title="v2")))
    replayed = payload("lmd-0002", version=2, title="v2 replayed")
    again = apply(db, page(replayed, payload("lmd-0002", version=1), since=1), since=1)
    assert (again.applied, again.skipped, again.checkpoint) == (0, 2, 3)
    assert mirror(db, "lmd-0002").title == "v2"  # type: ignore[union-attr]
    assert len(list_changes_since(db, 0, 10)) == 1, "nothing re-listed twice"
    newer = payload("lmd-0002", version=3, title="v3", variables=[])
    assert apply(db, page(newer, since=3), since=3).applied == 1
    held = mirror(db, "lmd-0002")
    assert held is not None and held.title == "v3" and held.variables == []


def test_tombstones_remove_and_older_upserts_do_not_revive(peered: Session) -> None:
    db = peered
    apply(db, page(payload("lmd-0003")))
    # Tombstones carry no reason (withdrawn and made private look alike): still applied.
    stone = {"public_id": "lmd-0003", "origin_center": "LMD", "origin_version": 2}
    apply(db, page(stone, since=1, kinds=["tombstone"]), since=1)
    assert mirror(db, "lmd-0003") is None
    assert db.get(MirrorTombstone, "lmd-0003") is not None
    lmd = db.scalars(select(Center).where(Center.code == "LMD")).one()
    db.refresh(lmd)
    assert lmd.shared_records == 0
    assert apply(db, page(payload("lmd-0003"), since=2), since=2).skipped == 1
    assert mirror(db, "lmd-0003") is None
    apply(db, page(payload("lmd-0003", version=3), since=3), since=3)
    assert mirror(db, "lmd-0003") is not None, "a newer version (shared again) returns"


def test_a_record_made_private_leaves_and_its_relisting_carries_no_metadata(
    peered: Session,
) -> None:
    db = peered
    apply(db, page(payload("lmd-0004", title="EARLYCANARY")))
    private = payload("lmd-0004", version=2, access_state="private", title="CANARY")
    apply(db, page(private, since=1), since=1)
    assert mirror(db, "lmd-0004") is None
    last = list_changes_since(db, 1, 10)[-1]
    assert last.kind == "tombstone" and "CANARY" not in str(last.payload)
    # A center reading this log from the start learns nothing of the record's old metadata.
    relisted = [c for c in list_changes_since(db, 0, 100) if c.public_id == "lmd-0004"]
    assert [c.kind for c in relisted] == ["tombstone", "tombstone"]
    assert "EARLYCANARY" not in str([c.payload for c in relisted])


def test_own_datasets_other_origins_and_relays_are_refused(peered: Session) -> None:
    db = peered
    own = make_dataset(db, title="ours")
    ensure_peer(db, "LMD", "http://lmd.test", "LMD", NOW)
    apply(db, page(payload("npl-0001", origin="NPL")))
    forged = [
        payload(own.public_id, origin="JOSS", version=9, title="HIJACK"),  # our own
        payload("npl-0001", origin="LMD", version=9, title="HIJACK"),  # another origin
        payload("lmd-0005", origin="LMD", version=1),  # LMD's, relayed (we peer with LMD)
        payload(own.public_id, origin="JOSS", version=own.origin_version),  # an echo
    ]
    result = apply(db, page(*forged, since=1), since=1)
    assert (result.refused, result.relayed, result.skipped, result.applied) == (2, 1, 1, 0)
    assert mirror(db, own.public_id).title == "ours"  # type: ignore[union-attr]
    assert mirror(db, "npl-0001").origin_center == "NPL"  # type: ignore[union-attr]
    assert mirror(db, "lmd-0005") is None


def test_gaps_and_moved_checkpoints_are_protocol_errors(peered: Session) -> None:
    db = peered
    good = page(payload("lmd-0006"))
    raw = {"center": "NPL", "last_seq": 3, "changes": [
        {**copy.deepcopy(c), "seq": c_seq} for c_seq, c in ((2, {
            "public_id": "x", "origin_center": "LMD", "origin_version": 1, "kind": "upsert",
            "payload": payload("x")}),)]}  # fmt: skip
    with pytest.raises(PeerProtocolError, match="gap"):
        parse_feed_page(raw, 0)
    with pytest.raises(PeerProtocolError, match="checkpoint"):
        apply(db, good, since=5)


def test_records_taken_over_by_an_offered_handover_are_counted_not_refused(
    peered: Session, caplog: pytest.LogCaptureFixture
) -> None:
    """The receiving center of a hand-over logs our records as its own (moved from us)
    before our completion: expected once we offered it the hand-over (counted, one line,
    nothing applied); before any offer such a claim is refused and logged as ever."""
    db = peered
    own = make_dataset(db, title="ours")
    db.commit()
    claim = payload(own.public_id, origin="NPL", version=own.origin_version + 1,
                    title="CLAIMED", moved_from="JOSS")  # fmt: skip
    result = apply(db, page(claim), since=0)
    assert (result.refused, result.taken_over, result.applied) == (1, 0, 0)
    offer_handover(db, "JOSS", "NPL", NOW)
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="federation.apply"):
        result = apply(db, page(claim, since=1), since=1)
    assert (result.refused, result.taken_over, result.applied) == (0, 1, 0)
    assert [r.levelname for r in caplog.records] == ["INFO"]
    assert "taken over by NPL" in caplog.records[0].getMessage()
    held = mirror(db, own.public_id)
    assert held is not None and held.title == "ours" and held.origin_center == "JOSS"
    stranger = payload(own.public_id, origin="NPL", version=9, title="HIJACK", moved_from="LMD")
    assert apply(db, page(stranger, since=2), since=2).refused == 1  # not moved from us
