"""Engines, sessions and programmatic Alembic migrations (no module-level engine)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

logger = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 30_000
MIGRATION_LOCK = 0x46434154  # "FCAT": the advisory lock key held while migrating
_UPGRADE_IN_PROCESS = threading.Lock()
"""Alembic's `context` proxy is process-global: two apps in one process (the LAN and the
public listener) must not run their upgrades at the same time."""


SQLITE_SYNCHRONOUS: Final = "FULL"
"""Every commit is on disk when it returns: with WAL, `NORMAL` may lose the last commits on a
power cut (not on a crash), i.e. a registration already answered 201. Measured by
`bench/submissions.py` (`durable_commit_vs_normal`): cheap beside the rest of an upload."""


def _sqlite_pragmas(synchronous: str) -> Callable[[Any, Any], None]:
    def set_pragmas(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            cursor.execute(f"PRAGMA synchronous={synchronous}")
        finally:
            cursor.close()

    return set_pragmas


def make_engine(url: str, *, sqlite_synchronous: str = SQLITE_SYNCHRONOUS, **kwargs: Any) -> Engine:
    """An engine for `url`: SQLite gets WAL, durable commits (`synchronous=FULL`), foreign
    keys and a busy timeout; PostgreSQL keeps its own durable defaults (`fsync`,
    `synchronous_commit=on`). `sqlite_synchronous` exists for the benchmark's baseline."""
    if sqlite_synchronous not in ("FULL", "NORMAL", "EXTRA"):
        raise ValueError(f"unsupported SQLite synchronous mode {sqlite_synchronous!r}")
    if url.startswith("sqlite"):
        connect_args = {"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
        engine = create_engine(url, connect_args=connect_args, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas(sqlite_synchronous))
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions bound to `engine` that keep loaded objects usable after commit."""
    return sessionmaker(bind=engine, expire_on_commit=False)


def alembic_config() -> Config:
    """The Alembic configuration, built in code (no alembic.ini)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def upgrade_database(engine: Engine) -> None:
    """Migrate the database to the newest revision (creates everything on a new database)."""
    config = alembic_config()
    with _UPGRADE_IN_PROCESS, engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            # Several nodes may start at once on one database: one migrates, the others wait.
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
    logger.info("database at migration head")


def head_revision() -> str | None:
    """The newest migration revision shipped with the package."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def database_ready(engine: Engine) -> bool:
    """True when the database answers and is migrated to the newest revision."""
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
            current = MigrationContext.configure(connection).get_current_revision()
    except SQLAlchemyError:
        logger.warning("database not reachable", exc_info=True)
        return False
    return current is not None and current == head_revision()


def pool_arguments(url: str, connections: int, timeout_s: float) -> dict[str, Any]:
    """`create_engine` pool options for at most `connections` held at once (half kept open).

    Empty for in-memory SQLite, whose single-connection pool takes no size.
    """
    in_memory = ":memory:" in url or url.rstrip("/") in ("sqlite:", "sqlite:/")
    if url.startswith("sqlite") and in_memory:
        return {}
    kept = max(1, connections // 2)
    return {"pool_size": kept, "max_overflow": connections - kept, "pool_timeout": timeout_s}
