"""Staff's control of the supervised receivers, through the database: the CLI (another
process) and the staff page write a wish, audited; the worker's supervisor polls the wishes
and writes back what it saw. The node needs no control port of its own for this."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog.audit import record_event
from catalog.errors import InvalidQueryError, NotFoundError
from catalog.receiver_models import ReceiverControl, ReceiverStatus
from catalog.schemas import Principal

ACTIONS = ("start", "stop", "restart")


@dataclass(frozen=True)
class Wish:
    """What staff last asked of a receiver."""

    desired: str
    restart_seq: int


@dataclass(frozen=True)
class Seen:
    """What the supervisor last saw of a receiver."""

    name: str
    kind: str
    state: str
    restarts: int
    detail: str
    started_at: datetime | None
    updated_at: datetime


def wishes(session: Session) -> dict[str, Wish]:
    """Every receiver's wish, by name (receivers without one follow the configuration)."""
    rows = session.scalars(select(ReceiverControl))
    return {row.name: Wish(row.desired, row.restart_seq) for row in rows}


def control(
    session: Session,
    name: str,
    action: str,
    *,
    actor: Principal,
    label: str,
    now: datetime,
    reason: str = "",
) -> Wish:
    """Record staff's `start`, `stop` or `restart` of a receiver, with its audit event."""
    if action not in ACTIONS:
        raise InvalidQueryError(f"action must be one of {', '.join(ACTIONS)}")
    row = session.get(ReceiverControl, name)
    before = None if row is None else {"desired": row.desired, "restart_seq": row.restart_seq}
    if row is None:
        row = ReceiverControl(name=name, desired="running", restart_seq=0)
        session.add(row)
    row.desired = "stopped" if action == "stop" else "running"
    row.restart_seq = (row.restart_seq or 0) + (action == "restart")
    row.changed_at, row.changed_by = now, label[:100]
    after = {"desired": row.desired, "restart_seq": row.restart_seq}
    record_event(
        session, actor=actor, action=f"receiver.{action}", now=now,
        reason=reason or f"receiver {name}", before=before, after=after, actor_label=label,
    )  # fmt: skip
    session.flush()
    return Wish(row.desired, row.restart_seq)


def save_seen(session: Session, seen: list[Seen]) -> None:
    """Write the supervisor's view of every receiver (one row each, replaced)."""
    for item in seen:
        row = session.get(ReceiverStatus, item.name) or ReceiverStatus(name=item.name)
        row.kind, row.state, row.restarts = item.kind, item.state, item.restarts
        row.detail, row.started_at, row.updated_at = item.detail, item.started_at, item.updated_at
        session.add(row)


def seen_all(session: Session) -> list[Seen]:
    """The supervisor's last view of every receiver, by name."""
    rows = session.scalars(select(ReceiverStatus).order_by(ReceiverStatus.name))
    return [
        Seen(r.name, r.kind, r.state, r.restarts, r.detail, r.started_at, r.updated_at)
        for r in rows
    ]


def supervised(session: Session, name: str) -> Seen:
    """A receiver the supervisor reported; `NotFoundError` for any other name."""
    row = session.get(ReceiverStatus, name)
    if row is None:
        raise NotFoundError(f"no receiver {name!r} on this node")
    return Seen(row.name, row.kind, row.state, row.restarts, row.detail, row.started_at,
                row.updated_at)  # fmt: skip


STREAM_KINDS = ("tcp", "serial", "http", "folder")


def live_streams(session: Session) -> list[Seen]:
    """The center's ingest streams as the supervisor last saw them (not FTP or the folder)."""
    return [seen for seen in seen_all(session) if seen.kind in STREAM_KINDS]
