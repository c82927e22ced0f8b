"""Orders: a basket of datasets or a whole search result (any size, across centers), taken
away as a zip that the worker builds in the background.

`create_order` records what was asked and answers at once with the order's id; the worker
(`catalog.order_build`) resolves the datasets with the orderer's rights at build time,
writes the zip with progress, and records every dataset left out with its reason. Anyone
holding the id of an anonymous order may follow and fetch it (the id is 128 random bits);
a signed-in user's order answers to that user only, and to nobody else (a 404 as for a
missing order).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog.errors import InvalidQueryError, NotFoundError
from catalog.models import Dataset, User
from catalog.order_models import Order
from catalog.schemas import Principal, SearchParams
from catalog.search import filter_clauses
from catalog.storage import ArchiveStore
from catalog.users import principal_for_user

MAX_LISTED_DATASETS = 10_000
"""A basket names at most this many ids (a whole search result has no limit)."""
ORDER_FORMATS = ("original", "netcdf", "csv", "header", "icartt")


class OrderStatus(BaseModel):
    """How far an order has come, and what was left out of it and why."""

    order: str
    state: str
    total: int
    done: int
    included: int
    left_out: list[dict[str, str]]
    size: int
    error: str
    created_at: datetime
    finished_at: datetime | None


def order_path(store: ArchiveStore, public_id: str) -> Path:
    """Where an order's zip is kept (under the center's root, beside staging)."""
    return store.root / "orders" / f"{public_id}.zip"


def create_order(
    session: Session,
    principal: Principal,
    now: datetime,
    *,
    datasets: list[str] | None = None,
    search: SearchParams | None = None,
    format: str = "original",
) -> Order:
    """Record an order of `datasets` (a basket) or of every result of `search`; queued."""
    if (datasets is None) == (search is None):
        raise InvalidQueryError("an order names either datasets or a search")
    if format not in ORDER_FORMATS:
        raise InvalidQueryError(f"format must be one of {', '.join(ORDER_FORMATS)}")
    spec: dict[str, Any] = {"format": format}
    if datasets is not None:
        ids = list(dict.fromkeys(datasets))
        if not 1 <= len(ids) <= MAX_LISTED_DATASETS:
            raise InvalidQueryError(f"an order lists 1 to {MAX_LISTED_DATASETS} datasets")
        spec["datasets"] = ids
    else:
        assert search is not None
        filter_clauses(session, search, principal, now)  # a bad query fails now, not later
        spec["search"] = search.model_dump(mode="json", exclude={"cursor", "limit", "facets"})
    order = Order(
        public_id=secrets.token_urlsafe(16),
        user_id=principal.user_id,
        spec=spec,
        state="queued",
        left_out=[],
        created_at=now,
    )
    session.add(order)
    session.flush()
    return order


def find_order(session: Session, public_id: str, principal: Principal) -> Order:
    """The order if this caller may follow it; NotFoundError (as for a missing id) if not."""
    order = session.scalars(select(Order).where(Order.public_id == public_id)).one_or_none()
    if order is None or (order.user_id is not None and order.user_id != principal.user_id):
        raise NotFoundError(f"no order {public_id!r}")
    return order


def status_of(order: Order) -> OrderStatus:
    """The order as its owner follows it."""
    return OrderStatus(
        order=order.public_id,
        state=order.state,
        total=order.total,
        done=order.done,
        included=order.included,
        left_out=list(order.left_out or []),
        size=order.size,
        error=order.error,
        created_at=order.created_at,
        finished_at=order.finished_at,
    )


def orderer(session: Session, order: Order, now: datetime) -> Principal:
    """The rights the order is built with: its user's as they are now (with the campaigns and
    named-reader entries they hold now), or anonymous. An order made by a user vouched for
    by a peer carries no account here, so it is built with anonymous rights (docs/search.md)."""
    from catalog.models import Campaign, Center
    from catalog.vouched import with_memberships

    if order.user_id is None:
        return Principal.anonymous()
    user = session.get(User, order.user_id)
    if user is None or not user.active:
        return Principal.anonymous()
    principal = principal_for_user(user)
    center = session.scalar(select(Center.code).where(Center.is_local))
    for code in session.scalars(select(Campaign.code).order_by(Campaign.id)).all()[:1]:
        principal = with_memberships(
            session, principal, local_center=center or "", campaign=code, now=now
        )
    return principal


def ordered_ids(
    session: Session, order: Order, principal: Principal, now: datetime
) -> Iterator[str]:
    """The public ids an order names, in order: its list, or every result of its search
    (read in batches, never all at once)."""
    listed = order.spec.get("datasets")
    if listed is not None:
        yield from listed
        return
    params = SearchParams.model_validate(order.spec["search"])
    clauses = filter_clauses(session, params, principal, now)
    query = select(Dataset.public_id).where(*clauses).order_by(Dataset.start, Dataset.public_id)
    yield from session.scalars(query.execution_options(yield_per=1000))
