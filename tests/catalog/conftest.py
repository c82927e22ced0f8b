"""Catalog fixtures: one migrated database per backend (SQLite always, PostgreSQL when
FIELDCAT_TEST_POSTGRES_URL is set, in its own schema that is dropped at the end)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, insert, select, text
from sqlalchemy.orm import Session, sessionmaker

from catalog.db import make_engine, make_session_factory, upgrade_database
from catalog.facet_cache import cache_for
from catalog.facet_models import FacetPairTally, FacetTally
from catalog.models import Base, ChangeCounter, User
from catalog.registration import ensure_campaign, ensure_center
from tests.conftest import postgres_schema, schema_engine

NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
]


def trigger_names(engine: Engine) -> set[str]:
    """The triggers on the tables of `engine`'s database (PostgreSQL: of its schema only,
    since other tests' schemas hold triggers of the same names)."""
    query = (
        "SELECT name FROM sqlite_master WHERE type = 'trigger'"
        if engine.dialect.name == "sqlite"
        else "SELECT t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
        "WHERE NOT t.tgisinternal AND c.relnamespace = current_schema()::regnamespace"
    )
    with engine.connect() as conn:
        return {str(name) for name in conn.execute(text(query)).scalars()}


@pytest.fixture(scope="session", params=BACKENDS)
def engine(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Engine]:
    """A database migrated to head, per backend."""
    if request.param == "sqlite":
        path: Path = tmp_path_factory.mktemp("catalog") / "catalog.db"
        eng = make_engine(f"sqlite:///{path}")
        upgrade_database(eng)
        yield eng
        eng.dispose()
        return
    with postgres_schema("t_catalog") as schema:
        eng = schema_engine(schema)
        try:
            upgrade_database(eng)
            yield eng
        finally:
            eng.dispose()


def wipe(engine: Engine) -> None:
    """Delete every row the tests wrote, reset the change counter, forget cached counts."""
    cache_for(engine).clear()
    with engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(table.delete())
        for tallies in (FacetTally, FacetPairTally):  # the deletes above appended to them
            conn.execute(tallies.__table__.delete())
        conn.execute(insert(ChangeCounter).values(id=1, last_seq=0))


@pytest.fixture
def db(engine: Engine) -> Iterator[Session]:
    """A session on a clean catalog: centers JOSS (local) and NPL, campaign INDOEX, users 1, 2."""
    session = make_session_factory(engine)()
    try:
        ensure_center(session, "JOSS", "UCAR/JOSS Boulder", "http://joss.test", is_local=True)
        ensure_center(session, "NPL", "NPL New Delhi", "http://npl.test", is_local=False)
        ensure_campaign(
            session,
            "INDOEX",
            "Indian Ocean Experiment",
            start=date(1999, 1, 1),
            end=date(1999, 3, 31),
            intensive_end=date(1999, 3, 31),
        )
        for user_id, name in ((1, "owner"), (2, "other")):
            session.add(User(id=user_id, username=name, role="pi", created_at=NOW))
        session.commit()
        yield session
    finally:
        session.rollback()
        session.close()
        wipe(engine)


@pytest.fixture
def session_factory(engine: Engine, db: Session) -> sessionmaker[Session]:
    """Sessions on the same clean catalog as `db` (for tests that need several)."""
    return make_session_factory(engine)


def counter(session: Session) -> int:
    """The change counter's value."""
    return int(session.scalar(select(ChangeCounter.last_seq)) or 0)
