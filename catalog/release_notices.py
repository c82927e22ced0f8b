"""Release notices: owners are reminded before their data open, followers and campaign members
are told when they open, and a release is announced in the change log, each once.

Once is held by a `release_notices` row per (dataset, release instant, kind), written in the
transaction that queues the mail (with `dedupe_key`s in the outbox) and appends the change, so
a crash repeats nothing and a second worker pass finds the row. A new release instant (an
embargo extended, then released) is a new release and is announced again.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import and_, exists, select
from sqlalchemy.orm import Session

from catalog.access_models import DatasetFollower, ReleaseNotice
from catalog.access_states import RELEASING_STATES
from catalog.dataset_writes import write_local
from catalog.models import Center, Dataset, User
from catalog.outbox import queue_mail

LOOK_BACK = timedelta(days=30)
"""Releases older than this when first seen (a node that was down) are not announced."""
BATCH = 200


def _due(session: Session, kind: str, low: datetime, high: datetime) -> list[Dataset]:
    noticed = exists().where(
        and_(
            ReleaseNotice.dataset_id == Dataset.id,
            ReleaseNotice.release_at == Dataset.release_at,
            ReleaseNotice.kind == kind,
        )
    )
    local = select(Center.code).where(Center.is_local.is_(True)).scalar_subquery()
    query = (
        select(Dataset)
        .where(Dataset.access_state.in_([s.value for s in RELEASING_STATES]))
        .where(Dataset.release_at > low, Dataset.release_at <= high)
        .where(Dataset.origin_center == local, ~noticed)
        .order_by(Dataset.release_at)
        .limit(BATCH)
    )
    return list(session.scalars(query))


def _mark(session: Session, dataset: Dataset, kind: str, now: datetime) -> None:
    assert dataset.release_at is not None
    session.add(
        ReleaseNotice(dataset_id=dataset.id, release_at=dataset.release_at, kind=kind, sent_at=now)
    )


def _name(dataset: Dataset) -> str:
    return dataset.title or dataset.did or dataset.public_id


def send_reminders(session: Session, now: datetime, days: float) -> int:
    """Remind owners of releases within `days`; how many datasets were handled."""
    due = _due(session, "reminder", now, now + timedelta(days=days))
    for dataset in due:
        owner = session.get(User, dataset.owner_user_id) if dataset.owner_user_id else None
        when = dataset.release_at.isoformat() if dataset.release_at else ""
        queue_mail(
            session, owner.email if owner else "", f"{_name(dataset)} opens on {when}",
            f"Dataset {dataset.public_id} ({_name(dataset)}) becomes open to everyone on "
            f"{when}. To keep it closed longer, ask staff to extend the embargo before then.",
            now, kind="release-reminder", dedupe_key=f"release-reminder:{dataset.id}:{when}",
        )  # fmt: skip
        _mark(session, dataset, "reminder", now)
    return len(due)


def _audience(session: Session, dataset: Dataset) -> set[str]:
    followers = select(DatasetFollower.email).where(DatasetFollower.dataset_id == dataset.id)
    members = select(User.email).where(User.active.is_(True), User.role.in_(("pi", "staff")))
    emails = set(session.scalars(followers)) | set(session.scalars(members))
    return {e for e in emails if e}


def announce_releases(session: Session, now: datetime) -> int:
    """Announce the releases that passed: the change log, followers and campaign members."""
    due = _due(session, "released", now - LOOK_BACK, now)
    for dataset in due:
        when = dataset.release_at.isoformat() if dataset.release_at else ""
        for email in sorted(_audience(session, dataset)):
            queue_mail(
                session, email, f"Released: {_name(dataset)}",
                f"Dataset {dataset.public_id} ({_name(dataset)}) is open to everyone since "
                f"{when}.", now, kind="release",
                dedupe_key=f"release:{dataset.id}:{when}:{email}"[:200],
            )  # fmt: skip
        dataset.origin_version += 1
        dataset.updated = max(now, dataset.updated + timedelta(microseconds=1))
        write_local(session, dataset, "upsert", now)
        _mark(session, dataset, "released", now)
    return len(due)


def follow(
    session: Session, dataset: Dataset, who: tuple[str, str], email: str, now: datetime
) -> bool:
    """Tell `who` (at `email`) when the dataset opens; whether they did not follow it yet."""
    row = session.scalars(
        select(DatasetFollower).where(
            DatasetFollower.dataset_id == dataset.id,
            DatasetFollower.center == who[0],
            DatasetFollower.username == who[1],
        )
    ).one_or_none()
    if row is None:
        session.add(
            DatasetFollower(
                dataset_id=dataset.id, center=who[0], username=who[1], email=email, since=now
            )
        )
    else:
        row.email = email
    session.flush()
    return row is None


def unfollow(session: Session, dataset: Dataset, who: tuple[str, str]) -> bool:
    """Stop telling `who` about the dataset; whether they followed it."""
    rows = session.scalars(
        select(DatasetFollower).where(
            DatasetFollower.dataset_id == dataset.id,
            DatasetFollower.center == who[0],
            DatasetFollower.username == who[1],
        )
    ).all()
    for row in rows:
        session.delete(row)
    return bool(rows)
