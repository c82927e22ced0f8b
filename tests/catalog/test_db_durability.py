"""SQLite commits are durable when they return (WAL with synchronous=FULL)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from catalog.db import make_engine

FULL = 2  # PRAGMA synchronous: 0 OFF, 1 NORMAL, 2 FULL, 3 EXTRA


def test_every_sqlite_connection_is_wal_with_full_sync(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'durable.db'}", pool_size=2)
    try:
        for _ in range(3):  # fresh connections each get the pragmas
            with engine.connect() as connection:
                assert connection.execute(text("PRAGMA synchronous")).scalar() == FULL
                assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
                connection.invalidate()
    finally:
        engine.dispose()


def test_the_benchmark_baseline_may_ask_for_normal_and_nothing_else(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'normal.db'}", sqlite_synchronous="NORMAL")
    try:
        with engine.connect() as connection:
            assert connection.execute(text("PRAGMA synchronous")).scalar() == 1
    finally:
        engine.dispose()
    with pytest.raises(ValueError):
        make_engine(f"sqlite:///{tmp_path / 'x.db'}", sqlite_synchronous="OFF; DROP")
