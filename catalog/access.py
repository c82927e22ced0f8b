"""The one access policy: a per-object decision and the SQL filter twin of each.

States: `open`; `embargoed` until `release_at`, then open by itself (computed from the clock on
every call); `password` (readable with a grant or by the owner until `release_at`, then open);
`campaign` (readable by every member of the dataset's campaign, local or vouched for by a peer,
until `release_at`, then open); `private` (only the owner and staff know it exists);
`withdrawn` (only staff). Named readers of an embargoed, password or campaign dataset read it
too. Staff and admin see and read everything. A peer center sees what is shared (open,
embargoed, password, campaign) and reads only what is open.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol

from sqlalchemy import ColumnElement, and_, case, false, or_, true

from catalog.access_states import (
    NAMED_READER_STATES,
    RELEASING_STATES,
    SHARED_STATES,
    AccessState,
)
from catalog.models import Dataset, Product
from catalog.schemas import Principal, Role

__all__ = [
    "LEVEL_RULE_STATES",
    "PRIVILEGED",
    "RELEASING_STATES",
    "SHARED_STATES",
    "AccessFacts",
    "AccessState",
    "ProductFacts",
    "can_read_data",
    "can_see_metadata",
    "can_see_product",
    "data_readable_filter",
    "effective_state",
    "effective_state_sql",
    "facts_at_level",
    "product_visible_filter",
    "visibility_key",
    "visible_filter",
]
PRIVILEGED = (Role.STAFF, Role.ADMIN)
LEVEL_RULE_STATES = (AccessState.OPEN.value, AccessState.EMBARGOED.value)
"""What a per-level access rule may say (`Dataset.level_access`, set in `levels`)."""


class AccessFacts(Protocol):
    """What the policy reads of a dataset (a `Dataset` row satisfies it)."""

    @property
    def public_id(self) -> str: ...
    @property
    def access_state(self) -> str: ...
    @property
    def release_at(self) -> datetime | None: ...
    @property
    def owner_user_id(self) -> int | None: ...
    @property
    def campaign_id(self) -> int | None: ...


@dataclass(frozen=True)
class LevelFacts:
    """A dataset's access facts with a per-level rule's state and release in place."""

    public_id: str
    access_state: str
    release_at: datetime | None
    owner_user_id: int | None
    campaign_id: int


def served_level(dataset: Dataset, level: int | None) -> int:
    """The level of the data a request is served: the newest version at `level` or above,
    or without one the current version's (the dataset's `level`, mirrored too)."""
    if level is None:
        return dataset.level
    version = dataset.newest_at_level(level)
    return level if version is None else version.level


def facts_at_level(dataset: Dataset, level: int | None) -> AccessFacts:
    """What the policy reads for data at `level` (see `served_level`): the dataset itself,
    or where it has a rule for that level (`Dataset.level_access`), the rule's state and
    release date. Visibility of the record stays the dataset's own."""
    rule = (dataset.level_access or {}).get(str(served_level(dataset, level)))
    if rule is None:
        return dataset
    state, release = _rule_state(rule)
    return LevelFacts(dataset.public_id, state, release, dataset.owner_user_id, dataset.campaign_id)


def _rule_state(rule: object) -> tuple[str, datetime | None]:
    """A rule's state and release date; a rule this center cannot read (a peer's, malformed)
    closes the data rather than opening it."""
    closed = (AccessState.EMBARGOED.value, None)
    if not isinstance(rule, dict) or rule.get("state") not in LEVEL_RULE_STATES:
        return closed
    release = rule.get("release_at")
    try:
        when = None if release is None else datetime.fromisoformat(str(release))
    except ValueError:
        return closed
    return str(rule["state"]), when


def effective_state(dataset: AccessFacts, now: datetime) -> AccessState:
    """The state that applies at `now`: an embargo or password whose release passed is open."""
    state = AccessState(dataset.access_state)
    if state in RELEASING_STATES and dataset.release_at is not None and dataset.release_at <= now:
        return AccessState.OPEN
    return state


def _is_owner(principal: Principal, dataset: AccessFacts) -> bool:
    return (
        principal.user_id is not None
        and principal.role not in (Role.ANONYMOUS, Role.PEER)
        and dataset.owner_user_id == principal.user_id
    )


def can_see_metadata(principal: Principal, dataset: AccessFacts, now: datetime) -> bool:
    """Whether the caller may know the dataset exists and read its public metadata."""
    if principal.role in PRIVILEGED:
        return True
    state = AccessState(dataset.access_state)
    if state in SHARED_STATES:
        return True
    return state is AccessState.PRIVATE and _is_owner(principal, dataset)


def can_read_data(principal: Principal, dataset: AccessFacts, now: datetime) -> bool:
    """Whether the caller may read the data (files, subsets, plots, previews, bundles)."""
    if principal.role in PRIVILEGED:
        return True
    if not can_see_metadata(principal, dataset, now):
        return False
    state = effective_state(dataset, now)
    if state is AccessState.OPEN:
        return True
    if principal.role is Role.PEER:
        return False
    if _is_owner(principal, dataset):
        return True
    if state in NAMED_READER_STATES and dataset.public_id in principal.named_datasets:
        return True
    if state is AccessState.CAMPAIGN:
        return dataset.campaign_id in principal.campaign_ids
    return state is AccessState.PASSWORD and dataset.public_id in principal.dataset_grants


def _owner_clause(principal: Principal) -> ColumnElement[bool]:
    if principal.user_id is None or principal.role in (Role.ANONYMOUS, Role.PEER):
        return false()
    return Dataset.owner_user_id == principal.user_id


def _released(now: datetime) -> ColumnElement[bool]:
    return and_(
        Dataset.access_state.in_([s.value for s in RELEASING_STATES]),
        Dataset.release_at.is_not(None),
        Dataset.release_at <= now,
    )


def visible_filter(principal: Principal, now: datetime) -> ColumnElement[bool]:
    """SQL twin of `can_see_metadata`: the datasets the caller may know of."""
    if principal.role in PRIVILEGED:
        return true()
    return or_(
        Dataset.access_state.in_([s.value for s in SHARED_STATES]),
        and_(Dataset.access_state == AccessState.PRIVATE.value, _owner_clause(principal)),
    )


def visibility_key(principal: Principal) -> str:
    """Callers with the same key see the same datasets (`visible_filter` reads only this)."""
    if principal.role in PRIVILEGED:
        return "all"
    if principal.user_id is None or principal.role in (Role.ANONYMOUS, Role.PEER):
        return "shared"
    return f"shared+owner:{principal.user_id}"


def data_readable_filter(principal: Principal, now: datetime) -> ColumnElement[bool]:
    """SQL twin of `can_read_data`: the datasets whose data the caller may read."""
    if principal.role in PRIVILEGED:
        return true()
    opened = or_(Dataset.access_state == AccessState.OPEN.value, _released(now))
    if principal.role is Role.PEER:
        return opened
    shared_or_private = Dataset.access_state.in_(
        [s.value for s in (*SHARED_STATES, AccessState.PRIVATE)]
    )
    clauses = [opened, and_(shared_or_private, _owner_clause(principal))]
    if principal.named_datasets:
        clauses.append(
            and_(
                Dataset.access_state.in_([s.value for s in NAMED_READER_STATES]),
                Dataset.public_id.in_(sorted(principal.named_datasets)),
            )
        )
    if principal.campaign_ids:
        clauses.append(
            and_(
                Dataset.access_state == AccessState.CAMPAIGN.value,
                Dataset.campaign_id.in_(sorted(principal.campaign_ids)),
            )
        )
    if principal.dataset_grants:
        clauses.append(
            and_(
                Dataset.access_state == AccessState.PASSWORD.value,
                Dataset.public_id.in_(sorted(principal.dataset_grants)),
            )
        )
    return or_(*clauses)


def effective_state_sql(now: datetime) -> ColumnElement[str]:
    """SQL twin of `effective_state`, for the `access` filter and facet."""
    return case((_released(now), AccessState.OPEN.value), else_=Dataset.access_state)


class ProductFacts(Protocol):
    """What the policy reads of a field-catalog product (a `Product` row satisfies it)."""

    @property
    def access_state(self) -> str: ...
    @property
    def uploaded_by(self) -> int | None: ...


def can_see_product(principal: Principal, product: ProductFacts) -> bool:
    """Products (plots, images, reports) are open to all, or seen by their uploader and staff."""
    if principal.role in PRIVILEGED or product.access_state == AccessState.OPEN.value:
        return True
    return (
        principal.user_id is not None
        and principal.role not in (Role.ANONYMOUS, Role.PEER)
        and product.uploaded_by == principal.user_id
    )


def product_visible_filter(principal: Principal) -> ColumnElement[bool]:
    """SQL twin of `can_see_product`, for product lists."""
    return product_audience_filter(product_audience(principal), principal.user_id)


ProductAudience = Literal["all", "open", "open-or-own"]
"""Which products a caller sees: all (staff), the open ones, or those and their own."""


def product_audience(principal: Principal) -> ProductAudience:
    """The caller's `ProductAudience` (as `can_see_product` decides)."""
    if principal.role in PRIVILEGED:
        return "all"
    if principal.user_id is None or principal.role in (Role.ANONYMOUS, Role.PEER):
        return "open"
    return "open-or-own"


def product_audience_filter(audience: ProductAudience, user_id: Any) -> ColumnElement[bool]:
    """The products `audience` sees, `user_id` being the caller's id (or a `bindparam`
    standing for it, in a statement built once for every caller of that audience)."""
    if audience == "all":
        return true()
    if audience == "open":
        return Product.access_state == AccessState.OPEN.value
    return or_(Product.access_state == AccessState.OPEN.value, Product.uploaded_by == user_id)
