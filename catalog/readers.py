"""Named readers: the people an embargoed, password or campaign dataset lets read it early.

The owner or staff add and remove them (audited, with a reason); an entry may end by the clock
(`expires_at`), and the policy reads only live entries. A reader is a local user or one vouched
for by a peer center, named `(center, username)` (see `catalog.access_models`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog.access import PRIVILEGED
from catalog.access_models import DatasetReader
from catalog.audit import record_event
from catalog.errors import ConflictError, InvalidQueryError, RoleRequiredError
from catalog.models import Center, Dataset
from catalog.schemas import Principal
from catalog.search import get_dataset

MIN_REASON = 3


@dataclass(frozen=True)
class Reader:
    """One named-reader entry to set."""

    center: str
    username: str
    expires_at: datetime | None


def managed_dataset(session: Session, public_id: str, actor: Principal, now: datetime) -> Dataset:
    """A local dataset the actor may manage (its owner, or staff): 404 when hidden, 403 when
    only seen, 409 when another center holds it."""
    get_dataset(session, public_id, actor, now)  # NotFoundError when the actor may not see it
    dataset = session.scalars(select(Dataset).where(Dataset.public_id == public_id)).one()
    owner = actor.user_id is not None and actor.home_center is None
    if actor.role not in PRIVILEGED and not (owner and dataset.owner_user_id == actor.user_id):
        raise RoleRequiredError("only the dataset's owner or staff manage its readers")
    local = session.scalar(select(Center.is_local).where(Center.code == dataset.origin_center))
    if not local:
        raise ConflictError(f"dataset {public_id} belongs to center {dataset.origin_center}")
    return dataset


def _reason(reason: str) -> str:
    if len(reason.strip()) < MIN_REASON:
        raise InvalidQueryError("give a reason")
    return reason.strip()


def _entry(session: Session, dataset_id: int, center: str, username: str) -> DatasetReader | None:
    query = select(DatasetReader).where(
        DatasetReader.dataset_id == dataset_id,
        DatasetReader.center == center.upper(),
        DatasetReader.username == username,
    )
    return session.scalars(query).one_or_none()


def list_readers(
    session: Session, public_id: str, actor: Principal, now: datetime
) -> list[DatasetReader]:
    """The dataset's named readers, live and expired (owner or staff)."""
    dataset = managed_dataset(session, public_id, actor, now)
    query = select(DatasetReader).where(DatasetReader.dataset_id == dataset.id)
    return list(session.scalars(query.order_by(DatasetReader.center, DatasetReader.username)))


def put_reader(
    session: Session, dataset: Dataset, reader: Reader, *, actor: Principal, reason: str,
    now: datetime,
) -> DatasetReader:  # fmt: skip
    """Name (or renew) a reader of `dataset`; audited. The caller checked who may."""
    if reader.expires_at is not None and reader.expires_at <= now:
        raise InvalidQueryError("the entry's expiry must lie in the future")
    entry = _entry(session, dataset.id, reader.center, reader.username)
    before = None if entry is None else _snapshot(entry)
    if entry is None:
        entry = DatasetReader(
            dataset_id=dataset.id, center=reader.center.upper(), username=reader.username,
        )  # fmt: skip
        session.add(entry)
    entry.expires_at, entry.added_at = reader.expires_at, now
    entry.added_by = (actor.username or actor.role.value)[:100]
    session.flush()
    record_event(
        session, actor=actor, action="reader.put", now=now, reason=_reason(reason),
        dataset=dataset, before=before, after=_snapshot(entry),
    )  # fmt: skip
    return entry


def remove_reader(
    session: Session, dataset: Dataset, center: str, username: str, *, actor: Principal,
    reason: str, now: datetime,
) -> bool:  # fmt: skip
    """Remove a named reader (audited); whether there was one."""
    entry = _entry(session, dataset.id, center, username)
    if entry is None:
        return False
    before = _snapshot(entry)
    session.delete(entry)
    record_event(
        session, actor=actor, action="reader.remove", now=now, reason=_reason(reason),
        dataset=dataset, before=before,
    )  # fmt: skip
    return True


def _snapshot(entry: DatasetReader) -> dict[str, object]:
    expires = None if entry.expires_at is None else entry.expires_at.isoformat()
    return {"reader": f"{entry.username}@{entry.center}", "expires_at": expires}
