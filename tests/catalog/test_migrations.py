"""The migrated schema is the models' schema, on every backend, and readiness reflects it."""

from __future__ import annotations

import contextlib
import threading
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect

from catalog.db import alembic_config, database_ready, make_engine, upgrade_database
from catalog.facet_triggers import TRIGGERS
from catalog.models import Base, exists_on
from tests.catalog.conftest import trigger_names
from tests.conftest import postgres_schema, schema_engine


def _include(obj, name, type_, reflected, compare_to) -> bool:
    if type_ == "table" and reflected and name.startswith("datasets_fts"):
        return False  # SQLite's FTS5 index and its shadow tables (migration 0008)
    return not (type_ == "index" and not reflected and not exists_on(obj, DIALECT[0]))


DIALECT = [""]


def test_migrated_schema_matches_models(engine: Engine) -> None:
    DIALECT[0] = engine.dialect.name
    with engine.connect() as conn:
        opts = {"compare_type": True, "include_object": _include}
        context = MigrationContext.configure(conn, opts=opts)
        diff = compare_metadata(context, Base.metadata)
    assert diff == []


def test_search_indexes_exist(engine: Engine) -> None:
    names = {ix["name"] for ix in inspect(engine).get_indexes("datasets")}
    for wanted in (
        "ix_datasets_start_pid",
        "ix_datasets_platform_start",
        "ix_datasets_instrument_start",
        "ix_datasets_pi_start",
        "ix_datasets_state_release",
        "ix_datasets_title_pid",
        "ix_datasets_updated_pid",
    ):
        assert wanted in names


def test_upgrade_is_idempotent_and_ready(engine: Engine) -> None:
    upgrade_database(engine)
    assert database_ready(engine)


def test_unmigrated_database_is_not_ready(tmp_path) -> None:
    fresh = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    assert not database_ready(fresh)
    upgrade_database(fresh)
    assert database_ready(fresh)
    fresh.dispose()


def test_unreachable_database_is_not_ready() -> None:
    broken = make_engine(
        "postgresql+psycopg://nobody@127.0.0.1:1/none", connect_args={"connect_timeout": 1}
    )
    assert not database_ready(broken)


def test_box_indexes_exist_where_the_planner_can_use_them(engine: Engine) -> None:
    names = {ix["name"] for ix in inspect(engine).get_indexes("datasets")}
    expected = engine.dialect.name == "postgresql"
    assert ("ix_datasets_lat" in names) is expected
    assert ("ix_datasets_lon" in names) is expected


@pytest.mark.postgres
def test_concurrent_upgrades_of_a_new_database() -> None:
    """Nodes starting together on one new PostgreSQL database all come up migrated."""
    errors: list[BaseException] = []

    def up(e: Engine) -> None:
        try:
            upgrade_database(e)
        except BaseException as err:
            errors.append(err)

    with postgres_schema("t_catalog_up") as schema:
        engines = [schema_engine(schema) for _ in range(3)]
        try:
            threads = [threading.Thread(target=up, args=(e,)) for e in engines]
            for t in threads:
                t.start()
            for t in threads:
                t.join(timeout=60)
            assert not any(t.is_alive() for t in threads), "upgrades did not finish"
            assert errors == []
            assert all(database_ready(e) for e in engines)
        finally:
            for e in engines:
                e.dispose()


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_the_facet_rows_revision_goes_down_to_the_tallies_and_up_again(
    backend: str, tmp_path: Path
) -> None:
    """Down from 0029: the facet rows and their triggers go, the tallies' triggers stay (as
    0028 made them); up again: all back."""
    with contextlib.ExitStack() as stack:
        if backend == "sqlite":
            engine = make_engine(f"sqlite:///{tmp_path / 'down.db'}")
        else:
            engine = schema_engine(stack.enter_context(postgres_schema("t_down")))
        stack.callback(engine.dispose)
        upgrade_database(engine)
        everything = trigger_names(engine)
        assert set(TRIGGERS) <= everything
        tallies = {t for t in TRIGGERS if not t.startswith("facet_rows_")}
        config = alembic_config()
        with engine.begin() as conn:
            config.attributes["connection"] = conn
            command.downgrade(config, "0028")
        assert "facet_rows" not in inspect(engine).get_table_names()
        assert {t for t in trigger_names(engine) if "facet" in t} == tallies
        upgrade_database(engine)
        assert trigger_names(engine) == everything
        assert "facet_rows" in inspect(engine).get_table_names()
