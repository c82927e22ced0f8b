"""A small per-engine cache of counts over broad queries: the facet counts of filtered
searches (the unfiltered counts come from the tallies, `catalog.facet_tallies`, uncached)
and the search page's time strip (`catalog.time_strip`), filtered or not.

Counting a broad set costs a pass over it, so results of large sets are kept for
five minutes, keyed by what was counted and its filters, the caller's visibility class
(`access.visibility_key`) and the catalog's version (`catalog_version`). Any shared change
moves the change-log seq and any release moves the next release instant, so a cached count
never outlives either; changes only staff or an owner can see age out within the TTL. Search
sessions are read-only, so what is cached is committed state.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar, cast

from sqlalchemy import Engine, Select, bindparam, event, func, select
from sqlalchemy.orm import Session

from catalog.access import visibility_key
from catalog.access_states import RELEASING_STATES
from catalog.cursors import query_fingerprint
from catalog.models import ChangeCounter, Dataset
from catalog.schemas import Principal, SearchParams

logger = logging.getLogger(__name__)

T = TypeVar("T")


class FacetCache:
    """LRU of counted results with a time-to-live; thread-safe."""

    def __init__(self, max_entries: int = 256, ttl_s: float = 300.0, min_total: int = 1000):
        self.max_entries, self.ttl_s, self.min_total = max_entries, ttl_s, min_total
        self._entries: OrderedDict[tuple[Any, ...], tuple[float, object]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[Any, ...]) -> object | None:
        """The cached result for `key`, if fresh."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            stored, value = entry
            if time.monotonic() - stored > self.ttl_s:
                del self._entries[key]
                return None
            self._entries.move_to_end(key)
            return value

    def put(self, key: tuple[Any, ...], value: object, counted: int) -> None:
        """Keep `value` if the set it counted (`counted` rows) was large enough to be worth it."""
        if counted < self.min_total:
            return
        with self._lock:
            self._entries[key] = (time.monotonic(), value)
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        """Forget everything (after bulk changes made outside the change log)."""
        with self._lock:
            self._entries.clear()


_CACHES: weakref.WeakKeyDictionary[Engine, FacetCache] = weakref.WeakKeyDictionary()
_CACHES_LOCK = threading.Lock()


def cache_for(engine: Engine) -> FacetCache:
    """The facet cache of one engine (made on first use, dropped with the engine)."""
    with _CACHES_LOCK:
        cache = _CACHES.get(engine)
        if cache is None:
            cache = _CACHES[engine] = FacetCache()
        return cache


_VERSION_MEMO = "fieldcat_catalog_version"
"""`Session.info` key of the version read in the session's current transaction."""


def catalog_version(session: Session, now: datetime) -> tuple[Any, ...]:
    """What a cached count depends on besides the query and the caller.

    The change-log seq, the newest dataset id and update, and the next embargo or password
    release after `now` (so a count made before a release is not used after it). Each is
    one index probe. It is read once per transaction and `now`: the search page's facets
    and its time strip share it (a flush, which may change it, forgets it).
    """
    memo = session.info.get(_VERSION_MEMO)
    if memo is not None and memo[0] is session.get_transaction() and memo[1] == now:
        return cast(tuple[Any, ...], memo[2])
    version = _read_version(session, now)
    if memo is None:
        event.listen(session, "after_flush", _forget_version)
    session.info[_VERSION_MEMO] = (session.get_transaction(), now, version)
    return version


def _forget_version(session: Session, _context: object) -> None:
    session.info[_VERSION_MEMO] = (None, None, None)


def _read_version(session: Session, now: datetime) -> tuple[Any, ...]:
    return tuple(session.execute(_version_query(), {"now": now}).one())


@functools.cache
def _version_query() -> Select[Any]:
    """The version's one statement, built once: building it took longer than running it."""
    now = bindparam("now", type_=Dataset.release_at.type)
    next_release = [
        select(func.min(Dataset.release_at))
        .where(Dataset.access_state == state, Dataset.release_at > now)
        .scalar_subquery()
        for state in RELEASING_STATES
    ]
    return select(
        select(ChangeCounter.last_seq).where(ChangeCounter.id == 1).scalar_subquery(),
        select(func.max(Dataset.id)).scalar_subquery(),
        select(func.max(Dataset.updated)).scalar_subquery(),
        *next_release,
    )


def cached_count(
    session: Session,
    what: str,
    params: SearchParams,
    principal: Principal,
    now: datetime,
    count: Callable[[], tuple[T, int]],
) -> T:
    """`count()`'s result (and how many rows it counted) for `what` over the datasets
    `params` select, from the engine's cache when fresh; paging and sort are not part of
    the key."""
    bind = session.get_bind()
    engine = bind if isinstance(bind, Engine) else bind.engine
    cache = cache_for(engine)
    key = (
        what,
        query_fingerprint(params.model_copy(update={"sort": "-start"})),
        visibility_key(principal),
        *catalog_version(session, now),
    )
    found = cache.get(key)
    if found is not None:
        return cast(T, found)
    value, counted = count()
    cache.put(key, value, counted)
    return value
