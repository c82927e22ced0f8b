"""Who curates a dataset (overrides QC flags, releases levels, chooses its deployment): its
PI (the owner) or staff, and only at the dataset's origin center."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog.errors import ConflictError, RoleRequiredError
from catalog.models import Center, Dataset
from catalog.schemas import Principal, Role
from catalog.search import get_dataset


def may_curate(principal: Principal, dataset: Dataset) -> bool:
    """Staff, or the PI who owns the dataset: who overrides flags and releases levels."""
    if principal.role in (Role.STAFF, Role.ADMIN):
        return True
    return principal.role is Role.PI and principal.user_id == dataset.owner_user_id


def curated_dataset(session: Session, public_id: str, actor: Principal, now: datetime) -> Dataset:
    """The local dataset `actor` may curate: NotFoundError when they cannot see it,
    RoleRequiredError when they may not curate it, ConflictError for a peer's record."""
    get_dataset(session, public_id, actor, now)
    dataset = session.scalars(select(Dataset).where(Dataset.public_id == public_id)).one()
    if not may_curate(actor, dataset):
        raise RoleRequiredError("only the dataset's PI or staff may do this")
    local = session.scalar(select(Center.is_local).where(Center.code == dataset.origin_center))
    if not local:
        raise ConflictError(f"dataset {public_id} belongs to center {dataset.origin_center}")
    return dataset
