"""The background worker: derived NetCDF and quick-look plots for versions that lack them,
and staging clean-up. Later issues add peer sync, the drop-directory watch and the embargo
sweep."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from archive_center.settings import Settings

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


def derive_missing(engine: Engine, store: ArchiveStore, now: datetime) -> int:
    """Make each missing derived file in its own transaction; return how many were made."""
    from catalog.db import make_session_factory
    from catalog.downloads import versions_lacking

    factory = make_session_factory(engine)
    made = 0
    for fmt, maker in _makers().items():
        with factory() as session:
            pending = [v.id for v in versions_lacking(session, fmt, BATCH)]
        for version_id in pending:
            try:
                with factory() as session, session.begin():
                    version = session.get_one(_version_class(), version_id)
                    maker(session, store, version, now)
                made += 1
            except Exception:
                # One unconvertible file must not stop the others; it is retried next round.
                logger.exception("could not derive %s for version %s", fmt, version_id)
    return made


def _version_class() -> type[DatasetVersion]:
    from catalog.models import DatasetVersion

    return DatasetVersion


def run_once_with(engine: Engine, store: ArchiveStore) -> int:
    """One round of work on an existing engine; returns how many items were done."""
    done = derive_missing(engine, store, datetime.now(UTC))
    done += store.clean_staging()
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
    from catalog.db import make_engine
    from catalog.storage import ArchiveStore

    engine = make_engine(settings.effective_database_url)
    store = ArchiveStore(settings.root)
    logger.info("worker for %s started", settings.center_code)
    try:
        while not stop.is_set():
            try:
                done = run_once_with(engine, store)
                if done:
                    logger.info("worker round did %d item(s)", done)
            except Exception:
                logger.exception("worker round failed; retrying in %ss", settings.worker_interval_s)
            stop.wait(settings.worker_interval_s)
    finally:
        engine.dispose()
        logger.info("worker for %s stopped", settings.center_code)
