"""Scheduled jobs with two real `fieldcat worker` processes on one PostgreSQL database:
100 due jobs run exactly once each, soon after they are due; a failing job is retried with
back-off and says why."""

from __future__ import annotations

import signal
import statistics
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import delete, func, select, update
from sqlalchemy.engine import Engine

from archive_center.cli_base import prepare
from catalog.db import make_engine, make_session_factory
from catalog.job_models import JobDefinition, JobRun
from catalog.jobs import define_job
from catalog.registry import InstrumentInput, add_instrument
from catalog.registry_models import Instrument
from catalog.schemas import Principal, Role
from tests.archive_center.fieldcat_process import start_fieldcat, stop
from tests.conftest import postgres_schema, schema_url
from tests.polling import eventually
from web.settings import Settings

JOBS = 100
STAFF = Principal(user_id=None, username="test", role=Role.STAFF)


@dataclass
class Cluster:
    engine: Engine
    root: Path
    url: str


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    with postgres_schema("t_jobs") as schema:
        url = schema_url(schema)
        root = tmp_path_factory.mktemp("jobs")
        prepare(Settings(root=root, database_url=url, center_code="JOSS", center_name="JOSS"))
        engine = make_engine(url)
        try:
            yield Cluster(engine, root, url)
        finally:
            engine.dispose()


def start_workers(cluster: Cluster, count: int) -> list[object]:
    return [
        start_fieldcat(
            "worker",
            log=cluster.root / f"worker{i}.log",
            FIELDCAT_ROOT=str(cluster.root),
            FIELDCAT_DATABASE_URL=cluster.url,
            FIELDCAT_CENTER_CODE="JOSS",
            FIELDCAT_CENTER_NAME="JOSS",
            FIELDCAT_WORKER__POLL_S="0.1",
            FIELDCAT_WORKER__DERIVE_PROCESSES="1",
        )
        for i in range(count)
    ]


def worker_log(cluster: Cluster, i: int) -> str:
    return (cluster.root / f"worker{i}.log").read_text(errors="replace")


def runs(cluster: Cluster) -> list[JobRun]:
    with make_session_factory(cluster.engine)() as session:
        return list(session.scalars(select(JobRun).order_by(JobRun.id)))


def test_two_workers_run_100_due_jobs_exactly_once(cluster: Cluster) -> None:
    factory = make_session_factory(cluster.engine)
    now = datetime.now(UTC)
    due = now + timedelta(days=1)  # made due once both workers run
    with factory() as session, session.begin():
        instrument = add_instrument(session, InstrumentInput(name="probe"), now)
        for i in range(JOBS):
            define_job(
                session, name=f"qc {i}", kind="rerun-qc",
                params={"instrument_id": instrument.id}, period="hourly", first_due=due,
                owner=STAFF, now=now,
            )  # fmt: skip
        doomed = add_instrument(session, InstrumentInput(name="doomed"), now)
        define_job(
            session, name="fails", kind="rerun-qc", params={"instrument_id": doomed.id},
            period="daily", first_due=due, owner=STAFF, now=now,
        )  # fmt: skip
        session.execute(delete(Instrument).where(Instrument.id == doomed.id))
    workers = start_workers(cluster, 2)
    try:
        for i in range(2):  # each worker is up and has its queue (it logs its first poll)
            eventually(lambda i=i: "worker for JOSS started" in worker_log(cluster, i), 60)
        time.sleep(2.0)
        with factory() as session, session.begin():
            due = datetime.now(UTC) + timedelta(seconds=0.5)
            session.execute(update(JobDefinition).values(next_due=due))
        eventually(lambda: sum(r.state == "succeeded" for r in runs(cluster)) >= JOBS, timeout=90)
        eventually(lambda: sum(r.state == "failed" for r in runs(cluster)) >= 2, timeout=30)
        time.sleep(1.0)  # a duplicate would show up now
        done = [r for r in runs(cluster) if r.state == "succeeded"]
        assert len(done) == JOBS
        assert len({r.definition_id for r in done}) == JOBS
        assert all(r.attempt == 1 and r.result is not None for r in done)
        starts = sorted((r.started_at - r.due_at).total_seconds() for r in done)
        # The first starts soon after being due (about 0.5 s on an idle machine; the issue's
        # 1 s goal is a figure in docs/quality.md, not asserted under the suite's load); the rest
        # queue behind it, 100 due at once.
        assert 0 <= starts[0] < 5.0, f"first start {starts[0]:.2f} s after due"
        median = statistics.median(starts)
        print(f"job start after due: first {starts[0]:.3f} s, median {median:.3f} s")
        failed = [r for r in runs(cluster) if r.state == "failed"]
        assert [r.attempt for r in failed][:2] == [1, 2]
        assert "no instrument" in failed[0].error and "attempt 1 of 4" in failed[0].error
        assert (failed[1].started_at - failed[0].finished_at).total_seconds() >= 1.5  # back-off
        with factory() as session:
            count = session.scalar(select(func.count()).select_from(JobRun))
        assert count == JOBS + len(failed)
    finally:
        for worker in workers:
            stop(worker, signal.SIGTERM)  # type: ignore[arg-type]
