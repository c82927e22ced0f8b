"""Shared fixtures: sample paths, and the rule that a missing external part skips its tests
with the reason, unless FIELDCAT_REQUIRE_ALL=1 (as in CI) turns that skip into a failure.

The sample files live in the repository (`tests/fixtures/samples/`, their README says where
each comes from), so a fresh clone tests on its own."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text

from catalog.db import make_engine

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO / "tests" / "fixtures" / "samples"


def require(condition: bool, reason: str) -> None:
    """Skip the calling test when `condition` is false, or fail it under FIELDCAT_REQUIRE_ALL=1."""
    if condition:
        return
    if os.environ.get("FIELDCAT_REQUIRE_ALL") == "1":
        pytest.fail(f"required part missing (FIELDCAT_REQUIRE_ALL=1): {reason}")
    pytest.skip(reason)


def _weight(path: Path, marks: set[str], count: int) -> tuple[int, int]:
    """A test file's place in a parallel run, long ones first: a benchmark's quick run, a
    file marked `slow`, one driving Chromium, one starting real processes (`*_run.py`), then
    the rest, the files with more tests first."""
    name = path.name
    kind = (0 if name.startswith("test_bench_") else 1 if "slow" in marks
            else 2 if "browser" in marks else 3 if name.endswith("_run.py") else 4)  # fmt: skip
    return kind, -count


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """In an xdist worker, order the files long ones first (`_weight`; each file's tests stay
    in their order), and `make test` keeps that order (`--no-loadscope-reorder`).

    xdist hands a file at a time to the worker that is free. By default it orders the files
    by their number of tests, which put the one-test files last: the benchmarks' quick runs
    and the kill -9 and three-node runs, a minute or two each, so one worker ran them at the
    end while the other sat idle. Started first, they run beside the many short files. Not
    in a single process: there the order is the files', so a package's shared nodes start
    once."""
    if not hasattr(config, "workerinput"):
        return
    files: dict[Path, tuple[set[str], int]] = {}
    for item in items:
        marks, count = files.get(item.path, (set(), 0))
        files[item.path] = (marks | {m.name for m in item.iter_markers()}, count + 1)
    weights = {path: _weight(path, *found) for path, found in files.items()}
    items.sort(key=lambda item: weights[item.path])  # stable: a file's order is kept


POSTGRES_ENV = "FIELDCAT_TEST_POSTGRES_URL"
"""The variable that gives the tests their PostgreSQL server (a URL); unset, they skip it."""


def postgres_url() -> str | None:
    """The test PostgreSQL URL, if one is configured."""
    return os.environ.get(POSTGRES_ENV) or None


@contextmanager
def postgres_schema(prefix: str) -> Iterator[str]:
    """A new schema on the test PostgreSQL server (required: `require`), dropped with all it
    holds afterwards; its name (`schema_engine` opens an engine on it, `schema_url` gives a
    database URL for a node's settings)."""
    url = postgres_url()
    require(url is not None, f"PostgreSQL not configured ({POSTGRES_ENV} unset)")
    assert url is not None
    schema = f"{prefix}_{secrets.token_hex(4)}"
    admin = create_engine(url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield schema
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def schema_engine(schema: str) -> Engine:
    """An engine on the test PostgreSQL server whose tables live in `schema`."""
    url = postgres_url()
    assert url is not None
    return make_engine(url, connect_args={"options": f"-csearch_path={schema}"})


def schema_url(schema: str) -> str:
    """The test PostgreSQL URL with `schema` as its search path (for a node's config)."""
    url = postgres_url()
    assert url is not None
    return f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}"


@pytest.fixture(scope="session")
def samples() -> Path:
    """The sample files (`valid/`, `invalid/`, `real/`) of `tests/fixtures/samples/`."""
    assert SAMPLES.is_dir(), f"sample files missing from the repository: {SAMPLES}"
    return SAMPLES
