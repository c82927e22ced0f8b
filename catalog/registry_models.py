"""Tables of the instrument registry, QC and processing levels (issue #18).

Platforms and stations are one table (`kind`), each with a position; instruments have
components (serial numbers), calibrations and deployments (an instrument on a platform or
at a station, from-to). A dataset is linked to the deployment in force for it by
`dataset_deployments`; the free-text `platform`/`instrument` columns of `datasets` stay.
QC configurations are versioned per instrument and variable; a version's QC result keeps
counts and flagged stretches here and the per-value flags in one compressed file under the
derived storage (`catalog/qc_store.py`); overrides of flags are rows, audited.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from catalog.model_base import Base, new_public_id

PLACE_KINDS = ("platform", "station")
POSITION_BOUNDS = {"latitude": (-90.0, 90.0), "longitude": (-180.0, 360.0),
                   "altitude": (-12000.0, 100000.0)}  # fmt: skip
"""A place's position, each coordinate's lowest and highest value (the API and the form)."""
QC_TESTS = ("gross_range", "climatology", "spike", "rate_of_change", "flat_line", "gap")


class Place(Base):
    """A platform (aircraft, ship) or a fixed station, with its position.

    Like an instrument, a registry record of its own in the change log: `center_code` is
    its origin (this center, or the peer it is mirrored from), `origin_version` only the
    origin raises. A name is unique among one center's places of a kind (checked when
    registering), not across centers: each center's entry is its own record.
    """

    __tablename__ = "places"
    __table_args__ = (
        Index("ix_places_kind_key", "kind", "key"),
        CheckConstraint(f"kind IN {PLACE_KINDS!r}", name="kind"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True, default=new_public_id)
    """The place's id across the federation (its change-log key)."""
    center_code: Mapped[str] = mapped_column(String(16))
    origin_version: Mapped[int] = mapped_column(Integer, default=1)
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(200))
    key: Mapped[str] = mapped_column(String(200))
    """The case-folded name: what a dataset's free-text platform is matched against."""
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    altitude: Mapped[float | None] = mapped_column(Float)
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime]


class Instrument(Base):
    """An instrument, as the registry names it; with its components, calibrations,
    deployments and QC configurations one record of the change log (see `Place`)."""

    __tablename__ = "instruments"
    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True, default=new_public_id)
    """The instrument's id across the federation (its change-log key)."""
    center_code: Mapped[str] = mapped_column(String(16))
    origin_version: Mapped[int] = mapped_column(Integer, default=1)
    name: Mapped[str] = mapped_column(String(200))
    key: Mapped[str] = mapped_column(String(200), index=True)
    kind: Mapped[str] = mapped_column(String(100), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime]


class InstrumentComponent(Base):
    """A component of an instrument with its serial number."""

    __tablename__ = "instrument_components"
    id: Mapped[int] = mapped_column(primary_key=True)
    instrument_id: Mapped[int] = mapped_column(
        ForeignKey("instruments.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    serial: Mapped[str] = mapped_column(String(100), default="")


class Calibration(Base):
    """A calibration: its parameters, validity period and certificate (by SHA-256; the file
    is archived by `catalog.certificates`). `origin_ref` is a mirrored calibration's id at its
    origin (where its certificate is fetched)."""

    __tablename__ = "calibrations"
    id: Mapped[int] = mapped_column(primary_key=True)
    instrument_id: Mapped[int] = mapped_column(
        ForeignKey("instruments.id", ondelete="CASCADE"), index=True
    )
    valid_from: Mapped[datetime]
    valid_to: Mapped[datetime | None]
    parameters: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    certificate_name: Mapped[str] = mapped_column(String(255), default="")
    certificate_sha256: Mapped[str | None] = mapped_column(String(64))
    origin_ref: Mapped[int | None] = mapped_column(Integer)


class Deployment(Base):
    """An instrument on a platform or at a station, from `start` to `stop` (open: ongoing)."""

    __tablename__ = "deployments"
    id: Mapped[int] = mapped_column(primary_key=True)
    instrument_id: Mapped[int] = mapped_column(
        ForeignKey("instruments.id", ondelete="CASCADE"), index=True
    )
    place_id: Mapped[int] = mapped_column(ForeignKey("places.id", ondelete="CASCADE"), index=True)
    start: Mapped[datetime]
    stop: Mapped[datetime | None]


class DatasetDeployment(Base):
    """The deployment a dataset came from: chosen automatically or by staff or its PI."""

    __tablename__ = "dataset_deployments"
    dataset_id: Mapped[int] = mapped_column(
        ForeignKey("datasets.id", ondelete="CASCADE"), primary_key=True
    )
    deployment_id: Mapped[int] = mapped_column(ForeignKey("deployments.id", ondelete="CASCADE"))
    chosen_by: Mapped[str] = mapped_column(String(100), default="auto")


class QcConfig(Base):
    """One version of the QC tests of an instrument's variable (ioos_qc QARTOD arguments)."""

    __tablename__ = "qc_configs"
    __table_args__ = (UniqueConstraint("instrument_id", "variable_key", "version"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    instrument_id: Mapped[int] = mapped_column(ForeignKey("instruments.id", ondelete="CASCADE"))
    variable_key: Mapped[str] = mapped_column(String(200))
    version: Mapped[int] = mapped_column(Integer)
    tests: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(100), default="")


class QcResult(Base):
    """QC of one variable of one dataset version: counts and flagged stretches; the per-value
    flags are in the file `path` (relative to the storage root)."""

    __tablename__ = "qc_results"
    __table_args__ = (UniqueConstraint("version_id", "variable"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(
        ForeignKey("dataset_versions.id", ondelete="CASCADE"), index=True
    )
    variable: Mapped[str] = mapped_column(String(200))
    config_id: Mapped[int | None] = mapped_column(ForeignKey("qc_configs.id", ondelete="SET NULL"))
    counts: Mapped[dict[str, Any]] = mapped_column(JSON)
    """{test: {flag: count}} and "aggregate"."""
    stretches: Mapped[list[Any]] = mapped_column(JSON)
    """[[first row, last row, flag], ...] of the aggregate flags 3, 4 and 9, capped."""
    path: Mapped[str] = mapped_column(String(1000))
    created_at: Mapped[datetime]


class QcOverride(Base):
    """A PI's or staff's override of the aggregate flag of rows `first`..`last`."""

    __tablename__ = "qc_overrides"
    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(
        ForeignKey("dataset_versions.id", ondelete="CASCADE"), index=True
    )
    variable: Mapped[str] = mapped_column(String(200))
    first: Mapped[int] = mapped_column(Integer)
    last: Mapped[int] = mapped_column(Integer)
    flag: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(100))
    at: Mapped[datetime]


__all__ = [
    "Calibration",
    "DatasetDeployment",
    "Deployment",
    "Instrument",
    "InstrumentComponent",
    "Place",
    "QcConfig",
    "QcOverride",
    "QcResult",
]
