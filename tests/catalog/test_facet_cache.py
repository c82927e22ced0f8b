"""Cached facet counts of filtered searches: equal to fresh ones, per visibility class, gone
with any change. (Unfiltered counts and those filtered by one value come from the facet
tallies, uncached: test_facet_tallies.)"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from catalog.access import visibility_key
from catalog.changes import append_change
from catalog.facet_cache import FacetCache, cache_for
from catalog.schemas import Principal, Role, SearchParams
from catalog.search import search_datasets
from tests.catalog.conftest import NOW
from tests.catalog.factories import make_dataset

ANON = Principal.anonymous()
STAFF = Principal(user_id=3, role=Role.STAFF)
OWNER = Principal(user_id=1, role=Role.PI)


@pytest.fixture
def cache(engine: Engine, db: Session) -> Iterator[FacetCache]:
    """The engine's cache, keeping even the smallest results."""
    cache = cache_for(engine)
    cache.min_total, saved = 0, cache.min_total
    yield cache
    cache.min_total = saved


FILTER = {"variable": "O3", "project": "INDOEX"}
"""Every dataset `make_dataset` makes matches it: a search filtered by two values, counted
over the filtered rows (one value alone is counted from the pair tallies, uncached)."""


def platforms(db: Session, principal: Principal, **params: object) -> dict[str, int]:
    params = {**FILTER, **params}
    page = search_datasets(db, SearchParams(**params), principal, NOW)
    return {f.value: f.count for f in page.facets["platform"]}


def test_cached_counts_follow_the_change_log(db: Session, cache: FacetCache) -> None:
    a = make_dataset(db, platform="Citation")
    append_change(db, a, "upsert", NOW)
    db.commit()
    assert platforms(db, ANON) == {"Citation": 1}
    assert len(cache._entries) == 1
    assert platforms(db, ANON) == {"Citation": 1}  # from the cache
    b = make_dataset(db, platform="Citation")
    append_change(db, b, "upsert", NOW)
    db.commit()
    assert platforms(db, ANON) == {"Citation": 2}
    b.access_state = "withdrawn"
    append_change(db, b, "tombstone", NOW)
    db.commit()
    assert platforms(db, ANON) == {"Citation": 1}


def test_each_visibility_class_has_its_own_counts(db: Session, cache: FacetCache) -> None:
    make_dataset(db, platform="Citation")
    make_dataset(db, platform="Hidden", access_state="private", owner_user_id=1)
    db.commit()
    assert platforms(db, ANON) == {"Citation": 1}
    assert platforms(db, STAFF) == {"Citation": 1, "Hidden": 1}
    assert platforms(db, OWNER) == {"Citation": 1, "Hidden": 1}
    assert platforms(db, Principal(user_id=2, role=Role.PI)) == {"Citation": 1}
    assert platforms(db, ANON) == {"Citation": 1}
    # the filters are part of the key, the sort and page size are not
    assert platforms(db, ANON, platform="hidden") == {}
    assert platforms(db, ANON, sort="title", limit=3) == {"Citation": 1}


def test_small_sets_are_not_kept() -> None:
    small = FacetCache(min_total=10)
    small.put(("k",), ({}, 9), 9)
    assert small.get(("k",)) is None
    small.put(("k",), ({}, 10), 10)
    assert small.get(("k",)) == ({}, 10)


def test_entries_expire_and_the_oldest_go_first() -> None:
    cache = FacetCache(max_entries=2, ttl_s=0.0, min_total=0)
    cache.put(("a",), ({}, 1), 1)
    assert cache.get(("a",)) is None  # expired at once
    cache = FacetCache(max_entries=2, ttl_s=60, min_total=0)
    for key in "abc":
        cache.put((key,), ({}, 1), 1)
    assert cache.get(("a",)) is None and cache.get(("c",)) == ({}, 1)


def test_visibility_keys() -> None:
    assert visibility_key(ANON) == visibility_key(Principal(role=Role.PEER, user_id=9)) == "shared"
    assert visibility_key(STAFF) == visibility_key(Principal(role=Role.ADMIN)) == "all"
    assert visibility_key(OWNER) != visibility_key(Principal(user_id=2, role=Role.PI))
    holder = Principal(user_id=1, role=Role.PI, dataset_grants=frozenset({"x"}))
    assert visibility_key(holder) == visibility_key(OWNER)  # grants open data, not metadata


def test_a_release_after_caching_is_seen(db: Session, cache: FacetCache) -> None:
    from datetime import timedelta

    make_dataset(db, access_state="embargoed", release_at=NOW + timedelta(hours=1))
    db.commit()
    search_datasets(db, SearchParams(**FILTER), ANON, NOW)
    assert len(cache._entries) == 1

    def access(now) -> dict[str, int]:
        page = search_datasets(db, SearchParams(**FILTER), ANON, now)
        return {f.value: f.count for f in page.facets["access"]}

    assert access(NOW + timedelta(minutes=59)) == {"embargoed": 1}
    assert access(NOW + timedelta(hours=1)) == {"open": 1}


def test_the_version_is_read_once_per_transaction(engine: Engine, db: Session) -> None:
    """The search page's facets and time strip share one read; a flush or a new transaction
    (which may see other commits) reads it again, and a later instant is its own version."""
    from datetime import timedelta

    from sqlalchemy import event

    from catalog.facet_cache import catalog_version

    statements: list[str] = []

    def count(*args: object) -> None:
        if str(args[2]).startswith("SELECT (SELECT change_counter.last_seq"):  # the version
            statements.append(str(args[2]))

    event.listen(engine, "before_cursor_execute", count)
    try:
        first = catalog_version(db, NOW)
        assert catalog_version(db, NOW) == first and len(statements) == 1
        a = make_dataset(db, platform="Citation")  # flushes
        append_change(db, a, "upsert", NOW)
        db.flush()
        flushed = catalog_version(db, NOW)
        assert flushed != first and len(statements) == 2
        db.commit()
        assert catalog_version(db, NOW) == flushed and len(statements) == 3
        catalog_version(db, NOW + timedelta(seconds=1))
        assert len(statements) == 4
    finally:
        event.remove(engine, "before_cursor_execute", count)
