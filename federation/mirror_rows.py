"""A mirrored record's table rows, made from a peer's payload (`catalog.changes.dataset_payload`).

Payloads come from another center: every field is coerced to what the tables hold, and a
record that cannot be placed in time is a protocol error, never a half-written row.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from catalog.models import fold, search_text_of
from federation.errors import PeerProtocolError
from federation.feed import FeedChange

TEXT_FIELDS = (
    "did", "title", "summary", "pi_name", "platform", "instrument", "location", "project",
    "category", "feature_type", "data_version",
)  # fmt: skip
NUMBER_FIELDS = ("south", "north", "west", "east", "min_altitude", "max_altitude")


def payload_time(value: Any) -> datetime | None:
    """An ISO time from a payload; PeerProtocolError when it is not one."""
    if value is None:
        return None
    try:
        return datetime.fromisoformat(str(value))
    except ValueError as err:
        raise PeerProtocolError(f"bad time {value!r} in a record") from err


def dataset_row(payload: dict[str, Any], campaign_id: int, change: FeedChange) -> dict[str, Any]:
    """The `datasets` row of a mirrored record (no owner, no password: those never travel)."""
    row: dict[str, Any] = {name: payload.get(name) for name in TEXT_FIELDS}
    row.update({name: payload.get(name) for name in NUMBER_FIELDS})
    for name in ("title", "summary", "pi_name", "platform", "instrument", "location"):
        row[name] = str(row[name] or "")
    row["category"] = row["category"] or "research"
    row["data_version"] = str(row["data_version"] or "")
    start, stop = payload_time(payload.get("start")), payload_time(payload.get("stop"))
    if start is None or stop is None:
        raise PeerProtocolError("a record lacks its start or stop")
    variables = payload.get("variables") or []
    names = [str(v.get("name")) for v in variables]
    names += [str(v.get("original_name")) for v in variables if v.get("original_name") not in names]
    row.update(
        public_id=change.public_id,
        campaign_id=campaign_id,
        start=start,
        stop=stop,
        duration_s=max(0.0, (stop - start).total_seconds()),
        pi_key=fold(row["pi_name"]),
        platform_key=fold(row["platform"]),
        instrument_key=fold(row["instrument"]),
        project_key=fold(row["project"]),
        search_text=search_text_of(row, names),
        access_state=payload.get("access_state") or "open",
        release_at=payload_time(payload.get("release_at")),
        origin_center=change.origin_center,
        origin_version=change.origin_version,
        listed=True,
        created=payload_time(payload.get("created")) or start,
        updated=payload_time(payload.get("updated")) or start,
        withdrawn_at=None,
        password_hash=None,
        owner_user_id=None,
    )
    return row


def child_rows(dataset_id: int, payload: dict[str, Any]) -> tuple[list[dict[str, Any]], list[Any]]:
    """The `variables` rows and the current `dataset_versions` row of a mirrored record."""
    variables = [
        {
            "dataset_id": dataset_id,
            "position": i,
            "name": str(v.get("name") or ""),
            "name_key": fold(str(v.get("name") or "")) or "",
            "original_name": str(v.get("original_name") or ""),
            "unit": v.get("unit"),
            "original_unit": str(v.get("original_unit") or ""),
        }
        for i, v in enumerate(payload.get("variables") or [])
    ]
    current = payload.get("current_version")
    versions: list[Any] = []
    if isinstance(current, dict):
        versions.append(
            {
                "dataset_id": dataset_id,
                "data_version": str(current.get("data_version") or ""),
                "sha256": str(current.get("sha256") or ""),
                "size": int(current.get("size") or 0),
                "original_name": str(current.get("original_name") or ""),
                "source_format": str(current.get("source_format") or ""),
                "created_at": payload_time(current.get("created_at")),
                "is_current": True,
            }
        )
    return variables, versions
