"""Claims: a PI asks to own an ownerless dataset; staff approve; both steps are audited.

Datasets that arrive without a signed-in PI (the demo's seeding done by staff, the FTP drop,
the watched folder) have no owner. A PI may not take one over by sending a higher DATA
VERSION (SUB010): they claim it with a reason (`POST datasets/{id}/claim` in the API), staff
approve (`POST datasets/{id}/claim/approve`), and the approval makes that PI the
owner, so their next version is accepted like any owner's. One claim per PI and dataset; a
second request replaces the reason of a pending one. Claiming an owned dataset is a conflict.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog.audit import record_event
from catalog.auth_models import DatasetClaim
from catalog.errors import ConflictError, NotFoundError
from catalog.models import Dataset, User
from catalog.schemas import Principal, Role
from catalog.search import get_dataset
from catalog.users import get_user


def claim_of(session: Session, dataset_id: int, user_id: int | None) -> DatasetClaim | None:
    """The claim `user_id` made on the dataset, if any."""
    if user_id is None:
        return None
    query = select(DatasetClaim).where(
        DatasetClaim.dataset_id == dataset_id, DatasetClaim.user_id == user_id
    )
    return session.scalars(query).one_or_none()


def _visible_dataset(session: Session, public_id: str, actor: Principal, now: datetime) -> Dataset:
    get_dataset(session, public_id, actor, now)  # NotFoundError when the actor may not see it
    dataset = session.scalars(select(Dataset).where(Dataset.public_id == public_id)).one()
    return dataset


def request_claim(
    session: Session, public_id: str, *, actor: Principal, reason: str, now: datetime
) -> DatasetClaim:
    """A PI asks to own the ownerless dataset `public_id`; the request is audited."""
    if actor.role is not Role.PI or actor.user_id is None:
        raise ConflictError("only a PI claims a dataset; staff send versions directly")
    dataset = _visible_dataset(session, public_id, actor, now)
    if dataset.owner_user_id is not None:
        mine = dataset.owner_user_id == actor.user_id
        raise ConflictError(
            f"dataset {public_id} is already {'yours' if mine else 'owned by another PI'}"
        )
    claim = claim_of(session, dataset.id, actor.user_id)
    if claim is None:
        claim = DatasetClaim(dataset_id=dataset.id, user_id=actor.user_id, reason=reason)
        session.add(claim)
    claim.reason, claim.requested_at = reason, now
    session.flush()
    record_event(
        session, actor=actor, action="claim-requested", now=now, reason=reason,
        dataset=dataset, after={"claimant": actor.username},
    )  # fmt: skip
    return claim


def approve_claim(
    session: Session,
    public_id: str,
    *,
    username: str,
    actor: Principal,
    reason: str,
    now: datetime,
    actor_label: str | None = None,
) -> Dataset:
    """Staff approve `username`'s claim: that PI becomes the owner; the change is audited."""
    dataset = _visible_dataset(session, public_id, actor, now)
    user: User = get_user(session, username)
    claim = claim_of(session, dataset.id, user.id)
    if claim is None or claim.approved_at is not None:
        raise NotFoundError(f"no pending claim of {username!r} on dataset {public_id}")
    if dataset.owner_user_id is not None:
        raise ConflictError(f"dataset {public_id} already has an owner")
    claim.approved_at, claim.approved_by = now, (actor.username or actor.role.value)[:100]
    dataset.owner_user_id = user.id
    session.flush()
    record_event(
        session, actor=actor, action="claim-approved", now=now, reason=reason, dataset=dataset,
        before={"owner": None}, after={"owner": user.username, "claim": claim.reason},
        actor_label=actor_label,
    )  # fmt: skip
    return dataset


def pending_claims(session: Session, limit: int = 500) -> list[tuple[DatasetClaim, Dataset, User]]:
    """Claims waiting for staff, oldest first (the staff's work list)."""
    query = (
        select(DatasetClaim, Dataset, User)
        .join(Dataset, Dataset.id == DatasetClaim.dataset_id)
        .join(User, User.id == DatasetClaim.user_id)
        .where(DatasetClaim.approved_at.is_(None))
        .order_by(DatasetClaim.requested_at, DatasetClaim.id)
        .limit(limit)
    )
    return [(row[0], row[1], row[2]) for row in session.execute(query).all()]


def decline_claim(
    session: Session, public_id: str, *, username: str, actor: Principal, reason: str,
    now: datetime,
) -> None:  # fmt: skip
    """Staff decline `username`'s pending claim: it is removed (the PI may claim again with a
    better reason); audited."""
    dataset = _visible_dataset(session, public_id, actor, now)
    user: User = get_user(session, username)
    claim = claim_of(session, dataset.id, user.id)
    if claim is None or claim.approved_at is not None:
        raise NotFoundError(f"no pending claim of {username!r} on dataset {public_id}")
    before = {"claimant": user.username, "claim": claim.reason}
    session.delete(claim)
    record_event(
        session, actor=actor, action="claim-declined", now=now, reason=reason, dataset=dataset,
        before=before,
    )  # fmt: skip
