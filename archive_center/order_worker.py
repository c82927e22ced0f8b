"""The worker's order builder: a thread that builds queued orders one at a time.

Kept apart from the deriving loop so a large order never holds up derived files or mail;
a dataset held at a peer is fetched from its origin center's data route over HTTP.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
from sqlalchemy import Engine

from catalog.order_build import build_due_orders
from catalog.storage import ArchiveStore
from web.links import API_LINKS

logger = logging.getLogger(__name__)

FETCH_TIMEOUT_S = 60.0


def fetch_from_origin(url: str) -> Iterator[bytes]:
    """The bytes at `url`, streamed (an error unless the origin answers 200)."""
    with httpx.stream("GET", url, timeout=FETCH_TIMEOUT_S, follow_redirects=False) as response:
        if response.status_code != 200:
            raise RuntimeError(f"the origin answered {response.status_code}")
        yield from response.iter_bytes(1 << 20)


def _now() -> datetime:
    return datetime.now(UTC)


def build_orders_once(engine: Engine, store: ArchiveStore) -> int:
    """Build every queued order now (for tests and `run_once`); how many were built."""
    return build_due_orders(engine, store, API_LINKS, _now, fetch_from_origin, limit=1000)


def start_order_builder(
    engine: Engine, store: ArchiveStore, stop: threading.Event, poll_s: float
) -> threading.Thread:
    """A daemon thread building queued orders until `stop` is set."""

    def loop() -> None:
        while not stop.is_set():
            try:
                if built := build_due_orders(engine, store, API_LINKS, _now, fetch_from_origin):
                    logger.info("worker built %d order(s)", built)
                    continue
            except Exception:
                logger.exception("order builder step failed; retrying")
            stop.wait(poll_s)

    thread = threading.Thread(target=loop, name="fieldcat-orders", daemon=True)
    thread.start()
    return thread
