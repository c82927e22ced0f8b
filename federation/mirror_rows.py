"""A mirrored record's table rows, made from a peer's payload (`catalog.changes.dataset_payload`).

Payloads come from another center: every field is coerced to what the tables hold, and a
record that cannot be placed in time is a protocol error, never a half-written row.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from catalog.dataset_fields import DatasetField, shared_fields
from catalog.models import fold, search_text_of, variable_words
from federation.errors import PeerProtocolError
from federation.feed import FeedChange


def payload_time(value: Any) -> datetime | None:
    """An ISO time from a payload; PeerProtocolError when it is not one."""
    if value is None:
        return None
    try:
        return datetime.fromisoformat(str(value))
    except ValueError as err:
        raise PeerProtocolError(f"bad time {value!r} in a record") from err


def _coerce(field: DatasetField, value: Any) -> Any:
    """A payload value as its column holds it; PeerProtocolError for one that cannot be."""
    if field.is_time:
        return payload_time(value)
    if value is None or value == "":
        # An absent text or number takes the column's default ("" for texts, "research" for
        # the category, "open" for the access state), or stays NULL where the column allows it.
        if field.default is not None or not field.nullable:
            return field.default if field.default is not None else field.python_type()
        return None
    try:
        return field.python_type(value)
    except (TypeError, ValueError) as err:
        raise PeerProtocolError(f"bad {field.name} in a record") from err


def dataset_row(payload: dict[str, Any], campaign_id: int, change: FeedChange) -> dict[str, Any]:
    """The `datasets` row of a mirrored record (no owner, no password: those never travel).

    Every shared public column (`catalog.dataset_fields.shared_fields`) is taken from the
    payload; the record's identity and version come from the change that carries it.
    """
    row = {field.name: _coerce(field, payload.get(field.name)) for field in shared_fields()}
    start, stop = row["start"], row["stop"]
    if start is None or stop is None:
        raise PeerProtocolError("a record lacks its start or stop")
    row.update(
        public_id=change.public_id,
        campaign_id=campaign_id,
        duration_s=max(0.0, (stop - start).total_seconds()),
        pi_key=fold(row["pi_name"]),
        platform_key=fold(row["platform"]),
        instrument_key=fold(row["instrument"]),
        project_key=fold(row["project"]),
        search_text=search_text_of(row, variable_words(payload.get("variables") or [])),
        origin_center=change.origin_center,
        origin_version=change.origin_version,
        listed=True,
        created=row["created"] or start,
        updated=row["updated"] or start,
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
            "long_name": str(v.get("long_name") or ""),
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
