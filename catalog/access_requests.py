"""Access requests: a signed-in person asks to read a restricted dataset; its owner or staff
approve (with an expiry: the approval becomes a named-reader entry that ends by the clock) or
decline. Both sides are told by e-mail through the outbox, and every step is audited.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from catalog.access import PRIVILEGED, can_read_data
from catalog.access_models import DataRequest
from catalog.audit import record_event
from catalog.errors import ConflictError, InvalidQueryError, NotFoundError
from catalog.models import Dataset, User
from catalog.outbox import queue_mail
from catalog.readers import Reader, managed_dataset, put_reader
from catalog.schemas import Principal
from catalog.search import get_dataset

PENDING, APPROVED, DECLINED = "pending", "approved", "declined"


@dataclass(frozen=True)
class Requester:
    """Who asks: `(center, username)` and where to tell them the answer."""

    center: str
    username: str
    email: str


@dataclass(frozen=True)
class Decision:
    """An owner's or staff's answer to a request."""

    approve: bool
    expires_at: datetime | None
    note: str


def _owner_email(session: Session, dataset: Dataset) -> str:
    if dataset.owner_user_id is None:
        return ""
    return session.scalar(select(User.email).where(User.id == dataset.owner_user_id)) or ""


def request_access(
    session: Session, public_id: str, *, actor: Principal, who: Requester, reason: str,
    now: datetime,
) -> DataRequest:  # fmt: skip
    """Ask to read `public_id` (seen but not readable by the actor); audited, owner told."""
    if len(reason.strip()) < 3:
        raise InvalidQueryError("say why you need the data")
    get_dataset(session, public_id, actor, now)  # NotFoundError when hidden from the actor
    dataset = session.scalars(select(Dataset).where(Dataset.public_id == public_id)).one()
    if can_read_data(actor, dataset, now):
        raise ConflictError(f"you may already read dataset {public_id}")
    row = session.scalars(
        select(DataRequest).where(
            DataRequest.dataset_id == dataset.id,
            DataRequest.center == who.center,
            DataRequest.username == who.username,
            DataRequest.status == PENDING,
        )
    ).one_or_none()
    if row is None:
        row = DataRequest(dataset_id=dataset.id, center=who.center, username=who.username)
        session.add(row)
    row.reason, row.email, row.requested_at = reason.strip(), who.email, now
    session.flush()
    record_event(
        session, actor=actor, action="access-request", now=now, reason=row.reason,
        dataset=dataset, after={"request": row.id, "requester": f"{who.username}@{who.center}"},
    )  # fmt: skip
    queue_mail(
        session, _owner_email(session, dataset),
        f"Access request for {dataset.title or dataset.public_id}",
        f"{who.username} ({who.center}) asks to read dataset {dataset.public_id}:\n\n"
        f"{row.reason}\n\nApprove or decline it on your access requests page.",
        now, kind="access-request", dedupe_key=f"access-request:{row.id}:{now.isoformat()}",
    )  # fmt: skip
    return row


def list_requests(
    session: Session, actor: Principal, who: tuple[str, str]
) -> list[tuple[DataRequest, Dataset]]:
    """The requests the actor made, and those it may answer (its datasets; staff: all)."""
    query = select(DataRequest, Dataset).join(Dataset, Dataset.id == DataRequest.dataset_id)
    mine = (DataRequest.center == who[0]) & (DataRequest.username == who[1])
    if actor.role in PRIVILEGED:
        pass
    elif actor.user_id is not None and actor.home_center is None:
        query = query.where(or_(mine, Dataset.owner_user_id == actor.user_id))
    else:
        query = query.where(mine)
    rows = session.execute(query.order_by(DataRequest.id.desc()).limit(500)).all()
    return [(row[0], row[1]) for row in rows]


def decide(
    session: Session, request_id: int, decision: Decision, *, actor: Principal, now: datetime
) -> DataRequest:
    """Approve (a named-reader entry until `expires_at`) or decline; audited, requester told."""
    row = session.get(DataRequest, request_id)
    if row is None:
        raise NotFoundError(f"no access request {request_id}")
    dataset = session.get(Dataset, row.dataset_id)
    if dataset is None:
        raise NotFoundError(f"no access request {request_id}")
    managed_dataset(session, dataset.public_id, actor, now)
    if row.status != PENDING:
        raise ConflictError(f"access request {request_id} was already {row.status}")
    if decision.approve:
        reader = Reader(center=row.center, username=row.username, expires_at=decision.expires_at)
        put_reader(
            session, dataset, reader, actor=actor, now=now,
            reason=f"access request {row.id} approved: {decision.note or row.reason}",
        )  # fmt: skip
    row.status = APPROVED if decision.approve else DECLINED
    row.decided_at, row.decided_by = now, (actor.username or actor.role.value)[:100]
    row.expires_at, row.note = decision.expires_at, decision.note
    record_event(
        session, actor=actor, action=f"access-request.{row.status}", now=now,
        reason=decision.note or row.status, dataset=dataset, after={"request": row.id},
    )  # fmt: skip
    _tell_requester(session, row, dataset, now)
    return row


def _tell_requester(session: Session, row: DataRequest, dataset: Dataset, now: datetime) -> None:
    until = f" until {row.expires_at.isoformat()}" if row.expires_at else ""
    body = f"Your request to read dataset {dataset.public_id} was {row.status}{until}." + (
        f"\n\n{row.note}" if row.note else ""
    )
    queue_mail(
        session, row.email, f"Access request {row.status}: {dataset.title or dataset.public_id}",
        body, now, kind="access-decision", dedupe_key=f"access-decision:{row.id}",
    )  # fmt: skip
