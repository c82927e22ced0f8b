"""Tables of the analysis center (CIDS): navigation declarations and merges, merged products.

See `catalog.navigation` and docs/cids.md.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from catalog.model_base import Base

MERGE_STATES = ("merged", "waiting")


class NavigationRule(Base):
    """ "Platform P's navigation is dataset D" or "... is any dataset of instrument kind N".

    Exactly one of `dataset_id` and `instrument_key` is set.
    """

    __tablename__ = "navigation_rules"
    id: Mapped[int] = mapped_column(primary_key=True)
    platform_key: Mapped[str] = mapped_column(String(200), index=True)
    dataset_id: Mapped[int | None] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"))
    instrument_key: Mapped[str | None] = mapped_column(String(200))
    declared_by: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime]


class NavigationMerge(Base):
    """The positions a mobile dataset's current version got from a navigation dataset.

    `status` is `merged` (positions in the file at `positions_path`) or `waiting` (`reason`
    says why). `extent_public` says whether the merged box was written to the dataset's
    public extent (only when the navigation's data are open: see docs/cids.md).
    """

    __tablename__ = "navigation_merges"
    dataset_id: Mapped[int] = mapped_column(
        ForeignKey("datasets.id", ondelete="CASCADE"), primary_key=True
    )
    version_id: Mapped[int] = mapped_column(ForeignKey("dataset_versions.id", ondelete="CASCADE"))
    nav_dataset_id: Mapped[int | None] = mapped_column(
        ForeignKey("datasets.id", ondelete="SET NULL")
    )
    nav_version_id: Mapped[int | None] = mapped_column(Integer)
    nav_data_version: Mapped[str] = mapped_column(String(64), default="")
    method: Mapped[str] = mapped_column(String(100), default="")
    max_gap_s: Mapped[float] = mapped_column(Float, default=0.0)
    status: Mapped[str] = mapped_column(String(16), default="waiting")
    reason: Mapped[str] = mapped_column(Text, default="")
    rows: Mapped[int] = mapped_column(Integer, default=0)
    positioned: Mapped[int] = mapped_column(Integer, default=0)
    positions_path: Mapped[str] = mapped_column(String(1000), default="")
    extent_public: Mapped[bool] = mapped_column(default=False)
    updated_at: Mapped[datetime]


class MergeDefinition(Base):
    """A merged product: variables of a platform's datasets on one time base over a period.

    `time_base` is a step in seconds (`1`, `10`, `60`) or `dataset:<public id>` (that
    dataset's own times). `variables` is a list of `{"dataset": public id, "variable": name}`.
    The worker builds it as the dataset `dataset_id` (DID `MERGE_DID_BASE + id`) and builds
    it again, one DATA VERSION up, when an input's current version changes (`inputs` holds
    the versions it was built from). See `catalog.merges`.
    """

    __tablename__ = "merge_definitions"
    id: Mapped[int] = mapped_column(primary_key=True)
    platform: Mapped[str] = mapped_column(String(200))
    start: Mapped[datetime]
    stop: Mapped[datetime]
    time_base: Mapped[str] = mapped_column(String(64))
    variables: Mapped[list[dict[str, str]]] = mapped_column(JSON)
    rule: Mapped[str] = mapped_column(String(16))
    window_s: Mapped[float] = mapped_column(Float)
    created_by: Mapped[str] = mapped_column(String(100), default="")
    owner_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16), default="pending")
    reason: Mapped[str] = mapped_column(Text, default="")
    dataset_id: Mapped[int | None] = mapped_column(ForeignKey("datasets.id", ondelete="SET NULL"))
    inputs: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    builds: Mapped[int] = mapped_column(Integer, default=0)
    built_at: Mapped[datetime | None]
