"""Job dispatch latency for bench/qc.py: two real `fieldcat worker` processes on PostgreSQL
beside two plain procrastinate workers running a no-op task, in the same schema and run.

Figure `job_start_p50_s`: a job definition's due instant to its run's start (`job_runs`:
`started_at - due_at`), jobs due one at a time (spaced, so none waits behind another).
Baseline `noop_start_p50_s`: procrastinate's own latency for a no-op task deferred with
`schedule_at` the same instants (its `scheduled` to `started` events), on workers polling as
often as ours (`worker.poll_s`, default 0.5 s). The two kinds are due interleaved, so both
see the same load.

This module is also the no-op workers' procrastinate app (`python -m procrastinate
--app=bench.parts.qc_jobs.app worker`); libpq's `PG*` variables choose their database and schema.

Not a script of its own: `bench/qc.py` runs it and prints its figures and ratios in
its JSON line."""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import procrastinate
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url

REPO = Path(__file__).resolve().parents[2]
NOOP_QUEUE = "bench-noop"
STARTUP_S = 120.0

app = procrastinate.App(connector=procrastinate.PsycopgConnector())


@app.task(name="bench.noop", queue=NOOP_QUEUE)
def noop() -> None:
    """Nothing: the queue's own dispatch is what is timed."""


@contextlib.contextmanager
def bench_schema(url: str) -> Iterator[tuple[str, str]]:
    """A fresh schema on the server (dropped afterwards): its name and a URL that uses it."""
    schema = f"bench_jobs_{secrets.token_hex(4)}"
    admin = create_engine(url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield schema, f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FIELDCAT_", "PG"))}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH")) if p)
    env.update(extra)
    return env


def _start(args: list[str], log: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, *args], stdout=out, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, cwd=REPO, env=env,
        )  # fmt: skip


def _libpq_env(url: str, schema: str) -> dict[str, str]:
    parsed = make_url(url)
    env = {
        "PGHOST": parsed.host or "127.0.0.1", "PGPORT": str(parsed.port or 5432),
        "PGUSER": parsed.username or "postgres", "PGDATABASE": parsed.database or "postgres",
        "PGOPTIONS": f"-csearch_path={schema}",
    }  # fmt: skip
    if parsed.password:
        env["PGPASSWORD"] = parsed.password
    return env


def _workers_up(engine: Engine, count: int, processes: list[subprocess.Popen[bytes]]) -> None:
    deadline = time.monotonic() + STARTUP_S
    while time.monotonic() < deadline:
        if any(p.poll() is not None for p in processes):
            raise RuntimeError("a worker process exited while starting (see its log)")
        with engine.connect() as conn:
            table = conn.scalar(text("SELECT to_regclass('procrastinate_workers')"))
            up = conn.scalar(text("SELECT count(*) FROM procrastinate_workers")) if table else 0
        if (up or 0) >= count:
            return
        time.sleep(0.5)
    raise RuntimeError(f"{count} queue workers not up after {STARTUP_S:.0f} s")


def _schedule(engine: Engine, url: str, first: datetime, jobs: int, gap_s: float) -> None:
    """Our definitions due at first + i*gap; the no-op tasks half a gap later each."""
    due = [first + timedelta(seconds=i * gap_s) for i in range(jobs)]
    with engine.begin() as conn:
        ids = conn.scalars(text("SELECT id FROM job_definitions ORDER BY id")).all()
        for definition_id, at in zip(ids, due, strict=True):
            conn.execute(
                text("UPDATE job_definitions SET next_due = :at WHERE id = :id"),
                {"at": at, "id": definition_id},
            )
    connector = procrastinate.PsycopgConnector(conninfo=_conninfo(url))
    with app.replace_connector(connector), app.open():
        for at in due:
            noop.configure(schedule_at=at + timedelta(seconds=gap_s / 2)).defer()


def _conninfo(url: str) -> str:
    """A libpq URI from the SQLAlchemy URL (`postgresql+psycopg://` -> `postgresql://`)."""
    scheme, _, rest = url.partition("://")
    return f"{scheme.split('+')[0]}://{rest}"


OURS_SQL = {
    "start": "SELECT extract(epoch FROM started_at - due_at) FROM job_runs WHERE attempt = 1",
    # where our delay goes: the scheduler's claim and defer, then the queue's fetch
    "deferred": "SELECT extract(epoch FROM e.at - (j.args->>'due_at')::timestamptz)"
    " FROM procrastinate_jobs j JOIN procrastinate_events e ON e.job_id = j.id"
    " WHERE j.task_name = 'fieldcat.run_job' AND e.type = 'deferred'",
    "fetched": "SELECT extract(epoch FROM e.at - (j.args->>'due_at')::timestamptz)"
    " FROM procrastinate_jobs j JOIN procrastinate_events e ON e.job_id = j.id"
    " WHERE j.task_name = 'fieldcat.run_job' AND e.type = 'started'",
    "noop": "SELECT extract(epoch FROM s.at - d.at) FROM procrastinate_events s"
    " JOIN procrastinate_events d ON d.job_id = s.job_id AND d.type = 'scheduled'"
    " JOIN procrastinate_jobs j ON j.id = s.job_id"
    f" WHERE s.type = 'started' AND j.queue_name = '{NOOP_QUEUE}'",
}


def _delays(engine: Engine, jobs: int, timeout_s: float) -> dict[str, list[float]]:
    """Seconds after due of each kind of event, once every job of both kinds started."""
    deadline = time.monotonic() + timeout_s
    while True:
        with engine.connect() as conn:
            found = {
                name: [float(v) for v in conn.scalars(text(sql))] for name, sql in OURS_SQL.items()
            }
        if min(len(found["start"]), len(found["noop"])) >= jobs or time.monotonic() > deadline:
            return found
        time.sleep(0.5)


def bench_job_start(url: str, tmp: Path, jobs: int, gap_s: float) -> dict[str, float]:
    """Start two fieldcat workers and two no-op workers, make `jobs` of each kind due one
    after another, and return the p50 (and max) of their starts after due."""
    from archive_center.cli_base import prepare
    from catalog.db import make_engine, make_session_factory
    from catalog.jobs import define_job
    from catalog.registry import InstrumentInput, add_instrument
    from catalog.schemas import Principal, Role
    from web.settings import Settings, WorkerSettings

    poll_s = WorkerSettings().poll_s
    with bench_schema(url) as (schema, schema_url):
        root = tmp / "jobs"
        root.mkdir()
        prepare(Settings(root=root, database_url=schema_url, center_code="JOSS",
                         center_name="JOSS"))  # fmt: skip
        engine = make_engine(schema_url)
        now = datetime.now(UTC)
        staff = Principal(user_id=None, username="bench", role=Role.STAFF)
        with make_session_factory(engine)() as session, session.begin():
            instrument = add_instrument(session, InstrumentInput(name="bench probe"), now)
            for i in range(jobs):
                define_job(
                    session, name=f"bench {i}", kind="rerun-qc",
                    params={"instrument_id": instrument.id}, period="weekly",
                    first_due=now + timedelta(days=1), owner=staff, now=now,
                )  # fmt: skip
        node_env = _env(
            FIELDCAT_ROOT=str(root), FIELDCAT_DATABASE_URL=schema_url,
            FIELDCAT_CENTER_CODE="JOSS", FIELDCAT_CENTER_NAME="JOSS",
            FIELDCAT_WORKER__DERIVE_PROCESSES="1",
        )  # fmt: skip
        processes = [
            _start(["-m", "archive_center", "worker"], root / f"worker{i}.log", node_env)
            for i in range(2)
        ]
        try:
            _workers_up(engine, 2, processes)  # theirs create the queue's tables
            noop_args = [
                "-m", "procrastinate", "--app=bench.parts.qc_jobs.app", "worker",
                f"--queues={NOOP_QUEUE}", "--concurrency=4",
                f"--fetch-job-polling-interval={poll_s}",
            ]  # fmt: skip
            noop_env = _env(**_libpq_env(url, schema))
            processes += [_start(noop_args, root / f"noop{i}.log", noop_env) for i in range(2)]
            _workers_up(engine, 4, processes)
            first = datetime.now(UTC) + timedelta(seconds=2)
            _schedule(engine, schema_url, first, jobs, gap_s)
            delays = _delays(engine, jobs, timeout_s=jobs * gap_s + 60)
        finally:
            for process in processes:
                process.send_signal(signal.SIGTERM)
            for process in processes:
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
            engine.dispose()
    if len(delays["start"]) < jobs or len(delays["noop"]) < jobs:
        raise RuntimeError(f"only {len(delays['start'])} of our and {len(delays['noop'])} no-op"
                           " jobs started")  # fmt: skip
    return {
        "job_start_p50_s": statistics.median(delays["start"]),
        "job_start_max_s": max(delays["start"]),
        "job_deferred_p50_s": statistics.median(delays["deferred"]),
        "job_fetched_p50_s": statistics.median(delays["fetched"]),
        "noop_start_p50_s": statistics.median(delays["noop"]),
        "noop_start_max_s": max(delays["noop"]),
        "worker_poll_s": poll_s,
    }
