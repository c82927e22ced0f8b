"""The background worker: derived NetCDF and quick-look plots for versions that lack them,
staging clean-up and the credential sweep; it starts the receivers, the replicator and the
scheduled jobs (`archive_center.job_queue`).

Derived files are made by `worker.derive_processes` child processes (spawned, never forked
from this threaded process), each at a lower CPU priority (`worker.niceness`) than the API
so that uploads and downloads come first. The worker looks for new versions every
`worker.poll_s` (one cheap query), so a fresh upload is derived within seconds whichever
process registered it, newest version first; the housekeeping runs every
`worker_interval_s`.
"""

from __future__ import annotations

import logging
import os
import pickle
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from archive_center.federation_setup import start_federation, start_handovers
from archive_center.saved_search_worker import saved_search_step
from web.settings import Settings

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine
    from sqlalchemy.orm import Session

    from catalog.models import DatasetVersion
    from catalog.outbox import MailRelay
    from catalog.storage import ArchiveStore

logger = logging.getLogger(__name__)

BATCH = 50
FORMATS: Final = ("netcdf", "png", "qc")
"""What is derived for each version, in this order (NetCDF is what users download; `qc` is
the QA/QC run of `catalog.qc`, its flags kept as a derived file)."""
Maker = Callable[["Session", "ArchiveStore", "DatasetVersion", datetime], object]
Item = tuple[str, int]
"""(format, version id): one derived file to make."""


def _makers() -> dict[str, Maker]:
    from catalog.downloads import make_derived_netcdf
    from catalog.plots import record_plot
    from catalog.qc import run_qc

    def png(
        session: Session, store: ArchiveStore, version: DatasetVersion, now: datetime
    ) -> object:
        return record_plot(session, store, version, "png", now)

    return {"netcdf": make_derived_netcdf, "png": png, "qc": run_qc}


def derive_one(engine: Engine, store: ArchiveStore, item: Item, now: datetime) -> None:
    """Make one derived file and record it, in its own transaction."""
    from catalog.db import make_session_factory
    from catalog.models import DatasetVersion

    fmt, version_id = item
    with make_session_factory(engine)() as session, session.begin():
        _makers()[fmt](session, store, session.get_one(DatasetVersion, version_id), now)


def pending_items(engine: Engine, limit: int, skip: set[Item]) -> list[Item]:
    """Derived files missing for current local versions, newest version first; none of
    `skip` (failed, or being made)."""
    from catalog.db import make_session_factory
    from catalog.downloads import versions_lacking

    items: list[Item] = []
    with make_session_factory(engine)() as session:
        for fmt in FORMATS:
            ids = {version_id for kind, version_id in skip if kind == fmt}
            lacking = versions_lacking(session, fmt, limit, skip=ids, newest_first=True)
            items += [(fmt, version.id) for version in lacking]
    items.sort(key=lambda item: (-item[1], FORMATS.index(item[0])))
    return items[:limit]


def latest_version_id(engine: Engine) -> int:
    """The highest version id: it changes whenever a version is registered anywhere."""
    from sqlalchemy import func, select

    from catalog.models import DatasetVersion

    with engine.connect() as connection:
        return int(connection.execute(select(func.max(DatasetVersion.id))).scalar() or 0)


def derive_missing(
    engine: Engine,
    store: ArchiveStore,
    now: datetime,
    failed: set[tuple[str, int]],
    stop: threading.Event | None = None,
) -> int:
    """Make missing derived files in this process, one transaction each, newest first;
    return how many were made (the CLI's single round and tests use it).

    A version that fails is added to `failed` and not tried again by this worker process,
    so one unconvertible file neither stops the others nor floods the log. When `stop` is
    set the round ends after the item in hand, so stopping a node never waits for a batch.
    """
    made = 0
    for item in pending_items(engine, BATCH * len(FORMATS), set(failed)):
        if stop is not None and stop.is_set():
            return made
        try:
            derive_one(engine, store, item, now)
            made += 1
        except Exception:
            failed.add(item)
            logger.exception("could not derive %s for version %s", *item)
    return made


_CHILD: dict[str, Any] = {}
"""A deriving process's engine and store, set by `_start_child` (empty in the node)."""


def _start_child(database_url: str, root: str, niceness: int, node_pid: int) -> None:
    """Set up one deriving process: it dies with the node (even a SIGKILLed one), runs at a
    lower priority, logs, and has its own engine."""
    from archive_center.lifecycle import die_with_parent
    from catalog.db import make_engine
    from catalog.storage import ArchiveStore

    die_with_parent(node_pid)
    os.nice(niceness)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    _CHILD["engine"] = make_engine(database_url)
    _CHILD["store"] = ArchiveStore(Path(root))


def _warm_up() -> None:
    """Import what deriving needs, so the first real item is not slowed by it."""
    import formats.netcdf
    import formats.quicklook
    import formats.registry

    formats.registry.available_writers()


class DeriveError(Exception):
    """A deriving process's failure as it reaches the node: the original exception's text.

    The pool pickles what a child raises and unpickles it in the node; an exception that
    does not survive that round trip (one whose `__init__` takes other arguments than its
    `args`) would instead break the whole pool, as if the process had died, and every item
    in hand would fail with it."""


def _derive_in_child(item: Item, now: datetime) -> None:
    try:
        derive_one(_CHILD["engine"], _CHILD["store"], item, now)
    except Exception as error:
        try:
            pickle.loads(pickle.dumps(error))  # noqa: S301 (our own bytes, just made)
        except Exception:
            raise DeriveError(f"{type(error).__name__}: {error}") from None
        raise


class DerivePool:
    """Keeps `processes` child processes busy with missing derived files, newest first.

    `step()` never blocks: it collects finished items and hands out new ones when a version
    was registered, a backlog remains or a rescan is due. `wake` is set when an item ends.
    """

    def __init__(self, settings: Settings, engine: Engine, wake: threading.Event) -> None:
        import multiprocessing

        self.engine = engine
        self.processes = settings.worker.derive_processes
        self.wake = wake
        self.failed: set[Item] = set()
        self._running: dict[Future[None], Item] = {}
        self._deaths: dict[Item, int] = {}
        self._queue: deque[Item] = deque()
        self._seen_version = -1
        self._backlog = True
        self._context = multiprocessing.get_context("spawn")
        self._child_args = (
            settings.effective_database_url,
            str(settings.root.resolve()),
            settings.worker.niceness,
            os.getpid(),
        )
        self._executor = self._start_processes()

    def _start_processes(self) -> ProcessPoolExecutor:
        executor = ProcessPoolExecutor(
            self.processes,
            mp_context=self._context,
            initializer=_start_child,
            initargs=self._child_args,
        )
        for _ in range(self.processes):
            executor.submit(_warm_up)
        return executor

    def _restart(self) -> None:
        """A deriving process died (killed, out of memory, a crash in a library): the pool is
        unusable, so start a fresh one."""
        logger.error("a deriving process died; starting %d new one(s)", self.processes)
        self._executor.shutdown(wait=False, cancel_futures=True)
        self._executor = self._start_processes()
        self._backlog = True

    def rescan(self) -> None:
        """Look for missing files at the next step even if no version was registered."""
        self._backlog = True

    def step(self) -> int:
        """Collect finished items, hand out new ones; return how many files were made.

        Missing files are fetched from the database a batch at a time into a queue (one
        query per batch, not per item) and fetched again, newest first, whenever a version
        is registered."""
        made = self._collect()
        latest = latest_version_id(self.engine)
        if latest != self._seen_version:
            self._queue.clear()  # re-ranked below, so that the new version comes first
            self._backlog = True
        if not self._queue and self._backlog:
            busy = self.failed | set(self._running.values())
            self._queue.extend(pending_items(self.engine, BATCH, busy))
            self._seen_version = latest
            self._backlog = len(self._queue) == BATCH
        now = datetime.now(UTC)
        while self._queue and len(self._running) < 2 * self.processes:
            item = self._queue.popleft()
            try:
                future = self._executor.submit(_derive_in_child, item, now)
            except BrokenProcessPool:
                self._queue.appendleft(item)
                self._restart()
                return made
            self._running[future] = item
            future.add_done_callback(lambda _f: self.wake.set())
        return made

    def _collect(self) -> int:
        made, broken = 0, False
        for future in [f for f in self._running if f.done()]:
            item = self._running.pop(future)
            error = future.exception()
            if error is None:
                made += 1
                continue
            if isinstance(error, BrokenProcessPool):
                # Its process died, maybe of something else (killed, out of memory): tried
                # once more; an item that was in hand at two deaths is not tried again.
                broken = True
                self._deaths[item] = self._deaths.get(item, 0) + 1
                if self._deaths[item] < 2:
                    continue
            # Not tried again by this worker: a file that cannot be converted (or kills its
            # process) would fail again and flood the log.
            self.failed.add(item)
            logger.error("could not derive %s for version %s: %r", *item, error)
        if broken:
            self._restart()
        return made

    def close(self, grace_s: float = 5.0) -> None:
        """Drop what has not started, give the items being made `grace_s` to finish, then
        end the deriving processes (an item cut short is not recorded and is made again)."""
        # The executor keeps its processes in a private mapping (and drops it once shut down).
        processes = list((getattr(self._executor, "_processes", None) or {}).values())
        self._executor.shutdown(wait=False, cancel_futures=True)
        wait(list(self._running), timeout=grace_s)
        # A process still busy (or still importing, at low priority on a loaded machine)
        # would otherwise hold up the node's exit until it is done.
        for process in processes:
            if process.is_alive():
                process.terminate()


def housekeeping(engine: Engine, store: ArchiveStore) -> int:
    """Staging clean-up, the credential sweep and the fold of the facet tallies
    (`catalog.facet_tallies`); how many items (files, credentials, tally rows) were done."""
    from catalog.facet_triggers import compact_tallies
    from catalog.grants import sweep_credentials

    folded = compact_tallies(engine)
    return store.clean_staging() + sweep_credentials(engine, datetime.now(UTC)) + folded


def merge_navigation(engine: Engine, store: ArchiveStore, max_gap_s: float) -> int:
    """Redo the navigation merges whose inputs changed (docs/cids.md); how many."""
    from catalog.db import make_session_factory
    from catalog.navigation import refresh_merges
    from federation.remote_data import fetch_data
    from web.links import API_LINKS

    factory = make_session_factory(engine)
    remote = (API_LINKS, fetch_data)
    return refresh_merges(factory, store, datetime.now(UTC), max_gap_s, remote)


def build_merges(engine: Engine, store: ArchiveStore, settings: Settings) -> int:
    """Build the merged products never built or whose inputs changed (docs/cids.md)."""
    from catalog.db import make_session_factory
    from catalog.merges import build_due

    factory = make_session_factory(engine)
    return build_due(factory, store, settings.center_code, settings.campaign.code)


def navigation_inputs(engine: Engine) -> tuple[int, int, int]:
    """The newest version, navigation rule and merge definition: a merge may be due when one
    changes (and at every housekeeping round, for embargoes that ended)."""
    from sqlalchemy import func, select

    from catalog.cids_models import MergeDefinition, NavigationRule

    with engine.connect() as connection:
        rule = connection.execute(select(func.max(NavigationRule.id))).scalar() or 0
        merge = connection.execute(select(func.max(MergeDefinition.id))).scalar() or 0
    return latest_version_id(engine), int(rule), int(merge)


def run_once_with(
    engine: Engine,
    store: ArchiveStore,
    failed: set[tuple[str, int]] | None = None,
    stop: threading.Event | None = None,
    max_gap_s: float | None = None,
) -> int:
    """One round of work on an existing engine; returns how many items were done
    (`max_gap_s`: the navigation merge's, by default the setting's default)."""
    from web.settings import CidsSettings

    failed = failed if failed is not None else set()
    max_gap_s = CidsSettings().navigation_max_gap_s if max_gap_s is None else max_gap_s
    done = derive_missing(engine, store, datetime.now(UTC), failed, stop)
    done += merge_navigation(engine, store, max_gap_s)
    return done + housekeeping(engine, store)


def run_once(settings: Settings) -> int:
    """One round of the worker's jobs; returns how many items it did."""
    from archive_center.order_worker import build_orders_once
    from catalog.db import make_engine
    from catalog.storage import ArchiveStore

    engine = make_engine(settings.effective_database_url)
    try:
        store = ArchiveStore(settings.root)
        done = run_once_with(engine, store, max_gap_s=settings.cids.navigation_max_gap_s)
        return done + build_orders_once(engine, store)
    finally:
        engine.dispose()


def mail_relay(settings: Settings) -> MailRelay | None:
    """The relay the outbox is sent through, or None when no relay is configured."""
    from catalog.outbox import MailRelay

    mail = settings.mail
    if not mail.relay_host:
        return None
    return MailRelay(
        host=mail.relay_host,
        port=mail.relay_port,
        sender=mail.from_address,
        username=mail.username,
        password=mail.password,
        starttls=mail.starttls,
        timeout_s=mail.timeout_s,
        max_attempts=mail.max_attempts,
        backoff_base_s=mail.backoff_base_s,
    )


def release_notices(engine: Engine, reminder_days: float) -> int:
    """Remind owners of releases ahead and announce the releases that passed (each once)."""
    from catalog.db import make_session_factory
    from catalog.release_notices import announce_releases, send_reminders

    now = datetime.now(UTC)
    with make_session_factory(engine)() as session, session.begin():
        return send_reminders(session, now, reminder_days) + announce_releases(session, now)


def send_mail(engine: Engine, relay: MailRelay | None) -> int:
    """Hand due outbox messages to the relay; how many it accepted."""
    from catalog.outbox import send_due

    return send_due(engine, relay, datetime.now(UTC))


def run_worker(settings: Settings, stop: threading.Event) -> None:
    """Derive as versions arrive and keep house every `worker_interval_s` until `stop`."""
    from archive_center.job_queue import start_jobs
    from archive_center.order_worker import start_order_builder
    from archive_center.receivers import start_receivers
    from catalog.db import make_engine
    from catalog.storage import ArchiveStore

    engine = make_engine(settings.effective_database_url)
    store = ArchiveStore(settings.root)
    receivers = start_receivers(settings, engine, stop)
    logger.info(
        "worker for %s started (%d deriving process(es))",
        settings.center_code,
        settings.worker.derive_processes,
    )
    federation = start_federation(settings, engine, stop)
    jobs = start_jobs(settings, engine, stop)
    handovers = start_handovers(settings, engine, stop)
    orders = start_order_builder(engine, store, stop, settings.worker.poll_s)
    wake = threading.Event()
    pool = DerivePool(settings, engine, wake)
    relay = mail_relay(settings)
    next_housekeeping = next_merge_check = next_saved_searches = 0.0
    seen_inputs = (-1, -1, -1)
    try:
        while not stop.is_set():
            try:
                if time.monotonic() >= next_housekeeping:
                    next_housekeeping = time.monotonic() + settings.worker_interval_s
                    if done := housekeeping(engine, store):
                        logger.info("worker housekeeping did %d item(s)", done)
                    pool.rescan()
                if made := pool.step():
                    logger.info("worker derived %d file(s)", made)
                if time.monotonic() >= next_saved_searches:
                    next_saved_searches = (
                        time.monotonic() + settings.standards.saved_search_interval_s
                    )
                    if told := saved_search_step(engine, settings):
                        logger.info("saved searches: %d new notice(s)", told)
                if told := release_notices(engine, settings.access.release_reminder_days):
                    logger.info("worker announced %d release(s) or reminder(s)", told)
                if sent := send_mail(engine, relay):
                    logger.info("worker sent %d mail(s)", sent)
                inputs = navigation_inputs(engine)
                if inputs != seen_inputs or time.monotonic() >= next_merge_check:
                    seen_inputs, next_merge_check = inputs, next_housekeeping
                    gap = settings.cids.navigation_max_gap_s
                    if merged := merge_navigation(engine, store, gap):
                        logger.info("worker merged navigation into %d dataset(s)", merged)
                    if built := build_merges(engine, store, settings):
                        logger.info("worker built %d merged product(s)", built)
            except Exception:
                logger.exception("worker step failed; retrying in %ss", settings.worker.poll_s)
            wake.wait(settings.worker.poll_s)
            wake.clear()
    finally:
        pool.close()
        receivers.join(timeout=30)
        if federation is not None:
            federation.join(timeout=10)
        jobs.join(timeout=10)
        handovers.join(timeout=10)
        orders.join(timeout=10)
        engine.dispose()
        logger.info("worker for %s stopped", settings.center_code)
