"""PostgreSQL: workers starting together on a new database create the job queue's tables
once, and none of them fails (the lock is held until the creating transaction commits)."""

from __future__ import annotations

import secrets
import threading

import pytest
from sqlalchemy import create_engine, text

from archive_center.job_queue import ensure_queue_schema
from catalog.db import make_engine
from tests.catalog.conftest import postgres_url
from tests.conftest import require

WORKERS = 6


@pytest.mark.postgres
def test_workers_starting_together_create_the_queue_once() -> None:
    url = postgres_url()
    require(url is not None, "PostgreSQL not configured (FIELDCAT_TEST_POSTGRES_URL unset)")
    assert url is not None
    schema = f"t_queue_{secrets.token_hex(4)}"
    admin = create_engine(url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engines = [
        make_engine(url, connect_args={"options": f"-csearch_path={schema}"})
        for _ in range(WORKERS)
    ]
    start = threading.Barrier(WORKERS)
    errors: list[BaseException] = []

    def worker(index: int) -> None:
        start.wait()
        try:
            ensure_queue_schema(engines[index])
        except BaseException as err:
            errors.append(err)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(WORKERS)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert errors == []
        with engines[0].connect() as conn:
            assert conn.scalar(text("SELECT count(*) FROM procrastinate_jobs")) == 0
    finally:
        for engine in engines:
            engine.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
