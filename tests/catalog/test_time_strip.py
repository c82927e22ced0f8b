"""The time-coverage strip counts what the caller may see over the whole period, and its
cached counts equal a naive count (per caller, gone with any change)."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from catalog.access import can_see_metadata
from catalog.changes import append_change
from catalog.facet_cache import FacetCache, cache_for
from catalog.models import Dataset
from catalog.schemas import Principal, Role, SearchParams
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


@pytest.fixture
def cache(engine: Engine) -> Iterator[FacetCache]:
    """The engine's count cache, emptied, keeping even the smallest results."""
    cache = cache_for(engine)
    cache.clear()
    cache.min_total, saved = 0, cache.min_total
    yield cache
    cache.min_total = saved
    cache.clear()


def naive_strip(db: Session, principal: Principal, platform: str | None, bins: int) -> list[int]:
    """The strip counted in Python from every row: what `principal` may see, by platform."""
    rows = [
        d
        for d in db.scalars(select(Dataset))
        if can_see_metadata(principal, d, NOW) and platform in (None, d.platform)
    ]
    if not rows:
        return []
    first = min(_utc(d.start) for d in rows)
    last = max(_utc(d.stop) for d in rows)
    width = max((last - first).total_seconds() / bins, 3600.0)
    counts = [0] * bins
    for d in rows:
        counts[min(int((_utc(d.start) - first).total_seconds() // width), bins - 1)] += 1
    return counts


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


ANON = Principal.anonymous()
OWNER = Principal(user_id=1, role=Role.PI)
STAFF = Principal(user_id=3, role=Role.STAFF)


def test_cached_strip_equals_a_naive_count_per_caller(db: Session, cache: FacetCache) -> None:
    rng = random.Random(15)
    first = datetime(1999, 1, 1, tzinfo=UTC)
    states = ("open", "open", "embargoed", "private", "withdrawn")
    for _ in range(60):
        start = first + timedelta(hours=rng.randrange(0, 24 * 80))
        make_dataset(
            db,
            start=start,
            stop=start + timedelta(hours=rng.randrange(1, 30)),
            platform=rng.choice(("NCAR C-130", "Ron Brown")),
            access_state=rng.choice(states),
            owner_user_id=rng.choice((1, 2, None)),
            release_at=NOW + timedelta(days=30),
        )
    db.commit()
    window = {"start": first + timedelta(days=3), "end": first + timedelta(days=4)}
    for principal in (ANON, OWNER, STAFF):
        for platform in (None, "NCAR C-130"):
            for _ in range(2):  # the second time from the cache, under the caller's own key
                for params in (
                    SearchParams(platform=platform),
                    SearchParams(platform=platform, **window),
                ):
                    strip = time_strip(db, params, principal, NOW, bins=12)
                    assert [b.count for b in strip] == naive_strip(db, principal, platform, 12)
    assert cache._entries  # the strips were kept


def test_cached_strip_follows_the_change_log(db: Session, cache: FacetCache) -> None:
    a = make_dataset(db)
    append_change(db, a, "upsert", NOW)
    db.commit()
    assert sum(b.count for b in time_strip(db, SearchParams(), ANON, NOW)) == 1
    assert sum(b.count for b in time_strip(db, SearchParams(), ANON, NOW)) == 1  # cached
    a.access_state = "withdrawn"
    append_change(db, a, "tombstone", NOW)
    db.commit()
    assert time_strip(db, SearchParams(), ANON, NOW) == []
    assert sum(b.count for b in time_strip(db, SearchParams(), STAFF, NOW)) == 1
