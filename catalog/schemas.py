"""Pydantic input/output schemas of the catalog (what routes accept and return)."""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, create_model, field_validator, model_validator

from catalog.dataset_fields import DatasetField, detail_fields, summary_fields
from catalog.sorting import SortKey


class Role(enum.StrEnum):
    """Who is asking: a role decides what the access policy allows."""

    ANONYMOUS = "anonymous"
    PI = "pi"
    STAFF = "staff"
    ADMIN = "admin"
    PEER = "peer"


class Principal(BaseModel):
    """The caller of a service function: a user, a peer center, or nobody."""

    model_config = ConfigDict(frozen=True)

    user_id: int | None = None
    username: str | None = None
    role: Role = Role.ANONYMOUS
    dataset_grants: frozenset[str] = frozenset()
    """Public ids of password-protected datasets this caller holds a grant for."""
    home_center: str | None = None
    """For a user vouched for by a peer center: that center's code (None: a local user)."""
    campaign_ids: frozenset[int] = frozenset()
    """The campaigns (local ids) the caller is a member of: campaign-tier data open to it."""
    named_datasets: frozenset[str] = frozenset()
    """Public ids of datasets that name the caller as a reader (entries not expired)."""

    @model_validator(mode="after")
    def _vouched_users_are_never_staff(self) -> Principal:
        if self.home_center is not None and self.role is not Role.PI:
            raise ValueError("a user vouched for by another center is a PI here, never staff")
        return self

    @classmethod
    def anonymous(cls) -> Principal:
        """The caller without credentials."""
        return cls()


FACET_NAMES: tuple[str, ...] = (
    "platform",
    "instrument",
    "pi",
    "variable",
    "center",
    "access",
    "project",
    "level",
)


def _as_utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


class SearchParams(BaseModel):
    """Search filters, sort and paging; semantic checks happen in `search_datasets`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    q: str | None = Field(None, max_length=500, description="free text; every term must match")
    start: datetime | None = Field(None, description="datasets ending at or after this instant")
    end: datetime | None = Field(None, description="datasets starting at or before this instant")
    bbox: tuple[float, float, float, float] | None = Field(
        None, description="W,S,E,N in degrees; W > E crosses the antimeridian"
    )
    platform: str | None = Field(None, max_length=200)
    instrument: str | None = Field(None, max_length=200)
    pi: str | None = Field(None, max_length=200)
    variable: str | None = Field(None, max_length=200)
    project: str | None = Field(None, max_length=200)
    center: str | None = Field(None, max_length=64)
    access: str | None = Field(None, max_length=32)
    level: str | None = Field(None, max_length=8, description="processing level: 0, 1 or 2")
    sort: SortKey | None = Field(
        None, description="default: `relevance` when `q` has words, else `-start`"
    )
    limit: int = Field(50, ge=1, le=1000)
    cursor: str | None = Field(None, max_length=2000)
    facets: bool = Field(True, description="compute facet counts and the total")

    @field_validator("start", "end")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        return _as_utc(value)


class VariableOut(BaseModel):
    """A variable (column) of a dataset with its units."""

    name: str
    original_name: str
    unit: str | None
    original_unit: str
    long_name: str = ""
    """What the file says the variable is (empty when it says nothing)."""


class VersionOut(BaseModel):
    """One archived version (an original file) of a dataset."""

    id: int
    data_version: str
    sha256: str
    size: int
    original_name: str
    source_format: str
    created_at: datetime
    is_current: bool


def _stored(name: str, base: type[BaseModel], fields: tuple[DatasetField, ...]) -> Any:
    """A model of the stored public columns `fields` (typed from the columns themselves)."""
    definitions: dict[str, Any] = {f.name: (f.annotation, ...) for f in fields}
    return create_model(name, __base__=base, **definitions)


# The stored public fields come from the one declaration, the `info=public(...)` marks on the
# columns of `models.Dataset` (see `catalog.dataset_fields`); only the derived fields are
# written out here. A type checker cannot see fields made at run time: it is shown a base
# whose unknown attributes are Any, and `tests/catalog/test_dataset_fields.py` checks that
# every declared field is in these schemas.
if TYPE_CHECKING:

    class _Columns(BaseModel):
        def __getattr__(self, name: str) -> Any: ...

    _StoredSummary = _Columns
else:
    _StoredSummary = _stored("DatasetSummaryColumns", BaseModel, summary_fields())


class DatasetSummary(_StoredSummary):
    """A dataset as a search result lists it (public metadata only)."""

    campaign: str
    bbox: tuple[float, float, float, float] | None
    """W,S,E,N; W > E when the extent crosses the antimeridian."""
    access_state: str
    """Effective state now: an embargo whose release has passed reads `open`."""
    variables: list[str]


if TYPE_CHECKING:
    _StoredDetail = DatasetSummary
else:
    _StoredDetail = _stored("DatasetDetailColumns", DatasetSummary, detail_fields())


class DatasetDetail(_StoredDetail):
    """One dataset with its variables, versions and links."""

    is_mirror: bool
    variable_details: list[VariableOut]
    versions: list[VersionOut]
    links: dict[str, str]


class FacetCount(BaseModel):
    """How many datasets of the filtered set carry one facet value."""

    value: str
    count: int


class CenterFreshness(BaseModel):
    """Which center's records this catalog holds, and how fresh its copy is."""

    center: str
    name: str
    is_local: bool
    records: int
    last_seq_applied: int | None
    last_contact: datetime | None
    last_error: str | None


class SearchPage(BaseModel):
    """One page of search results with facet counts and the next page's cursor."""

    items: list[DatasetSummary]
    facets: dict[str, list[FacetCount]]
    next_cursor: str | None
    centers: list[CenterFreshness]
    total: int | None = None
    """Size of the filtered set (None when facets were not asked for)."""
