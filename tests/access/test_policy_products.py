"""The product policy: per-object decision and SQL filter agree for every state and caller."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog.access import can_see_product, product_visible_filter
from catalog.models import Campaign, Product
from catalog.schemas import Principal, Role
from tests.catalog.conftest import NOW, db, engine  # noqa: F401

CALLERS = [
    Principal.anonymous(),
    Principal(user_id=1, username="owner", role=Role.PI),
    Principal(user_id=2, username="other", role=Role.PI),
    Principal(user_id=3, username="staff", role=Role.STAFF),
    Principal(username="NPL", role=Role.PEER),
]


def test_products_filter_agrees_with_the_decision(db: Session) -> None:  # noqa: F811
    campaign_id = db.scalars(select(Campaign.id)).one()
    made = []
    for i, (state, uploader) in enumerate(
        [("open", None), ("open", 1), ("private", 1), ("private", None), ("embargoed", 2)]
    ):
        product = Product(
            campaign_id=campaign_id, center_code="JOSS", filename=f"p{i}", source="s",
            product_time=NOW, product_name="n", ext="png", sha256="0" * 64, size=1,
            access_state=state, uploaded_by=uploader, created_at=NOW,
        )  # fmt: skip
        db.add(product)
        made.append(product)
    db.flush()
    for caller in CALLERS:
        expected = {p.filename for p in made if can_see_product(caller, p)}
        query = select(Product.filename).where(product_visible_filter(caller))
        assert set(db.scalars(query)) == expected, caller
    assert {p.filename for p in made if can_see_product(CALLERS[0], p)} == {"p0", "p1"}
    assert {p.filename for p in made if can_see_product(CALLERS[1], p)} == {"p0", "p1", "p2"}
    db.rollback()
