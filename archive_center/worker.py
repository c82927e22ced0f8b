"""The background worker: derived NetCDF and quick-look plots for versions that lack them,
and staging clean-up. Later issues add peer sync, the drop-directory watch and the embargo
sweep."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from archive_center.federation_setup import start_federation
from web.settings import Settings

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine
    from sqlalchemy.orm import Session

    from catalog.models import DatasetVersion
    from catalog.storage import ArchiveStore

logger = logging.getLogger(__name__)

BATCH = 50
Maker = Callable[["Session", "ArchiveStore", "DatasetVersion", datetime], object]


def _makers() -> dict[str, Maker]:
    from catalog.downloads import make_derived_netcdf
    from catalog.plots import record_plot

    def png(
        session: Session, store: ArchiveStore, version: DatasetVersion, now: datetime
    ) -> object:
        return record_plot(session, store, version, "png", now)

    return {"netcdf": make_derived_netcdf, "png": png}


def derive_missing(
    engine: Engine,
    store: ArchiveStore,
    now: datetime,
    failed: set[tuple[str, int]],
    stop: threading.Event | None = None,
) -> int:
    """Make each missing derived file in its own transaction; return how many were made.

    A version that fails is added to `failed` and not tried again by this worker process,
    so one unconvertible file neither stops the others nor floods the log. When `stop` is
    set the round ends after the item in hand, so stopping a node never waits for a batch.
    """
    from catalog.db import make_session_factory
    from catalog.downloads import versions_lacking
    from catalog.models import DatasetVersion

    factory = make_session_factory(engine)
    made = 0
    for fmt, maker in _makers().items():
        skip = {version_id for kind, version_id in failed if kind == fmt}
        with factory() as session:
            pending = [v.id for v in versions_lacking(session, fmt, BATCH, skip=skip)]
        for version_id in pending:
            if stop is not None and stop.is_set():
                return made
            try:
                with factory() as session, session.begin():
                    maker(session, store, session.get_one(DatasetVersion, version_id), now)
                made += 1
            except Exception:
                failed.add((fmt, version_id))
                logger.exception("could not derive %s for version %s", fmt, version_id)
    return made


def run_once_with(
    engine: Engine,
    store: ArchiveStore,
    failed: set[tuple[str, int]] | None = None,
    stop: threading.Event | None = None,
) -> int:
    """One round of work on an existing engine; returns how many items were done."""
    failed = failed if failed is not None else set()
    done = derive_missing(engine, store, datetime.now(UTC), failed, stop)
    done += store.clean_staging()
    from catalog.grants import sweep_credentials

    done += sweep_credentials(engine, datetime.now(UTC))
    return done


def run_once(settings: Settings) -> int:
    """One round of the worker's jobs; returns how many items it did."""
    from catalog.db import make_engine
    from catalog.storage import ArchiveStore

    engine = make_engine(settings.effective_database_url)
    try:
        return run_once_with(engine, ArchiveStore(settings.root))
    finally:
        engine.dispose()


def run_worker(settings: Settings, stop: threading.Event) -> None:
    """Run rounds every `worker_interval_s` until `stop` is set."""
    from archive_center.receivers import start_receivers
    from catalog.db import make_engine
    from catalog.storage import ArchiveStore

    engine = make_engine(settings.effective_database_url)
    store = ArchiveStore(settings.root)
    failed: set[tuple[str, int]] = set()
    receivers = start_receivers(settings, engine, stop)
    logger.info("worker for %s started", settings.center_code)
    federation = start_federation(settings, engine, stop)
    try:
        while not stop.is_set():
            try:
                done = run_once_with(engine, store, failed, stop)
                if done:
                    logger.info("worker round did %d item(s)", done)
            except Exception:
                logger.exception("worker round failed; retrying in %ss", settings.worker_interval_s)
            stop.wait(settings.worker_interval_s)
    finally:
        receivers.stop()
        if federation is not None:
            federation.join(timeout=10)
        engine.dispose()
        logger.info("worker for %s stopped", settings.center_code)
