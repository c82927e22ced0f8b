"""The table of orders: a basket or a whole search result, built into a zip by the worker."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from catalog.model_base import Base

ORDER_STATES = ("queued", "running", "ready", "failed")


class Order(Base):
    """One order: what was asked (ids or a search), for whom, and how far its zip has come.

    `public_id` is the capability to follow and fetch it (128 random bits); an order made by
    a signed-in user answers to that user only (see `catalog.orders`).
    """

    __tablename__ = "orders"
    __table_args__ = (
        CheckConstraint(f"state IN {ORDER_STATES!r}", name="state"),
        Index("ix_orders_state_created", "state", "created_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    spec: Mapped[dict[str, Any]] = mapped_column(JSON)
    """`{"datasets": [...]}` or `{"search": {...SearchParams...}}`, and `format`."""
    state: Mapped[str] = mapped_column(String(16), default="queued")
    total: Mapped[int] = mapped_column(Integer, default=0)
    done: Mapped[int] = mapped_column(Integer, default=0)
    included: Mapped[int] = mapped_column(Integer, default=0)
    left_out: Mapped[list[Any]] = mapped_column(JSON, default=list)
    """`[{"dataset", "kind", "reason"}]` for every dataset not in the zip."""
    size: Mapped[int] = mapped_column(BigInteger, default=0)
    error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
