"""SQLAlchemy 2.0 typed mappings of the catalog (the migrations create the same schema)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from functools import partial
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import TSVECTOR
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

# The other table modules map onto the same base; importing them here puts every table on
# `Base.metadata` for whoever imports the models (migrations, `create_all` in tests).
from catalog import (  # noqa: F401
    access_models,
    auth_models,
    cids_models,
    faces_models,
    facet_models,
    federation_models,
    intake_models,
    job_models,
    notice_models,
    order_models,
    receiver_models,
    registry_models,
    submission_models,
    summary_models,
)
from catalog.access_states import AccessState
from catalog.fulltext import document
from catalog.model_base import (  # noqa: F401 - exists_on, new_public_id: re-exported
    Base,
    exists_on,
    new_public_id,
    public,
)

ACCESS_STATES = tuple(state.value for state in AccessState)
ROLES = ("anonymous", "pi", "staff", "admin", "peer")


def fold(value: str | None) -> str | None:
    """The case-folded, trimmed form that exact case-insensitive filters compare."""
    return None if value is None else value.strip().lower()


class Center(Base):
    """An archive center: this one (`is_local`) or a peer whose records are mirrored."""

    __tablename__ = "centers"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    base_url: Mapped[str] = mapped_column(String(500), default="")
    is_local: Mapped[bool] = mapped_column(Boolean, default=False)
    shared_records: Mapped[int] = mapped_column(Integer, default=0)
    """How many of its datasets are shared here (kept by the change log, see `changes`)."""


class Campaign(Base):
    """A field campaign: its period and the default release delays of its data."""

    __tablename__ = "campaigns"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    start: Mapped[date | None] = mapped_column(Date)
    end: Mapped[date | None] = mapped_column(Date)
    intensive_end: Mapped[date | None] = mapped_column(Date)
    research_release_months: Mapped[int] = mapped_column(Integer, default=12)
    operational_release_months: Mapped[int] = mapped_column(Integer, default=6)
    default_state: Mapped[str] = mapped_column(String(16), default="embargoed")
    """`embargoed` (owner only) or `campaign` (every PI of it): a new dataset's default stage
    until the default release."""


class User(Base):
    """A person who signs in: a PI, center staff or an admin."""

    __tablename__ = "users"
    __table_args__ = (CheckConstraint(f"role IN {ROLES!r}", name="role"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str] = mapped_column(String(320), default="")
    """Where the center's notices to this user go (empty: none are sent)."""
    role: Mapped[str] = mapped_column(String(16), default="pi")
    password_hash: Mapped[str | None] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]


class ApiToken(Base):
    """A bearer token of a user, stored only as its SHA-256."""

    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100), default="")
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)


class Dataset(Base):
    """One dataset (a DID of a campaign at its origin center) and its public metadata."""

    __tablename__ = "datasets"
    __table_args__ = (
        UniqueConstraint("campaign_id", "did", "origin_center", name="uq_datasets_key"),
        CheckConstraint(f"access_state IN {ACCESS_STATES!r}", name="access_state"),
        Index("ix_datasets_start_pid", "start", "public_id"),
        Index("ix_datasets_stop", "stop"),
        Index("ix_datasets_updated_pid", "updated", "public_id"),
        Index("ix_datasets_title_pid", "title", "public_id"),
        Index("ix_datasets_platform_start", "platform_key", "start", "public_id"),
        Index("ix_datasets_platform_pid", "platform_key", "public_id"),
        Index("ix_datasets_instrument_start", "instrument_key", "start", "public_id"),
        Index("ix_datasets_pi_start", "pi_key", "start", "public_id"),
        Index("ix_datasets_pi_pid", "pi_key", "public_id"),
        Index("ix_datasets_project_start", "project_key", "start", "public_id"),
        Index("ix_datasets_center_state", "origin_center", "access_state"),
        Index("ix_datasets_state_release", "access_state", "release_at"),
        # Box indexes only where the planner has histograms to tell a selective box from a
        # band holding most rows; SQLite (no STAT4) took them for 60%-of-table ranges.
        Index("ix_datasets_lat", "south", "north").ddl_if(dialect="postgresql"),
        Index("ix_datasets_lon", "west", "east").ddl_if(dialect="postgresql"),
        Index("ix_datasets_duration", "duration_s"),
        # Free text on PostgreSQL (SQLite: the FTS5 table `datasets_fts`, made by 0008).
        Index("ix_datasets_fts", "search_vector", postgresql_using="gin").ddl_if(
            dialect="postgresql"
        ),
        Index(
            "ix_datasets_trgm",
            "search_text",
            postgresql_using="gin",
            postgresql_ops={"search_text": "gin_trgm_ops"},
        ).ddl_if(dialect="postgresql"),
        Index("ix_datasets_owner", "owner_user_id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    # The public columns carry `info=public(...)`: the change-log payload, a mirror's rows, the
    # views and the response schemas are derived from these marks (`catalog.dataset_fields`).
    public_id: Mapped[str] = mapped_column(
        String(32), unique=True, default=new_public_id, info=public()
    )
    did: Mapped[str | None] = mapped_column(String(64), info=public())
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"))
    pi_name: Mapped[str] = mapped_column(String(200), default="", info=public())
    pi_key: Mapped[str] = mapped_column(String(200), default="")
    platform: Mapped[str] = mapped_column(String(200), default="", info=public())
    platform_key: Mapped[str] = mapped_column(String(200), default="")
    instrument: Mapped[str] = mapped_column(String(200), default="", info=public())
    instrument_key: Mapped[str] = mapped_column(String(200), default="")
    location: Mapped[str] = mapped_column(String(200), default="", info=public())
    project: Mapped[str | None] = mapped_column(String(200), info=public())
    project_key: Mapped[str | None] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(16), default="research", info=public())
    start: Mapped[datetime] = mapped_column(info=public())
    stop: Mapped[datetime] = mapped_column(info=public())
    duration_s: Mapped[float] = mapped_column(Float, default=0.0)
    """stop - start in seconds; bounds time-overlap scans (see `search`)."""
    south: Mapped[float | None] = mapped_column(Float, info=public(view=None))
    north: Mapped[float | None] = mapped_column(Float, info=public(view=None))
    west: Mapped[float | None] = mapped_column(Float, info=public(view=None))
    east: Mapped[float | None] = mapped_column(Float, info=public(view=None))
    min_altitude: Mapped[float | None] = mapped_column(Float, info=public(view="detail"))
    max_altitude: Mapped[float | None] = mapped_column(Float, info=public(view="detail"))
    feature_type: Mapped[str | None] = mapped_column(String(32), info=public(view="detail"))
    data_version: Mapped[str] = mapped_column(String(64), default="", info=public())
    level: Mapped[int] = mapped_column(Integer, default=0, server_default="0", info=public())
    """The processing level of the current version (0 as submitted, 1 QC'd, 2 final)."""
    level_access: Mapped[dict[str, Any] | None] = mapped_column(JSON, info=public(view="detail"))
    """Per-level access rules replacing the dataset's for data of that level:
    `{"<level>": {"state": "open"|"embargoed", "release_at": ISO time or null}}` (`levels`)."""
    deployment: Mapped[dict[str, Any] | None] = mapped_column(JSON, info=public(view="detail"))
    """The registry's record of the linked deployment (instrument, place and period), kept by
    `registry` when the link is made: it travels to the peers with the dataset."""
    title: Mapped[str] = mapped_column(String(500), default="", info=public())
    summary: Mapped[str] = mapped_column(Text, default="", info=public(view="detail"))
    search_text: Mapped[str] = mapped_column(Text, default="")
    """Normalised public fields, remarks and variable names, for free-text `q`
    (`catalog.fulltext`; indexed by FTS5 on SQLite, GIN on PostgreSQL)."""
    search_vector: Mapped[str | None] = mapped_column(
        Text().with_variant(TSVECTOR(), "postgresql"), nullable=True
    )
    """PostgreSQL: `search_text` as a `tsvector`, set by a trigger (migration 0008), so
    ranking and rechecks never re-parse the text. Unused (NULL) on SQLite."""
    access_state: Mapped[str] = mapped_column(
        String(16), default=AccessState.OPEN.value, info=public(view=None)
    )
    release_at: Mapped[datetime | None] = mapped_column(info=public())
    password_hash: Mapped[str | None] = mapped_column(String(255))
    withdrawn_at: Mapped[datetime | None] = mapped_column(info=public(shared=False, view="detail"))
    origin_center: Mapped[str] = mapped_column(ForeignKey("centers.code"), info=public())
    origin_version: Mapped[int] = mapped_column(Integer, default=1, info=public(view="detail"))
    listed: Mapped[bool] = mapped_column(Boolean, default=False)
    """Counted in its center's `shared_records` (kept by `changes.append_change`)."""
    owner_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created: Mapped[datetime] = mapped_column(info=public(view="detail"))
    updated: Mapped[datetime] = mapped_column(info=public())
    doi: Mapped[str] = mapped_column(
        String(255), default="", server_default="", info=public(view="detail")
    )
    """The DOI its origin minted for the dataset as a whole ("" until then); carried to the
    mirrors by the change log, so a mirrored record cites it (`catalog.doi_minting`)."""

    campaign: Mapped[Campaign] = relationship(lazy="joined", innerjoin=True)
    variables: Mapped[list[Variable]] = relationship(
        back_populates="dataset", cascade="all, delete-orphan", order_by="Variable.position"
    )
    versions: Mapped[list[DatasetVersion]] = relationship(
        back_populates="dataset", cascade="all, delete-orphan", order_by="DatasetVersion.id"
    )

    @validates("pi_name", "platform", "instrument", "project")
    def _fold_key(self, key: str, value: str | None) -> str | None:
        setattr(self, {"pi_name": "pi_key"}.get(key, f"{key}_key"), fold(value))
        return value

    @validates("start", "stop")
    def _duration(self, key: str, value: datetime) -> datetime:
        other = self.stop if key == "start" else self.start
        if other is not None and value is not None:
            start, stop = (value, other) if key == "start" else (other, value)
            self.duration_s = max(0.0, (stop - start).total_seconds())
        return value

    def refresh_search_text(self) -> None:
        """Rebuild `search_text` from the public fields; call after changing them or variables."""
        fields = {name: getattr(self, name) for name in SEARCH_FIELDS}
        self.search_text = search_text_of(fields, variable_words(self.variables))

    @property
    def current_version(self) -> DatasetVersion | None:
        """The version whose file is current, if any."""
        return next((v for v in self.versions if v.is_current), None)

    def newest_at_level(self, level: int) -> DatasetVersion | None:
        """The newest version released at `level` or above (levels only go up), if any."""
        released = [v for v in self.versions if v.level >= level]
        return max(released, key=lambda v: v.id) if released else None


SEARCH_FIELDS = (
    "title", "did", "pi_name", "platform", "instrument", "location", "project", "summary",
)  # fmt: skip


def search_text_of(fields: dict[str, Any], variable_names: list[str]) -> str:
    """The normalised document free-text search matches (public fields and remarks only)."""
    parts = [str(fields.get(name) or "") for name in SEARCH_FIELDS] + variable_names
    return document(parts)


def variable_words(variables: Iterable[Any]) -> list[str]:
    """What a dataset's variables add to its search document: each safe name, original name
    and long name once (`variables` are rows or change-log payloads)."""
    words: list[str] = []
    for variable in variables:
        get = variable.get if isinstance(variable, dict) else partial(getattr, variable)
        for key in ("name", "original_name", "long_name"):
            value = str(get(key, "") or "")
            if value and value not in words:
                words.append(value)
    return words


class Variable(Base):
    """A column of a dataset, with its safe name and canonical unit beside the originals."""

    __tablename__ = "variables"
    # Covering: the variable filter and facet read (dataset, name) pairs from the index alone.
    __table_args__ = (
        Index("ix_variables_dataset_name", "dataset_id", "name_key", "name"),
        # Suggestions walk the distinct names and probe one name's datasets (0008).
        Index("ix_variables_name_key", "name_key", "dataset_id"),
        # The variable filter matches the name key or the original name lower-cased: with
        # both indexed, the database ORs two index scans instead of reading every row (0029).
        Index("ix_variables_original_lower", text("lower(original_name)"), "dataset_id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer, default=0)
    name: Mapped[str] = mapped_column(String(200))
    name_key: Mapped[str] = mapped_column(String(200), default="")
    original_name: Mapped[str] = mapped_column(String(200), default="")
    unit: Mapped[str | None] = mapped_column(String(100))
    original_unit: Mapped[str] = mapped_column(String(100), default="")
    long_name: Mapped[str] = mapped_column(String(400), default="", server_default="")
    """What the file says the variable is (`long_name`, ICARTT's descriptor), searched (0018)."""

    dataset: Mapped[Dataset] = relationship(back_populates="variables")

    @validates("name")
    def _fold_name(self, key: str, value: str) -> str:
        self.name_key = fold(value) or ""
        return value


class DatasetVersion(Base):
    """One archived original of a dataset; exactly one per dataset is current."""

    __tablename__ = "dataset_versions"
    __table_args__ = (Index("ix_dataset_versions_dataset_current", "dataset_id", "is_current"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"))
    data_version: Mapped[str] = mapped_column(String(64), default="")
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size: Mapped[int] = mapped_column(BigInteger)
    original_name: Mapped[str] = mapped_column(String(255), default="")
    source_format: Mapped[str] = mapped_column(String(32), default="")
    created_at: Mapped[datetime]
    is_current: Mapped[bool] = mapped_column(Boolean, default=True)
    level: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    """0 as submitted, 1 QC applied and released by the PI, 2 final (`catalog/levels.py`)."""
    level_note: Mapped[str] = mapped_column(Text, default="", server_default="")
    level_released_at: Mapped[datetime | None]

    dataset: Mapped[Dataset] = relationship(back_populates="versions")
    derived_files: Mapped[list[DerivedFile]] = relationship(
        back_populates="version", cascade="all, delete-orphan"
    )


class DatasetTrack(Base):
    """The simplified path of one version of a mobile dataset, as a GeoJSON geometry.

    A track is data (it shows where the platform was, at what times): it is served under the
    same policy as the data, never in the public metadata. `source` says where the positions
    came from (`file`: the version's own LAT/LON columns; `navigation`: merged from a
    navigation dataset). See `catalog.tracks`.
    """

    __tablename__ = "dataset_tracks"
    version_id: Mapped[int] = mapped_column(
        ForeignKey("dataset_versions.id", ondelete="CASCADE"), primary_key=True
    )
    geojson: Mapped[dict[str, Any]] = mapped_column(JSON)
    points: Mapped[int] = mapped_column(Integer)
    """Positions in the simplified track (the original count is `source_points`)."""
    source_points: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(32), default="file")
    created_at: Mapped[datetime]


class DerivedFile(Base):
    """A file derived from a version (NetCDF, CSV...), kept under archive/derived."""

    __tablename__ = "derived_files"
    __table_args__ = (UniqueConstraint("version_id", "format", name="uq_derived_files_format"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("dataset_versions.id", ondelete="CASCADE"))
    format: Mapped[str] = mapped_column(String(16))
    path: Mapped[str] = mapped_column(String(1000))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime]

    version: Mapped[DatasetVersion] = relationship(back_populates="derived_files")


class Product(Base):
    """A field-catalog product (`source.YYMMDDHHmm.name.ext`): a plot, image or report file."""

    __tablename__ = "products"
    __table_args__ = (
        Index("ix_products_time", "product_time"),
        UniqueConstraint("filename", "center_code", name="uq_products_filename_center"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True, default=new_public_id)
    """The product's id across the federation (its change-log key)."""
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"))
    center_code: Mapped[str] = mapped_column(ForeignKey("centers.code"))
    """The origin center (this one for a local product, a peer for a mirrored one)."""
    origin_version: Mapped[int] = mapped_column(Integer, default=1)
    origin_ref: Mapped[int | None] = mapped_column(Integer)
    """A mirrored product's id at its origin (where its file and thumbnail redirect)."""
    filename: Mapped[str] = mapped_column(String(255))
    source: Mapped[str] = mapped_column(String(100))
    product_time: Mapped[datetime]
    product_name: Mapped[str] = mapped_column(String(200))
    ext: Mapped[str] = mapped_column(String(16))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    access_state: Mapped[str] = mapped_column(String(16), default=AccessState.OPEN.value)
    uploaded_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime]


class Report(Base):
    """A daily summary or status report of the field catalog."""

    __tablename__ = "reports"
    __table_args__ = (
        Index("ix_reports_date", "report_date"),
        Index("ix_reports_system", "system_code", "report_date"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True, default=new_public_id)
    """The report's id across the federation (its change-log key)."""
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"))
    center_code: Mapped[str] = mapped_column(ForeignKey("centers.code"))
    """The origin center (this one for a local report, a peer for a mirrored one)."""
    origin_version: Mapped[int] = mapped_column(Integer, default=1)
    kind: Mapped[str] = mapped_column(String(16), default="daily")
    report_date: Mapped[date] = mapped_column(Date)
    title: Mapped[str] = mapped_column(String(500))
    body: Mapped[str] = mapped_column(Text, default="")
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    """Structured content (`catalog.summaries`): a daily summary's operations, a status."""
    details_text: Mapped[str] = mapped_column(Text, default="")
    """The details' words, lower-cased, for search."""
    system_code: Mapped[str | None] = mapped_column(String(32))
    """The measuring system a status report is about."""
    author_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime]


class AuditEvent(Base):
    """Who changed what and why (access changes, withdrawals, user administration)."""

    __tablename__ = "audit_events"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    actor: Mapped[str] = mapped_column(String(100), default="")
    action: Mapped[str] = mapped_column(String(64))
    dataset_id: Mapped[int | None] = mapped_column(
        ForeignKey("datasets.id", ondelete="SET NULL"), index=True
    )
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    reason: Mapped[str] = mapped_column(Text, default="")


class Change(Base):
    """One entry of the change log that peers pull, numbered without gaps."""

    __tablename__ = "changes"
    __table_args__ = (CheckConstraint("kind IN ('upsert', 'tombstone')", name="kind"),)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    public_id: Mapped[str] = mapped_column(String(32), index=True)
    record_type: Mapped[str] = mapped_column(String(16), default="dataset")
    """What the entry announces: `dataset`, `product` or `report` (see `catalog.field_records`)."""
    origin_center: Mapped[str] = mapped_column(String(16))
    origin_version: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime]


class ChangeCounter(Base):
    """The single row holding the last change seq; its row lock serialises appends."""

    __tablename__ = "change_counter"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_seq: Mapped[int] = mapped_column(Integer, default=0)


class PeerState(Base):
    """How far this center has applied a peer's change log, and how the last contact went."""

    __tablename__ = "peer_states"
    peer_code: Mapped[str] = mapped_column(String(16), primary_key=True)
    last_seq_applied: Mapped[int] = mapped_column(Integer, default=0)
    last_contact: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
