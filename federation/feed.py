"""The change feed a center serves to its peers, and the content hashes `peers verify` compares."""

from __future__ import annotations

import hashlib
import itertools
import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from catalog.changes import dataset_payload, last_seq, list_changes_since
from catalog.field_records import RECORD_TYPES, field_payloads
from catalog.models import Change
from catalog.peer_records import centers_named, shared_datasets
from catalog.registry_records import entry_payloads
from catalog.sqltypes import INT32_MAX
from federation.errors import PeerProtocolError

MAX_LIMIT = 10_000
DEFAULT_LIMIT = 1_000


@dataclass
class FeedChange:
    """One entry of a peer's change log."""

    seq: int
    public_id: str
    origin_center: str
    origin_version: int
    kind: str
    payload: dict[str, Any]
    record_type: str = "dataset"
    """One of `catalog.field_records.RECORD_TYPES` (a peer that does not say sends datasets)."""


@dataclass
class FeedPage:
    """A page of a peer's change log, with the origin centers its records name."""

    center: str
    last_seq: int
    changes: list[FeedChange]
    centers: dict[str, dict[str, str]] = field(default_factory=dict)


def _change_json(change: Change) -> dict[str, Any]:
    return {
        "seq": change.seq,
        "public_id": change.public_id,
        "record_type": change.record_type,
        "origin_center": change.origin_center,
        "origin_version": change.origin_version,
        "kind": change.kind,
        "payload": change.payload,
        "created_at": change.created_at.isoformat(),
    }


def feed_page(session: Session, local_code: str, since: int, limit: int) -> dict[str, Any]:
    """The JSON of the changes after `since` (at most `limit`), oldest first.

    `centers` gives the name and URL of every origin named in the page, so a center that
    learns of a record through a chain still knows where its data live.
    """
    changes = list_changes_since(session, max(since, 0), max(1, min(limit, MAX_LIMIT)))
    origins = {c.origin_center for c in changes} | {local_code}
    centers = centers_named(session, origins)
    return {
        "center": local_code,
        "last_seq": last_seq(session),
        "changes": [_change_json(c) for c in changes],
        "centers": {code: {"name": name, "url": url} for code, name, url in centers},
    }


def _int(value: Any, what: str) -> int:
    """A peer's sequence number or version: they fill `Integer` columns, so bounded by them."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= INT32_MAX:
        raise PeerProtocolError(f"{what} must be an integer from 0 to {INT32_MAX}")
    return value


def _str(value: Any, what: str, limit: int = 64) -> str:
    if not isinstance(value, str) or not value or len(value) > limit:
        raise PeerProtocolError(f"{what} must be a non-empty string of at most {limit}")
    return value


def _parse_change(item: Any) -> FeedChange:
    if not isinstance(item, dict):
        raise PeerProtocolError("a change must be an object")
    kind = item.get("kind")
    if kind not in ("upsert", "tombstone"):
        raise PeerProtocolError("change kind must be upsert or tombstone")
    record_type = item.get("record_type", "dataset")
    if record_type not in RECORD_TYPES:
        raise PeerProtocolError(f"record_type must be one of {', '.join(RECORD_TYPES)}")
    payload = item.get("payload")
    if not isinstance(payload, dict) or payload.get("public_id") != item.get("public_id"):
        raise PeerProtocolError("change payload must be an object naming the same record")
    return FeedChange(
        seq=_int(item.get("seq"), "seq"),
        public_id=_str(item.get("public_id"), "public_id", 32),
        origin_center=_str(item.get("origin_center"), "origin_center", 16),
        origin_version=_int(item.get("origin_version"), "origin_version"),
        kind=kind,
        payload=payload,
        record_type=record_type,
    )


def parse_feed_page(data: Any, since: int) -> FeedPage:
    """A feed page from a peer's JSON; PeerProtocolError on any malformed part or a gap."""
    if not isinstance(data, dict) or not isinstance(data.get("changes"), list):
        raise PeerProtocolError("a feed page must be an object with a changes list")
    changes = [_parse_change(item) for item in data["changes"]]
    for expected, change in enumerate(changes, start=since + 1):
        if change.seq != expected:
            raise PeerProtocolError(f"gap in the peer's log: expected seq {expected}")
    centers_raw = data.get("centers") or {}
    centers: dict[str, dict[str, str]] = {}
    if isinstance(centers_raw, dict):
        for code, info in centers_raw.items():
            if isinstance(code, str) and isinstance(info, dict):
                centers[code] = {k: str(info.get(k) or "") for k in ("name", "url")}
    return FeedPage(
        center=_str(data.get("center"), "center", 16),
        last_seq=_int(data.get("last_seq"), "last_seq"),
        changes=changes,
        centers=centers,
    )


def content_hash(payload: dict[str, Any]) -> str:
    """SHA-256 of a record's canonical JSON (what `peers verify` compares)."""
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def record_digests(session: Session) -> dict[str, dict[str, Any]]:
    """Every shared record held here (own and mirrored): datasets, registry entries (places,
    instruments) and the field catalog's records (open products, reports, expected
    deliveries): public id -> record type, origin, version, hash. A record's hash is of the
    payload its origin sends, so a mirror that missed a change differs."""
    digests: dict[str, dict[str, Any]] = {}
    for dataset in shared_datasets(session):
        digests[dataset.public_id] = {
            "record_type": "dataset",
            "origin_center": dataset.origin_center,
            "origin_version": dataset.origin_version,
            "hash": content_hash(dataset_payload(dataset)),
        }
    rows = itertools.chain(entry_payloads(session), field_payloads(session))
    for record_type, row, payload in rows:
        digests[row.public_id] = {
            "record_type": record_type,
            "origin_center": row.center_code,
            "origin_version": row.origin_version,
            "hash": content_hash(payload),
        }
    return digests
