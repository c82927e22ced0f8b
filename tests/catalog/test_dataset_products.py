"""A dataset page lists the products of its platform on the days it covers, as the caller may
see them; a product's short source code names its platform."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog.models import Campaign, Product
from catalog.schemas import Principal, Role
from catalog.submission_records import products_of_dataset, source_is_platform

ANONYMOUS = Principal(role=Role.ANONYMOUS)


@pytest.mark.parametrize(
    ("source", "platform", "same"),
    [
        ("c130", "NCAR C-130", True),
        ("C130", "C130", True),
        ("rhb", "Ronald H. Brown", True),
        ("sk", "Sagar Kanya", True),
        ("kco", "KCO", True),
        ("citation", "Cessna Citation II", True),
        ("sk", "Ronald H. Brown", False),
        ("p3", "NCAR C-130", False),
        ("c1", "NCAR C-130", False),
        ("", "KCO", False),
    ],
)
def test_a_source_code_names_its_platform(source: str, platform: str, same: bool) -> None:
    assert source_is_platform(source, platform) is same


def _product(db: Session, source: str, when: datetime, state: str = "open") -> Product:
    campaign = db.scalars(select(Campaign)).first()
    assert campaign is not None
    product = Product(
        campaign_id=campaign.id,
        center_code="JOSS",
        filename=f"{source}.{when:%y%m%d%H%M}.track.{state}.png",
        source=source,
        product_time=when,
        product_name="track",
        ext="png",
        sha256="0" * 64,
        size=1,
        access_state=state,
        created_at=when,
    )
    db.add(product)
    db.flush()
    return product


def test_products_of_the_platform_on_the_dataset_days(db: Session) -> None:
    start = datetime(1999, 3, 10, 22, 0, tzinfo=UTC)
    stop = datetime(1999, 3, 11, 4, 0, tzinfo=UTC)
    same_day_early = _product(db, "c130", datetime(1999, 3, 10, 1, 0, tzinfo=UTC))
    next_day = _product(db, "c130", datetime(1999, 3, 11, 23, 0, tzinfo=UTC))
    _product(db, "c130", datetime(1999, 3, 12, 0, 30, tzinfo=UTC))  # a day later
    _product(db, "rhb", datetime(1999, 3, 10, 12, 0, tzinfo=UTC))  # another platform
    _product(db, "c130", datetime(1999, 3, 10, 12, 0, tzinfo=UTC), state="private")
    found = products_of_dataset(db, ANONYMOUS, "NCAR C-130", start, stop)
    assert [p.id for p in found] == [same_day_early.id, next_day.id]
    staff = Principal(role=Role.STAFF, user_id=1)
    assert len(products_of_dataset(db, staff, "NCAR C-130", start, stop)) == 3
    assert products_of_dataset(db, ANONYMOUS, "", start, stop) == []
    assert products_of_dataset(db, ANONYMOUS, "NCAR C-130", None, None) == []
