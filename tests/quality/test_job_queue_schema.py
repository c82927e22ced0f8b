"""PostgreSQL: workers starting together on a new database create the job queue's tables
once, and none of them fails (the lock is held until the creating transaction commits)."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import Engine, text

from archive_center.job_queue import ensure_queue_schema
from tests.conftest import postgres_schema, schema_engine

WORKERS = 6


@pytest.mark.postgres
def test_workers_starting_together_create_the_queue_once() -> None:
    start = threading.Barrier(WORKERS)
    errors: list[BaseException] = []

    def worker(engine: Engine) -> None:
        start.wait()
        try:
            ensure_queue_schema(engine)
        except BaseException as err:
            errors.append(err)

    with postgres_schema("t_queue") as schema:
        engines = [schema_engine(schema) for _ in range(WORKERS)]
        try:
            threads = [threading.Thread(target=worker, args=(e,)) for e in engines]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=60)
            assert not any(t.is_alive() for t in threads), "workers did not finish"
            assert errors == []
            with engines[0].connect() as conn:
                assert conn.scalar(text("SELECT count(*) FROM procrastinate_jobs")) == 0
        finally:
            for engine in engines:
                engine.dispose()
