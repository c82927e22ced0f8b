"""Tables of shared access: named readers, access requests, sessions of users vouched for by a
peer center, followers of a dataset, and the releases already announced.

A person is named by `(center, username)`: `center` is the code of the center that vouches for
them (this center's own code for a local user), so a local and a vouched user never collide.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from catalog.model_base import Base

__all__ = ["DataRequest", "DatasetFollower", "DatasetReader", "ReleaseNotice", "VouchedSession"]


class DatasetReader(Base):
    """A named reader of a restricted dataset, until `expires_at` (None: until removed)."""

    __tablename__ = "dataset_readers"
    __table_args__ = (
        UniqueConstraint("dataset_id", "center", "username", name="uq_dataset_readers_person"),
        Index("ix_dataset_readers_person", "center", "username", "expires_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"))
    center: Mapped[str] = mapped_column(String(16))
    username: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime | None]
    added_by: Mapped[str] = mapped_column(String(100))
    added_at: Mapped[datetime]


class DataRequest(Base):
    """A signed-in user's request to read a restricted dataset, and its answer."""

    __tablename__ = "access_requests"
    __table_args__ = (Index("ix_access_requests_dataset_status", "dataset_id", "status"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"))
    center: Mapped[str] = mapped_column(String(16))
    username: Mapped[str] = mapped_column(String(64))
    email: Mapped[str] = mapped_column(String(320), default="")
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    """pending, approved or declined."""
    requested_at: Mapped[datetime]
    decided_at: Mapped[datetime | None]
    decided_by: Mapped[str | None] = mapped_column(String(100))
    expires_at: Mapped[datetime | None]
    """For an approval: when the named-reader entry it made ends."""
    note: Mapped[str] = mapped_column(Text, default="")


class VouchedSession(Base):
    """A session of a user whose home center vouched for them with a signed assertion.

    The bearer token's SHA-256 is `token_hash`; it lives no longer than the assertion allowed.
    """

    __tablename__ = "vouched_sessions"
    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    center: Mapped[str] = mapped_column(String(16), index=True)
    username: Mapped[str] = mapped_column(String(64))
    display_name: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str] = mapped_column(String(320), default="")
    campaign_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    """The local ids of the campaigns vouched for (resolved once, at the exchange)."""
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]


class DatasetFollower(Base):
    """A user told when the dataset opens (`center`, `username` as in `DatasetReader`)."""

    __tablename__ = "dataset_followers"
    __table_args__ = (
        UniqueConstraint("dataset_id", "center", "username", name="uq_dataset_followers_person"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"))
    center: Mapped[str] = mapped_column(String(16))
    username: Mapped[str] = mapped_column(String(64))
    email: Mapped[str] = mapped_column(String(320), default="")
    since: Mapped[datetime]


class ReleaseNotice(Base):
    """A release already announced (change log, followers, members): once per release instant."""

    __tablename__ = "release_notices"
    __table_args__ = (UniqueConstraint("dataset_id", "release_at", "kind"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"))
    release_at: Mapped[datetime]
    kind: Mapped[str] = mapped_column(String(16))
    """`reminder` (to the owner, before) or `released`."""
    sent_at: Mapped[datetime]
