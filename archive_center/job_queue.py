"""Scheduled jobs in the worker: a scheduler that claims due runs, and the queue that runs them.

On PostgreSQL the queue is procrastinate (its tables live beside ours, created at the first
start under an advisory lock): the scheduler of each worker process claims due runs
(`catalog.jobs.claim_due`, one winner per run) and defers them; procrastinate's workers take
each job exactly once (`SELECT ... FOR UPDATE SKIP LOCKED`) and retry a failed one with
exponential back-off (2, 4, 8 s). On SQLite, which has no such queue, the one worker runs
the runs it claims itself, with the same attempts and back-off: a SQLite center runs one
worker (see docs/quality.md).

Started from `archive_center.worker.run_worker`; stops with the worker's `stop` event.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import threading
import time
import traceback
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from catalog.db import make_session_factory
from catalog.job_models import JobDefinition, JobRun
from catalog.jobs import (
    MAX_ATTEMPTS,
    JobKind,
    claim_due,
    execute_run,
    finish_run,
    seconds_to_next_due,
    start_run,
)

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine
    from sqlalchemy.orm import Session

    from web.settings import Settings

logger = logging.getLogger(__name__)

QUEUE = "fieldcat-jobs"
CONCURRENCY = 4
"""Jobs one worker process runs at once (threads: jobs wait on the database, not the CPU)."""
SCHEMA_LOCK = 0x46434A4F  # "FCJO": one process creates procrastinate's tables
_STATE: dict[str, Any] = {}
"""This process's engine for the queue's task (set by `start_jobs`)."""


def worker_name() -> str:
    """Who ran a job: host and process."""
    return f"{socket.gethostname()}:{os.getpid()}"


def node_kinds(engine: Engine) -> dict[str, JobKind]:
    """The job kinds this node runs above the catalog: pulling a transfer source."""
    from submissions.transfers import pull_source

    def pull(session: Session, definition: JobDefinition, due: datetime) -> dict[str, Any]:
        return pull_source(
            make_session_factory(engine), _STATE["store"], int(definition.params["source_id"]),
            center_code=_STATE["center_code"], now=_now(),
        )  # fmt: skip

    def build(session: Session, definition: JobDefinition, due: datetime) -> dict[str, Any]:
        return build_merge_job(session, int(definition.params["merge_id"]), now=_now())

    return {"pull-transfer": pull, "build-merge": build}


def build_merge_job(session: Session, merge_id: int, now: datetime) -> dict[str, Any]:
    """Build one CIDS merged product again (a new DATA VERSION), whatever its inputs."""
    from catalog.cids_models import MergeDefinition
    from catalog.merges import build_merge

    definition = session.get(MergeDefinition, merge_id)
    if definition is None:
        raise LookupError(f"merged product {merge_id} no longer exists")
    dataset = build_merge(
        session, _STATE["store"], definition, _STATE["center_code"], _STATE["campaign_code"], now
    )
    return {
        "merge_id": merge_id,
        "dataset": dataset.public_id,
        "data_version": dataset.data_version,
    }


def configure(engine: Engine, store: Any, center_code: str, campaign_code: str) -> None:
    """What this process's jobs work on (`start_jobs` sets it from the settings)."""
    _STATE.update(engine=engine, store=store, center_code=center_code, campaign_code=campaign_code)


def run_attempt(engine: Engine, definition_id: int, due_at: datetime, attempt: int) -> None:
    """One attempt of one run: recorded as started, done in its own transaction, recorded as
    succeeded or failed with the error (re-raised so the queue retries)."""
    factory = make_session_factory(engine)
    with factory() as session, session.begin():
        run_id = start_run(session, definition_id, due_at, attempt, worker_name(), _now()).id
    started = time.monotonic()
    try:
        with factory() as session, session.begin():
            result = execute_run(session, session.get_one(JobRun, run_id), node_kinds(engine))
    except Exception as err:
        with factory() as session, session.begin():
            error = f"attempt {attempt} of {MAX_ATTEMPTS}: {err!r}\n{traceback.format_exc(limit=3)}"
            finish_run(session, run_id, result=None, error=error, started=started, now=_now())
        raise
    with factory() as session, session.begin():
        finish_run(session, run_id, result=result, error="", started=started, now=_now())


def _now() -> datetime:
    return datetime.now(UTC)


def _conninfo(database_url: str) -> str:
    """A libpq URI from the SQLAlchemy URL (`postgresql+psycopg://` -> `postgresql://`)."""
    scheme, _, rest = database_url.partition("://")
    return f"{scheme.split('+')[0]}://{rest}"


def make_app(database_url: str) -> Any:
    """The procrastinate app of this center's database, with the one job task."""
    import procrastinate

    app = procrastinate.App(
        connector=procrastinate.PsycopgConnector(conninfo=_conninfo(database_url))
    )
    retry = procrastinate.RetryStrategy(max_attempts=MAX_ATTEMPTS - 1, exponential_wait=2)

    @app.task(name="fieldcat.run_job", queue=QUEUE, retry=retry, pass_context=True)
    def run_job(context: Any, definition_id: int, due_at: str) -> None:
        attempt = int(context.job.attempts) + 1
        run_attempt(_STATE["engine"], definition_id, datetime.fromisoformat(due_at), attempt)

    return app


def ensure_queue_schema(engine: Engine) -> None:
    """Create procrastinate's tables once: workers starting together wait on one advisory
    lock, held until the creating transaction commits (released before the commit, it let
    the next worker look before the tables were visible, create them again and fail)."""
    from procrastinate.schema import SchemaManager

    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK,))
        cursor.execute("SELECT to_regclass('procrastinate_jobs')")
        row = cursor.fetchone()
        if row is None or row[0] is None:
            cursor.execute(SchemaManager.get_schema())
            logger.info("created the job queue's tables (procrastinate)")
        raw.commit()  # releases the lock
    finally:
        raw.close()


CLAIM_BATCH = 10
MIN_PAUSE_S = 0.02
"""The scheduler's shortest sleep (a due run it cannot claim never makes it spin)."""
"""Due runs claimed per transaction: the first are queued while the rest are claimed."""


def _claim(engine: Engine) -> list[tuple[int, datetime]]:
    with make_session_factory(engine)() as session, session.begin():
        return claim_due(session, _now(), limit=CLAIM_BATCH)


def _pause(engine: Engine, poll_s: float) -> float:
    """How long the scheduler sleeps: until the next run is due, at most `poll_s` (a job
    defined meanwhile is seen within a poll), so a run starts at its due instant rather than
    half a poll after it on average."""
    try:
        with make_session_factory(engine)() as session:
            left = seconds_to_next_due(session, _now())
    except Exception:
        logger.exception("could not read when the next job is due")
        return poll_s
    return poll_s if left is None else min(poll_s, max(left, MIN_PAUSE_S))


async def _serve(app: Any, engine: Engine, poll_s: float, stop: threading.Event) -> None:
    async with app.open_async():
        worker = asyncio.create_task(
            app.run_worker_async(
                queues=[QUEUE], wait=True, install_signal_handlers=False,
                fetch_job_polling_interval=poll_s, name=worker_name(), concurrency=CONCURRENCY,
            )
        )  # fmt: skip
        task = app.tasks["fieldcat.run_job"]
        while not stop.is_set() and not worker.done():
            while claimed := await asyncio.to_thread(_claim, engine):
                for definition_id, due_at in claimed:
                    await task.defer_async(definition_id=definition_id, due_at=due_at.isoformat())
            await asyncio.sleep(await asyncio.to_thread(_pause, engine, poll_s))
        worker.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await worker


def _serve_inline(engine: Engine, poll_s: float, stop: threading.Event) -> None:
    """SQLite: run claimed runs here, retrying a failed one with the same back-off."""
    while not stop.wait(_pause(engine, poll_s)):
        try:
            claimed = _claim(engine)
        except Exception:
            logger.exception("could not claim due jobs")
            continue
        for definition_id, due_at in claimed:  # the rest are claimed at the next poll
            for attempt in range(1, MAX_ATTEMPTS + 1):
                try:
                    run_attempt(engine, definition_id, due_at, attempt)
                    break
                except Exception:
                    logger.exception(
                        "job %s (due %s) attempt %d failed", definition_id, due_at, attempt
                    )
                    if stop.wait(2**attempt):
                        return


def start_jobs(settings: Settings, engine: Engine, stop: threading.Event) -> threading.Thread:
    """Start the scheduler and queue worker of this process in a thread."""
    from catalog.storage import ArchiveStore

    configure(engine, ArchiveStore(settings.root), settings.center_code, settings.campaign.code)
    poll_s = settings.worker.poll_s
    if engine.dialect.name == "postgresql":
        ensure_queue_schema(engine)
        app = make_app(settings.effective_database_url)

        def target() -> None:
            asyncio.run(_serve(app, engine, poll_s, stop))
    else:

        def target() -> None:
            _serve_inline(engine, poll_s, stop)

    thread = threading.Thread(target=target, name="jobs", daemon=True)
    thread.start()
    return thread
