"""Tables of sign-in and access grants: web sessions, password grants, attempts, form passwords,
and PIs' claims on ownerless datasets."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from catalog.model_base import Base


class UserSession(Base):
    """A signed-in web session; the cookie holds a secret whose SHA-256 is `token_hash`."""

    __tablename__ = "user_sessions"
    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    csrf_secret: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]


class AccessGrant(Base):
    """A short-lived right, earned with a password, to read one dataset or use one form.

    The holder presents a secret (cookie or header) whose SHA-256 is `holder_hash`; one
    holder may hold grants for several targets. A password change deletes the target's grants.
    """

    __tablename__ = "access_grants"
    __table_args__ = (Index("ix_access_grants_holder_expires", "holder_hash", "expires_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    holder_hash: Mapped[str] = mapped_column(String(64))
    dataset_id: Mapped[int | None] = mapped_column(
        ForeignKey("datasets.id", ondelete="CASCADE"), index=True
    )
    form_key: Mapped[str | None] = mapped_column(String(64), index=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]


class PasswordAttempt(Base):
    """One password attempt of a client on a target, kept for the rate limit window."""

    __tablename__ = "password_attempts"
    __table_args__ = (Index("ix_password_attempts_client_target", "client", "target", "at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    client: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(100))
    at: Mapped[datetime]
    succeeded: Mapped[bool]


class FormPassword(Base):
    """The password of one status-report form (each form has its own)."""

    __tablename__ = "form_passwords"
    form_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    updated_at: Mapped[datetime]


class DatasetClaim(Base):
    """A PI's request to own an ownerless dataset; staff approve it (catalog/claims.py).

    Until approved, the PI's new versions of that dataset are refused (SUB010).
    """

    __tablename__ = "dataset_claims"
    __table_args__ = (UniqueConstraint("dataset_id", "user_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    dataset_id: Mapped[int] = mapped_column(
        ForeignKey("datasets.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    reason: Mapped[str] = mapped_column(Text)
    requested_at: Mapped[datetime]
    approved_at: Mapped[datetime | None]
    approved_by: Mapped[str | None] = mapped_column(String(100))


__all__ = ["AccessGrant", "DatasetClaim", "FormPassword", "PasswordAttempt", "UserSession"]
