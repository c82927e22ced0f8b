"""The registry of measuring systems of a campaign (each with its own status form)."""

from __future__ import annotations

import secrets
from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from catalog.model_base import Base

__all__ = ["ExpectedDelivery", "MeasuringSystem"]


def new_public_id() -> str:
    """A random URL-safe id (as `catalog.models.new_public_id`; models imports this module)."""
    return secrets.token_urlsafe(12)


class MeasuringSystem(Base):
    """A measuring system (an instrument on a platform) whose operators file status reports.

    Its status form has its own password (`catalog.grants`, form key `report:status:<code>`).
    """

    __tablename__ = "measuring_systems"
    __table_args__ = (UniqueConstraint("campaign_id", "code", name="uq_measuring_systems_code"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"))
    code: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(200), default="")
    platform: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime]


class ExpectedDelivery(Base):
    """A dataset a PI is expected to deliver (the questionnaire), and when it is due.

    Made by staff at a center (its origin) and mirrored like reports, so the project office
    sees every center's list; `catalog.expected` tells received, late or waiting.
    """

    __tablename__ = "expected_deliveries"
    __table_args__ = (Index("ix_expected_deliveries_pi", "pi_key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True, default=new_public_id)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"))
    center_code: Mapped[str] = mapped_column(ForeignKey("centers.code"))
    """The origin center (where staff recorded it)."""
    origin_version: Mapped[int] = mapped_column(Integer, default=1)
    pi_name: Mapped[str] = mapped_column(String(200))
    pi_key: Mapped[str] = mapped_column(String(200))
    did: Mapped[str | None] = mapped_column(String(64))
    platform: Mapped[str] = mapped_column(String(200), default="")
    instrument: Mapped[str] = mapped_column(String(200), default="")
    category: Mapped[str] = mapped_column(String(16), default="research")
    description: Mapped[str] = mapped_column(Text, default="")
    due: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime]
