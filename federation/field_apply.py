"""Applying a peer's products, reports and registry entries: the rules of its datasets
(`federation.apply`).

A change of this center's own record is refused (an echo of it skipped); a record may not
move to another origin; a center we peer with is heard from itself only; older or equal
origin versions are skipped. What is applied is written by `catalog.field_records`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import Session

from catalog.errors import InvalidQueryError
from catalog.field_records import (
    HeldField,
    held_field_record,
    remove_mirrored_field,
    write_mirrored_field,
)
from catalog.summaries import check_details
from federation.errors import PeerProtocolError
from federation.feed import FeedChange
from federation.mirror_rows import payload_time
from federation.registry_apply import instrument_values, place_values


def removing(change: FeedChange) -> bool:
    """A tombstone, or a product that is no longer open (never mirrored as is)."""
    if change.kind == "tombstone":
        return True
    return change.record_type == "product" and change.payload.get("access_state") != "open"


def _text(payload: dict[str, Any], name: str, limit: int) -> str:
    value = payload.get(name)
    if not isinstance(value, str) or len(value) > limit:
        raise PeerProtocolError(f"bad {name} in a {payload.get('public_id')} record")
    return value


def _int(payload: dict[str, Any], name: str) -> int:
    value = payload.get(name)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**62:
        raise PeerProtocolError(f"bad {name} in a record")
    return value


def _time(payload: dict[str, Any], name: str) -> datetime:
    value = payload_time(payload.get(name))
    if value is None:
        raise PeerProtocolError(f"a record lacks its {name}")
    return value


def product_values(change: FeedChange, campaign_id: int) -> dict[str, Any]:
    """The `products` row of a mirrored product (no uploader: it never travels)."""
    p = change.payload
    ref = _int(p, "origin_ref")
    return {
        "public_id": change.public_id, "campaign_id": campaign_id,
        "center_code": change.origin_center, "origin_version": change.origin_version,
        "origin_ref": ref, "filename": _text(p, "filename", 255),
        "source": _text(p, "source", 100), "product_time": _time(p, "product_time"),
        "product_name": _text(p, "product_name", 200), "ext": _text(p, "ext", 16),
        "sha256": _text(p, "sha256", 64), "size": _int(p, "size"), "access_state": "open",
        "uploaded_by": None, "created_at": _time(p, "created_at"),
    }  # fmt: skip


def report_values(change: FeedChange, campaign_id: int) -> dict[str, Any]:
    """The `reports` row of a mirrored report (no author account: it never travels)."""
    p = change.payload
    kind = _text(p, "kind", 16)
    if kind not in ("daily", "status"):
        raise PeerProtocolError("a report's kind must be daily or status")
    try:
        day = date.fromisoformat(_text(p, "report_date", 10))
    except ValueError as err:
        raise PeerProtocolError("bad report_date in a record") from err
    return {
        "public_id": change.public_id, "campaign_id": campaign_id,
        "center_code": change.origin_center, "origin_version": change.origin_version,
        "kind": kind, "report_date": day, "title": _text(p, "title", 500),
        "body": _text(p, "body", 20_000), "author_user_id": None,
        "created_at": _time(p, "created_at"), "details": _details(kind, p.get("details")),
    }  # fmt: skip


def _details(kind: str, details: Any) -> dict[str, Any] | None:
    """A mirrored report's structured details, checked as the origin checked them."""
    try:
        return check_details(kind, details if isinstance(details, dict) else None)
    except InvalidQueryError as err:
        raise PeerProtocolError(f"a report's details do not fit: {err}") from err


def expected_values(change: FeedChange, campaign_id: int) -> dict[str, Any]:
    """The `expected_deliveries` row of a mirrored expected delivery."""
    p = change.payload
    try:
        due = date.fromisoformat(_text(p, "due", 10))
    except ValueError as err:
        raise PeerProtocolError("bad due date in a record") from err
    did = p.get("did")
    return {
        "public_id": change.public_id, "campaign_id": campaign_id,
        "center_code": change.origin_center, "origin_version": change.origin_version,
        "pi_name": _text(p, "pi_name", 200), "pi_key": _text(p, "pi_name", 200).strip().lower(),
        "did": None if did is None else _text(p, "did", 64),
        "platform": _text(p, "platform", 200), "instrument": _text(p, "instrument", 200),
        "category": _text(p, "category", 16), "description": _text(p, "description", 5000),
        "due": due, "created_at": _time(p, "created_at"),
    }  # fmt: skip


VALUES = {
    "product": product_values, "report": report_values, "expected": expected_values,
    "place": place_values, "instrument": instrument_values,
}  # fmt: skip


@dataclass
class FieldWrite:
    """One decided write of a product or report, done once the page's centers exist."""

    change: FeedChange
    held: HeldField | None
    values: dict[str, Any] | None
    """The row to write; None for a removal."""

    def run(self, session: Session, now: datetime) -> None:
        c = self.change
        if self.values is None:
            remove_mirrored_field(session, c.public_id, c.origin_center, c.origin_version,
                                  self.held, c.kind, now)  # fmt: skip
        else:
            write_mirrored_field(session, c.record_type, self.values, self.held)


def decide_field(
    session: Session, change: FeedChange, *, local_code: str, peer_code: str,
    direct: set[str], campaign_id: int,
) -> tuple[str, FieldWrite | None]:  # fmt: skip
    """What a product or report change does here: (outcome, the write when applied)."""
    held = held_field_record(session, change.record_type, change.public_id)
    if change.origin_center == local_code:
        own = held is not None and held.origin_center == local_code
        echo = own and held is not None and change.origin_version <= held.origin_version
        return ("skipped" if echo else "refused"), None
    if held is not None and held.origin_center != change.origin_center:
        moved = held.origin_center == peer_code and change.payload.get("moved_from") == peer_code
        if not moved:  # only the old origin may name a new one (a hand-over)
            return "refused", None
    elif change.origin_center in direct and change.origin_center != peer_code:
        return "relayed", None
    gone = removing(change)
    if held is not None:
        newer = change.origin_version > held.origin_version
        same_removal = gone and held.record is not None
        if not (newer or (same_removal and change.origin_version == held.origin_version)):
            return "skipped", None
    if gone:
        return "applied", FieldWrite(change, held, None)
    return "applied", FieldWrite(change, held, VALUES[change.record_type](change, campaign_id))
