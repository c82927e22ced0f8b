"""The registry of measuring systems of a campaign (each with its own status form)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from catalog.model_base import Base

__all__ = ["MeasuringSystem"]


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
