"""Staff manage access: set, extend, lift or re-impose a state, withdraw; audited and logged.

Every change, in the caller's transaction: the dataset row, its grants (revoked whenever the
password or the state changes), an audit event (who, when, before, after, why) and a change
for the peers (an upsert, or a tombstone when withdrawn or made private after sharing).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from catalog.access import RELEASING_STATES, AccessState, effective_state
from catalog.audit import record_event
from catalog.closing import refuse_if_closing
from catalog.dataset_writes import write_local
from catalog.errors import ConflictError, InvalidQueryError, NotFoundError
from catalog.facet_cache import cache_for
from catalog.grants import revoke_dataset_grants, set_dataset_password
from catalog.models import Center, Dataset
from catalog.registration import default_release_at
from catalog.schemas import Principal

MIN_REASON = 3


@dataclass(frozen=True)
class AccessRequest:
    """A requested access state: `release_at` None means the campaign's default."""

    state: AccessState
    reason: str
    release_at: datetime | None = None
    password: str | None = None


def access_snapshot(dataset: Dataset) -> dict[str, Any]:
    """The access facts an audit event records (never the password or its hash)."""
    return {
        "state": dataset.access_state,
        "release_at": None if dataset.release_at is None else dataset.release_at.isoformat(),
        "password_set": dataset.password_hash is not None,
    }


def _local_dataset(session: Session, public_id: str) -> Dataset:
    dataset = session.scalar(select(Dataset).where(Dataset.public_id == public_id))
    if dataset is None:
        raise NotFoundError(f"no dataset {public_id!r}")
    local = session.scalar(select(Center.is_local).where(Center.code == dataset.origin_center))
    if not local:
        raise ConflictError(
            f"dataset {public_id} belongs to center {dataset.origin_center}; change it there"
        )
    return dataset


def _check_reason(reason: str) -> str:
    reason = reason.strip()
    if len(reason) < MIN_REASON:
        raise InvalidQueryError("give a reason for the access change")
    return reason


def _release_for(dataset: Dataset, request: AccessRequest, now: datetime) -> datetime | None:
    if request.state not in RELEASING_STATES:
        return None
    release_at = request.release_at or default_release_at(dataset.campaign, dataset.category)
    if release_at is None:
        raise InvalidQueryError("give a release date: the campaign has no default")
    if release_at <= now:
        raise InvalidQueryError("the release date must be in the future")
    return release_at


def _apply(session: Session, dataset: Dataset, request: AccessRequest, now: datetime) -> None:
    refuse_if_closing(session, dataset.origin_center)
    release_at = _release_for(dataset, request, now)
    if request.state is AccessState.PASSWORD:
        if request.password is not None:
            set_dataset_password(session, dataset, request.password)
        elif dataset.password_hash is None:
            raise InvalidQueryError("a password-protected dataset needs a password")
    elif request.password is not None:
        raise InvalidQueryError("a password only goes with the state 'password'")
    elif dataset.password_hash is not None:
        set_dataset_password(session, dataset, None)
    if request.state is not AccessState(dataset.access_state):
        revoke_dataset_grants(session, dataset.id)
    dataset.access_state = request.state.value
    dataset.release_at = release_at
    dataset.withdrawn_at = now if request.state is AccessState.WITHDRAWN else None


def publish(session: Session, dataset: Dataset, now: datetime) -> None:
    dataset.origin_version += 1
    dataset.updated = max(now, dataset.updated + timedelta(microseconds=1))
    withdrawn = dataset.access_state == AccessState.WITHDRAWN.value
    write_local(session, dataset, "tombstone" if withdrawn else "upsert", now)
    bind = session.get_bind()
    if isinstance(bind, Engine):  # cached facet counts may count the old state
        cache_for(bind).clear()


def change_access(
    session: Session,
    public_id: str,
    request: AccessRequest,
    *,
    actor: Principal,
    now: datetime,
    actor_label: str | None = None,
) -> Dataset:
    """Set the access state of a local dataset (staff; the caller checked the role)."""
    reason = _check_reason(request.reason)
    dataset = _local_dataset(session, public_id)
    before = access_snapshot(dataset)
    _apply(session, dataset, request, now)
    after = access_snapshot(dataset)
    action = "withdraw" if request.state is AccessState.WITHDRAWN else "access.set"
    if request.password is not None:
        after["password_changed"] = True
    record_event(
        session, actor=actor, action=action, now=now, reason=reason, dataset=dataset,
        before=before, after=after, actor_label=actor_label,
    )  # fmt: skip
    publish(session, dataset, now)
    return dataset


def withdraw_dataset(
    session: Session,
    public_id: str,
    *,
    reason: str,
    actor: Principal,
    now: datetime,
    actor_label: str | None = None,
) -> Dataset:
    """Withdraw a dataset: hidden from all but staff; a tombstone travels to the peers."""
    request = AccessRequest(state=AccessState.WITHDRAWN, reason=reason)
    return change_access(session, public_id, request, actor=actor, now=now, actor_label=actor_label)


def extend_embargo(
    session: Session,
    public_id: str,
    until: datetime,
    *,
    reason: str,
    actor: Principal,
    now: datetime,
    actor_label: str | None = None,
) -> Dataset:
    """Move a current embargo's (or password's) release later."""
    dataset = _local_dataset(session, public_id)
    state = effective_state(dataset, now)
    if state not in RELEASING_STATES or dataset.release_at is None:
        raise ConflictError(f"dataset {public_id} is {state.value}, not under embargo")
    if until <= dataset.release_at:
        raise InvalidQueryError("an extension moves the release date later")
    request = AccessRequest(state=state, reason=reason, release_at=until)
    return change_access(session, public_id, request, actor=actor, now=now, actor_label=actor_label)


def list_restricted(session: Session, now: datetime) -> list[Dataset]:
    """Local datasets whose data are not open now, by release date (embargoes first)."""
    local = select(Center.code).where(Center.is_local.is_(True))
    query = (
        select(Dataset)
        .where(Dataset.origin_center.in_(local), Dataset.access_state != AccessState.OPEN.value)
        .order_by(Dataset.release_at.is_(None), Dataset.release_at, Dataset.public_id)
    )
    return [d for d in session.scalars(query) if effective_state(d, now) is not AccessState.OPEN]
