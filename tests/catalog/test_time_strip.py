"""The time-coverage strip counts what the caller may see over the whole period."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from catalog.schemas import Principal, SearchParams
from catalog.time_strip import time_strip
from tests.catalog.conftest import NOW
from tests.catalog.factories import make_dataset


def test_strip_counts_starts_per_slice_without_the_time_filter(db: Session) -> None:
    first = datetime(1999, 2, 1, tzinfo=UTC)
    for day in (0, 0, 1, 9):
        make_dataset(
            db, start=first + timedelta(days=day), stop=first + timedelta(days=day, hours=6)
        )
    make_dataset(db, start=first + timedelta(days=5), access_state="private")  # not for anonymous
    db.commit()
    anon = Principal.anonymous()
    window = SearchParams(start=first + timedelta(days=9), end=first + timedelta(days=10))
    strip = time_strip(db, window, anon, NOW, bins=10)
    assert len(strip) == 10
    assert strip[0].start == first and strip[-1].end >= first + timedelta(days=9, hours=6)
    assert sum(b.count for b in strip) == 4  # the window does not narrow the strip
    # 10 slices of 22.2 h from day 0 to day 9 + 6 h: two start in the first, one in the second
    assert [b.count for b in strip[:2]] == [2, 1]
    assert strip[-1].count == 1
    staff_view = time_strip(db, SearchParams(), Principal(user_id=1, role="staff"), NOW)
    assert sum(b.count for b in staff_view) == 5
    assert time_strip(db, SearchParams(q="nothingmatches"), anon, NOW) == []
