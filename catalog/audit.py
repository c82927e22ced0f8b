"""The audit log: who changed what, when, from what to what, and why."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from catalog.models import AuditEvent, Dataset
from catalog.schemas import Principal


def actor_name(actor: Principal, label: str | None = None) -> str:
    """How the audit log names an actor: the user name, or a label such as `cli:alice`."""
    return label or actor.username or actor.role.value


def event_row(
    *,
    actor: Principal,
    action: str,
    now: datetime,
    reason: str,
    dataset_id: int | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    actor_label: str | None = None,
) -> dict[str, Any]:
    """One audit event's columns (`record_event`; `record_events` writes many at once)."""
    return {"at": now, "actor_user_id": actor.user_id,
            "actor": actor_name(actor, actor_label)[:100], "action": action[:64],
            "dataset_id": dataset_id, "before": before, "after": after,
            "reason": reason}  # fmt: skip


def record_event(
    session: Session,
    *,
    actor: Principal,
    action: str,
    now: datetime,
    reason: str,
    dataset: Dataset | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    actor_label: str | None = None,
) -> AuditEvent:
    """Append one audit event (in the caller's transaction, beside the change it records)."""
    event = AuditEvent(**event_row(
        actor=actor, action=action, now=now, reason=reason,
        dataset_id=None if dataset is None else dataset.id, before=before, after=after,
        actor_label=actor_label,
    ))  # fmt: skip
    session.add(event)
    session.flush()
    return event


def record_events(session: Session, rows: list[dict[str, Any]]) -> None:
    """Append many audit events (`event_row`s) in one statement, in the caller's transaction."""
    if rows:
        session.execute(insert(AuditEvent), rows)


def list_events(
    session: Session, *, dataset_id: int | None = None, limit: int = 100
) -> list[AuditEvent]:
    """The newest audit events (of one dataset when given), newest first."""
    query = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(max(1, min(limit, 1000)))
    if dataset_id is not None:
        query = query.where(AuditEvent.dataset_id == dataset_id)
    return list(session.scalars(query))


def dataset_events(session: Session, public_id: str, *, limit: int = 100) -> list[AuditEvent]:
    """The audit events of the dataset `public_id`, newest first (empty when unknown)."""
    dataset_id = session.scalar(select(Dataset.id).where(Dataset.public_id == public_id))
    if dataset_id is None:
        return []
    return list_events(session, dataset_id=dataset_id, limit=limit)
