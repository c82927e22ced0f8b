"""Pydantic input/output schemas of the catalog (what routes accept and return)."""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator


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

    @classmethod
    def anonymous(cls) -> Principal:
        """The caller without credentials."""
        return cls()


SortKey = Literal["-start", "start", "title", "pi", "platform", "updated"]
SORT_KEYS: tuple[str, ...] = ("-start", "start", "title", "pi", "platform", "updated")
FACET_NAMES: tuple[str, ...] = (
    "platform",
    "instrument",
    "pi",
    "variable",
    "center",
    "access",
    "project",
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
    sort: SortKey = "-start"
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


class DatasetSummary(BaseModel):
    """A dataset as a search result lists it (public metadata only)."""

    public_id: str
    did: str | None
    campaign: str
    title: str
    pi_name: str
    platform: str
    instrument: str
    location: str
    project: str | None
    category: str
    start: datetime
    stop: datetime
    bbox: tuple[float, float, float, float] | None
    """W,S,E,N; W > E when the extent crosses the antimeridian."""
    data_version: str
    access_state: str
    """Effective state now: an embargo whose release has passed reads `open`."""
    release_at: datetime | None
    origin_center: str
    updated: datetime
    variables: list[str]


class DatasetDetail(DatasetSummary):
    """One dataset with its variables, versions and links."""

    summary: str
    feature_type: str | None
    min_altitude: float | None
    max_altitude: float | None
    origin_version: int
    is_mirror: bool
    created: datetime
    withdrawn_at: datetime | None
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
