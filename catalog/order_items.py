"""Whether one dataset of a bundle or order can go in it here, and if not, why not.

Every dataset a caller names gets an answer: included, or left out with a reason the caller
may be told. A dataset the caller may not see gets exactly the reason a missing id gets
(SECURITY.md row 27), so the reasons reveal nothing the search would not.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from catalog.downloads import current_version, origin_base_url
from catalog.errors import InvalidQueryError, NotFoundError, PermissionDeniedError
from catalog.search import load_dataset_for_data

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from catalog.models import Dataset, DatasetVersion
    from catalog.schemas import Principal

NOT_FOUND = "not found: no such dataset, or not one you may see"


@dataclass(frozen=True)
class Readable:
    """A dataset the caller may read, with its current version held here."""

    dataset: Dataset
    version: DatasetVersion


@dataclass(frozen=True)
class HeldElsewhere:
    """A dataset the caller may read whose file is held at its origin center."""

    dataset: Dataset
    origin_url: str


@dataclass(frozen=True)
class LeftOut:
    """A dataset that cannot be delivered, and why (`kind`: not-found, closed, no-file)."""

    public_id: str
    kind: str
    reason: str


Item = Readable | HeldElsewhere | LeftOut


def classify(session: Session, public_id: str, principal: Principal, now: datetime) -> Item:
    """What can be done with `public_id` for this caller, here and now."""
    try:
        dataset = load_dataset_for_data(session, public_id, principal, now)
    except NotFoundError:
        return LeftOut(public_id, "not-found", NOT_FOUND)
    except PermissionDeniedError as err:
        return LeftOut(public_id, "closed", str(err))
    try:
        origin = origin_base_url(session, dataset)
    except NotFoundError as err:
        return LeftOut(public_id, "held-elsewhere", str(err))
    if origin is not None:
        return HeldElsewhere(dataset, origin)
    try:
        return Readable(dataset, current_version(session, dataset))
    except InvalidQueryError as err:
        return LeftOut(public_id, "no-file", str(err))
