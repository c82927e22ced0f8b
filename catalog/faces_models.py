"""Tables of the standard faces: saved searches (and what each has told), DOIs per version."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from catalog.model_base import Base


class SavedSearch(Base):
    """A signed-in user's search, checked by the worker; each new match is told once."""

    __tablename__ = "saved_searches"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    query: Mapped[dict[str, Any]] = mapped_column(JSON)
    """The search's filters as the API's query string (`web.search_query.search_query`)."""
    follow_embargoes: Mapped[bool] = mapped_column(default=True)
    """Also tell when a matching dataset's embargo is lifted (its data become readable)."""
    webhook_url: Mapped[str] = mapped_column(String(1000), default="")
    """When set, notices are POSTed here (signed) instead of e-mailed to the user."""
    webhook_secret: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime]
    checked_at: Mapped[datetime | None]


class SavedSearchNotice(Base):
    """One thing a saved search told (or is telling): a new match or a lifted embargo."""

    __tablename__ = "saved_search_notices"
    __table_args__ = (UniqueConstraint("saved_search_id", "dataset_public_id", "event"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    saved_search_id: Mapped[int] = mapped_column(
        ForeignKey("saved_searches.id", ondelete="CASCADE")
    )
    dataset_public_id: Mapped[str] = mapped_column(String(32))
    event: Mapped[str] = mapped_column(String(16))
    """`new` (the dataset began to match) or `released` (its data became readable)."""
    created_at: Mapped[datetime]
    delivered_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")


class DatasetDoi(Base):
    """The DOI of one version of a dataset (or of the dataset as a whole: `version_id` None)."""

    __tablename__ = "dataset_dois"
    __table_args__ = (UniqueConstraint("dataset_id", "version_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"))
    version_id: Mapped[int | None] = mapped_column(
        ForeignKey("dataset_versions.id", ondelete="CASCADE")
    )
    doi: Mapped[str] = mapped_column(String(255), unique=True)
    state: Mapped[str] = mapped_column(String(16), default="draft")
    """`draft`, `registered` or `findable`, as DataCite says."""
    minted_at: Mapped[datetime]
    updated_at: Mapped[datetime]
