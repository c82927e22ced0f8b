"""Staff's control of the supervised receivers, through the database: the CLI (another
process) and the staff page write a wish, audited; the worker's supervisor polls the wishes
and writes back what it saw. The node needs no control port of its own for this."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Table, select, update
from sqlalchemy.dialects import postgresql, sqlite
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
    """Record staff's `start`, `stop` or `restart` of a receiver, with its audit event.

    One atomic UPDATE (an INSERT the first time), so clicks and commands at once are each
    counted: two restarts raise `restart_seq` by two, on SQLite and PostgreSQL alike."""
    if action not in ACTIONS:
        raise InvalidQueryError(f"action must be one of {', '.join(ACTIONS)}")
    desired = "stopped" if action == "stop" else "running"
    wish = _write_wish(session, name, desired, int(action == "restart"), now, label[:100])
    record_event(
        session, actor=actor, action=f"receiver.{action}", now=now,
        reason=reason or f"receiver {name}", actor_label=label,
        after={"desired": wish.desired, "restart_seq": wish.restart_seq},
    )  # fmt: skip
    return wish


def _write_wish(
    session: Session, name: str, desired: str, raise_by: int, now: datetime, label: str
) -> Wish:
    table = ReceiverControl.__table__
    assert isinstance(table, Table)
    values = {"desired": desired, "changed_at": now, "changed_by": label}
    raise_seq = (
        update(table)
        .where(table.c.name == name)
        .values(restart_seq=table.c.restart_seq + raise_by, **values)
    )
    connection = session.connection()
    insert = postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert
    first = (
        insert(table)
        .values(name=name, restart_seq=raise_by, **values)
        .on_conflict_do_nothing(index_elements=["name"])
        .returning(table.c.name)  # a row back: made (psycopg's rowcount says -1 either way)
    )
    while connection.execute(raise_seq).rowcount < 1:
        if connection.execute(first).first() is not None:
            break  # made; else another made it meanwhile: raise that one
    row = connection.execute(
        select(table.c.desired, table.c.restart_seq).where(table.c.name == name)
    ).one()
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
