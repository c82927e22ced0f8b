"""Transfer sources (pulled by `pull-transfer` jobs, `submissions/transfers.py`): staff add,
change and delete them; a source's poll period is that of its pull job, made with it.

The secret is write-only: it is stored to compute tokens and signatures, never returned;
a change that leaves it empty keeps the stored one.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog.errors import InvalidQueryError, NotFoundError
from catalog.job_models import PERIODS, TRANSFER_AUTH, TransferSource
from catalog.jobs import define_job, delete_job, job_json, pull_jobs_of
from catalog.models import User
from catalog.schemas import Principal, Role

MIN_SECRET = 16
"""Characters a pre-shared secret has at least."""


def _owner(session: Session, user_id: int) -> Principal:
    user = session.get(User, user_id)
    if user is None or user.role != Role.PI.value:
        raise InvalidQueryError("a transfer source's files are submitted under a PI: choose one")
    return Principal(user_id=user.id, username=user.username, role=Role.PI)


def _check(
    session: Session, source_id: int | None, name: str, url: str, auth: str, period: str | None
) -> None:
    if period is not None and period not in PERIODS:
        raise InvalidQueryError(f"period must be one of {', '.join(PERIODS)}")
    if auth not in TRANSFER_AUTH:
        raise InvalidQueryError(f"auth must be one of {', '.join(TRANSFER_AUTH)}")
    if not url.startswith(("http://", "https://")):
        raise InvalidQueryError("a transfer source's url is http:// or https://")
    same = session.scalar(select(TransferSource.id).where(TransferSource.name == name))
    if same is not None and same != source_id:
        raise InvalidQueryError(f"a transfer source named {name!r} exists")


def _check_secret(secret: str) -> None:
    if len(secret) < MIN_SECRET:
        raise InvalidQueryError(f"the secret has at least {MIN_SECRET} characters")


def add_transfer_source(
    session: Session, *, name: str, url: str, auth: str, key_id: str, secret: str,
    owner_user_id: int, campaign: str, category: str | None, access: str | None,
    now: datetime, period: str | None = None,
) -> TransferSource:  # fmt: skip
    """Record a transfer source; with a `period`, also its pull job (the PI's, due now)."""
    _check(session, None, name, url, auth, period)
    _check_secret(secret)
    owner = _owner(session, owner_user_id)
    source = TransferSource(
        name=name, url=url, auth=auth, key_id=key_id, secret=secret,
        owner_user_id=owner_user_id, campaign=campaign, category=category, access=access,
        cursor="", last_error="", created_at=now,
    )  # fmt: skip
    session.add(source)
    session.flush()
    if period is not None:
        define_job(
            session, name=f"pull {name}", kind="pull-transfer", params={"source_id": source.id},
            period=period, first_due=now, owner=owner, now=now,
        )  # fmt: skip
    return source


def get_transfer_source(session: Session, source_id: int) -> TransferSource:
    """A transfer source, or a 404."""
    source = session.get(TransferSource, source_id)
    if source is None:
        raise NotFoundError(f"no transfer source {source_id}")
    return source


def update_transfer_source(
    session: Session, source: TransferSource, *, name: str, url: str, auth: str, key_id: str,
    secret: str, owner_user_id: int, campaign: str, category: str | None,
    access: str | None, period: str | None = None, now: datetime,
) -> TransferSource:  # fmt: skip
    """Change a source (all checked before anything changes); an empty `secret` keeps the
    stored one. Its cursor stays, so a new URL of the same source goes on where the old one
    stopped. With a `period`, its pull jobs take that period (one is made if it has none);
    they always take its PI."""
    _check(session, source.id, name, url, auth, period)
    if secret:
        _check_secret(secret)
    owner = _owner(session, owner_user_id)
    source.secret = secret or source.secret
    source.name, source.url, source.auth, source.key_id = name, url, auth, key_id
    source.owner_user_id, source.campaign = owner_user_id, campaign
    source.category, source.access = category, access
    jobs = pull_jobs_of(session, source.id)
    for job in jobs:
        job.owner_user_id = owner_user_id
        if period is not None:
            job.period = period
    if period is not None and not jobs:
        define_job(
            session, name=f"pull {name}", kind="pull-transfer", params={"source_id": source.id},
            period=period, first_due=now, owner=owner, now=now,
        )  # fmt: skip
    session.flush()
    return source


def delete_transfer_source(session: Session, source: TransferSource) -> None:
    """Delete a source and the jobs that pull it (with their runs); what it brought in stays."""
    for job in pull_jobs_of(session, source.id):
        delete_job(session, job)
    session.delete(source)
    session.flush()


def source_json(source: TransferSource) -> dict[str, Any]:
    """A source as the API shows it, without its secret."""
    return {
        "id": source.id, "name": source.name, "url": source.url, "auth": source.auth,
        "key_id": source.key_id, "owner_user_id": source.owner_user_id,
        "campaign": source.campaign, "category": source.category, "access": source.access,
        "cursor": source.cursor, "last_checked": source.last_checked,
        "last_error": source.last_error,
    }  # fmt: skip


def list_transfer_sources(session: Session) -> list[dict[str, Any]]:
    """Every transfer source, without its secret."""
    return [
        source_json(s) for s in session.scalars(select(TransferSource).order_by(TransferSource.id))
    ]


def transfer_sources_with_jobs(session: Session, runs: int) -> list[dict[str, Any]]:
    """Every source (no secret) with its pull jobs and their latest runs (the staff page)."""
    return [
        {
            **source_json(s),
            "jobs": [job_json(session, j, runs) for j in pull_jobs_of(session, s.id)],
        }
        for s in session.scalars(select(TransferSource).order_by(TransferSource.id))
    ]
