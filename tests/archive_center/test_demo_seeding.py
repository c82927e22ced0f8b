"""Seeding registers generated files in a center: archived originals, catalog records."""

from __future__ import annotations

import stat
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from archive_center.cli_node import prepare
from archive_center.demo.campaign import FLIGHTS, SOUNDINGS, write_campaign
from archive_center.demo.seeding import DEMO_EMBARGO, seed_center
from catalog.db import make_engine, make_session_factory
from catalog.schemas import Principal, SearchParams
from catalog.search import get_dataset, search_datasets
from catalog.storage import ArchiveStore
from tests.conftest import postgres_schema, schema_url
from web.settings import Settings

NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def npl_files(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """The NPL center's generated data files."""
    written = write_campaign(tmp_path_factory.mktemp("campaign"))
    return [f.path for f in written if f.center == "NPL" and f.kind == "data"]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Settings]:
    """An NPL center prepared on SQLite, or on PostgreSQL in a schema of its own."""
    if request.param == "sqlite":
        center = Settings(center_code="NPL", center_name="NPL New Delhi", root=tmp_path)
        prepare(center)
        yield center
        return
    with postgres_schema("t_seed") as schema:
        center = Settings(
            center_code="NPL",
            center_name="NPL New Delhi",
            root=tmp_path,
            database_url=schema_url(schema),
        )
        prepare(center)
        yield center


def test_seeding_archives_and_registers_every_file(
    settings: Settings, npl_files: list[Path]
) -> None:
    embargoed = npl_files[0].name
    ids = seed_center(settings, npl_files, embargoed={embargoed}, now=NOW)
    assert len(set(ids)) == len(npl_files) == sum(1 for s in SOUNDINGS if s.center == "NPL")
    engine = make_engine(settings.effective_database_url)
    store = ArchiveStore(settings.root)
    try:
        with make_session_factory(engine)() as session:
            page = search_datasets(session, SearchParams(), Principal.anonymous(), NOW)
            assert {item.public_id for item in page.items} == set(ids)
            assert {item.origin_center for item in page.items} == {"NPL"}
            for public_id, path in zip(ids, npl_files, strict=True):
                detail = get_dataset(session, public_id, Principal.anonymous(), NOW)
                (version,) = detail.versions
                assert version.original_name == path.name
                original = store.original_path(version.sha256)
                assert original.read_bytes() == path.read_bytes()
                assert not original.stat().st_mode & stat.S_IWUSR, "originals are read-only"
                if path.name == embargoed:
                    assert detail.access_state == "embargoed"
                    assert detail.release_at == NOW + DEMO_EMBARGO
                else:
                    assert detail.access_state == "open"
        assert not list(store.staging_dir.iterdir()), "nothing left in staging"
    finally:
        engine.dispose()


def test_seeding_the_same_files_again_adds_nothing(
    settings: Settings, npl_files: list[Path]
) -> None:
    first = seed_center(settings, npl_files, now=NOW)
    again = seed_center(settings, npl_files, now=NOW + timedelta(hours=1))
    assert again == first
    engine = make_engine(settings.effective_database_url)
    try:
        with make_session_factory(engine)() as session:
            page = search_datasets(session, SearchParams(), Principal.anonymous(), NOW)
            assert len(page.items) == len(npl_files)
            for public_id in first:
                detail = get_dataset(session, public_id, Principal.anonymous(), NOW)
                assert len(detail.versions) == 1
    finally:
        engine.dispose()


def test_a_flight_seeded_into_its_center_has_its_track_extent(tmp_path: Path) -> None:
    center = Settings(center_code="JOSS", root=tmp_path / "joss")
    prepare(center)
    written = write_campaign(tmp_path / "campaign")
    flight = next(f.path for f in written if f.path.name.startswith("c130_rf04"))
    (public_id,) = seed_center(center, [flight], now=NOW)
    engine = make_engine(center.effective_database_url)
    try:
        with make_session_factory(engine)() as session:
            detail = get_dataset(session, public_id, Principal.anonymous(), NOW)
    finally:
        engine.dispose()
    spec = next(f for f in FLIGHTS if f.platform == "C130" and f.flight_no == 4)
    assert detail.start == spec.takeoff
    assert detail.bbox is not None
    west, south, east, north = detail.bbox
    assert south == pytest.approx(4.19, abs=0.01) and north == pytest.approx(12.0, abs=0.01)
    assert west == pytest.approx(72.5, abs=0.01) and east == pytest.approx(73.53, abs=0.01)
    assert {"O3", "CO", "BC", "CN"} <= set(detail.variables)


def test_seeding_goes_through_the_submission_pipeline_products_included(tmp_path: Path) -> None:
    from sqlalchemy import select

    from catalog.models import Product
    from catalog.submission_models import Submission

    center = Settings(center_code="NPL", center_name="NPL New Delhi", root=tmp_path / "npl")
    prepare(center)
    written = write_campaign(tmp_path / "campaign")
    mine = [f for f in written if f.center == "NPL"]
    ids = seed_center(center, [f.path for f in mine], now=NOW)
    engine = make_engine(center.effective_database_url)
    try:
        with make_session_factory(engine)() as session:
            rows = list(session.scalars(select(Submission)))
            assert {r.state for r in rows} == {"registered"} and len(rows) == len(mine)
            assert {r.receiver for r in rows} == {"seed"}
            products = list(session.scalars(select(Product)))
            assert {p.filename for p in products} == {
                f.path.name for f in mine if f.kind == "product"
            }
            assert products
    finally:
        engine.dispose()
    assert len(ids) == sum(1 for f in mine if f.kind == "data")
