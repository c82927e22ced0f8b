"""Queries over submissions and the datasets a submission may touch (no commits here)."""

from __future__ import annotations

import re
from datetime import datetime, time
from typing import get_args

from sqlalchemy import Select, bindparam, func, select
from sqlalchemy.orm import Session

from catalog.access import (
    PRIVILEGED,
    ProductAudience,
    can_see_product,
    product_audience,
    product_audience_filter,
    product_visible_filter,
)
from catalog.errors import NotFoundError
from catalog.models import Campaign, Product
from catalog.schemas import Principal
from catalog.submission_models import FINAL_STATES, Submission, SubmissionState


def get_submission_row(session: Session, public_id: str) -> Submission:
    """The submission with `public_id` (NotFoundError when there is none)."""
    row = session.scalars(select(Submission).where(Submission.public_id == public_id)).first()
    if row is None:
        raise NotFoundError("no such submission")
    return row


def can_see_submission(principal: Principal, row: Submission) -> bool:
    """Staff see every submission; a PI sees their own; nobody else sees any."""
    if principal.role in PRIVILEGED:
        return True
    return principal.user_id is not None and row.submitter_user_id == principal.user_id


def visible_submission(session: Session, public_id: str, principal: Principal) -> Submission:
    """The submission if the caller may see it; otherwise exactly like a missing one."""
    row = get_submission_row(session, public_id)
    if not can_see_submission(principal, row):
        raise NotFoundError("no such submission")
    return row


def list_submissions(
    session: Session, principal: Principal, *, mine: bool, limit: int = 100
) -> list[Submission]:
    """Newest first: the caller's own, or (staff, `mine` false) everyone's."""
    query = select(Submission).order_by(Submission.created_at.desc(), Submission.id.desc())
    if mine or principal.role not in PRIVILEGED:
        if principal.user_id is None:
            return []
        query = query.where(Submission.submitter_user_id == principal.user_id)
    return list(session.scalars(query.limit(max(1, min(limit, 1000)))))


def unfinished_submissions(session: Session, created_before: datetime) -> list[Submission]:
    """Submissions a crash may have left between states (created before `created_before`)."""
    query = (
        select(Submission)
        .where(Submission.state.not_in(FINAL_STATES), Submission.created_at < created_before)
        .order_by(Submission.id)
    )
    return list(session.scalars(query))


def registered_with_sha(
    session: Session, sha256: str, center_code: str, campaign_code: str
) -> Submission | None:
    """The first registered submission of exactly these bytes in this center and campaign."""
    query = (
        select(Submission)
        .where(
            Submission.sha256 == sha256,
            Submission.state == SubmissionState.REGISTERED,
            Submission.center_code == center_code,
            Submission.campaign_code == campaign_code,
        )
        .order_by(Submission.id)
        .limit(1)
    )
    return session.scalars(query).first()


def bytes_received_since(session: Session, receiver: str, since: datetime) -> int:
    """How many bytes `receiver` took in since `since` (for daily quotas)."""
    query = select(func.coalesce(func.sum(Submission.size), 0)).where(
        Submission.receiver == receiver, Submission.created_at >= since
    )
    return int(session.scalar(query) or 0)


def find_campaign(session: Session, code: str, *, lock: bool = False) -> Campaign:
    """The campaign with `code` (NotFoundError when unknown).

    `lock=True` takes the campaign row's write lock (`FOR UPDATE`; SQLite serialises writers
    anyway) until the transaction ends, so registrations in one campaign decide identity and
    write one after another: two first submissions of a DID can never both see it unowned.
    """
    query = select(Campaign).where(Campaign.code == code)
    campaign = session.scalars(query.with_for_update() if lock else query).first()
    if campaign is None:
        raise NotFoundError(f"no campaign {code!r}")
    return campaign


def find_product(session: Session, filename: str, center_code: str) -> Product | None:
    """The product of this center stored under this file name, if any."""
    query = select(Product).where(Product.filename == filename, Product.center_code == center_code)
    return session.scalars(query).first()


def list_products(
    session: Session,
    principal: Principal,
    *,
    source: str | None = None,
    name: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    limit: int = 100,
) -> list[Product]:
    """Products the caller may see (the access policy), newest first, by source, name, time."""
    query = select(Product).where(product_visible_filter(principal))
    if source:
        query = query.where(func.lower(Product.source) == source.strip().lower())
    if name:
        query = query.where(func.lower(Product.product_name) == name.strip().lower())
    if start is not None:
        query = query.where(Product.product_time >= start)
    if end is not None:
        query = query.where(Product.product_time <= end)
    query = query.order_by(Product.product_time.desc(), Product.id.desc())
    return list(session.scalars(query.limit(max(1, min(limit, 1000)))))


def _words(text: str) -> list[str]:
    return [w for w in re.split(r"[^a-z0-9]+", text.lower()) if w]


def source_is_platform(source: str, platform: str) -> bool:
    """Whether a product's source code names `platform`: the same letters and digits
    (`c130` and `NCAR C-130`), or the platform's initials (`rhb`, Ronald H. Brown)."""
    key = "".join(_words(source))
    words = _words(platform)
    if not key or not words:
        return False
    joined = "".join(words)
    if key == joined or key == "".join(w[0] for w in words):
        return True
    return len(key) >= 3 and (key in words or joined.endswith(key) or key.endswith(joined))


def _in_days(audience: ProductAudience) -> Select[Product]:
    return (
        select(Product)
        .where(product_audience_filter(audience, bindparam("user_id")))
        .where(Product.product_time.between(bindparam("first"), bindparam("last")))
        .order_by(Product.product_time, Product.id)
        .limit(1000)
    )


_IN_DAYS = {audience: _in_days(audience) for audience in get_args(ProductAudience)}
"""The products of some days, one statement per audience, built once: every dataset page
runs one (building a statement costs more than running it)."""


def products_of_dataset(
    session: Session,
    principal: Principal,
    platform: str,
    start: datetime | None,
    stop: datetime | None,
    limit: int = 24,
) -> list[Product]:
    """Products the caller may see from the dataset's platform on the days it covers."""
    if start is None or not platform.strip():
        return []
    first = datetime.combine(start.date(), time.min, tzinfo=start.tzinfo)
    last = datetime.combine((stop or start).date(), time.max, tzinfo=start.tzinfo)
    query = _IN_DAYS[product_audience(principal)]
    found = session.scalars(query, {"user_id": principal.user_id, "first": first, "last": last})
    return [p for p in found if source_is_platform(p.source, platform)][:limit]


def get_product(session: Session, product_id: int, principal: Principal) -> Product:
    """A product the caller may see, by id (NotFoundError otherwise)."""
    product = session.get(Product, product_id)
    if product is None or not can_see_product(principal, product):
        raise NotFoundError("no such product")
    return product
