"""A seeded node per test module: a real database (SQLite; PostgreSQL when its URL is set,
in a schema of its own) in a temp root, served through FastAPI's TestClient."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from archive_center.app import create_app
from tests.conftest import SAMPLES, postgres_schema, schema_url
from web.settings import CampaignSettings, Settings

NOW = datetime(2026, 1, 1, tzinfo=UTC)
FUTURE = NOW + timedelta(days=365)
MIRROR_URL = "http://npl.example:8101"
OPEN_SAMPLES = (
    "c130_rf07_track.txt",
    "kco_surface_hourly.txt",
    "sagar_kanya_sounding.txt",
)
EMBARGOED_SAMPLE = "seed_example.txt"
"""Shares its DID with c130_external_sampler.txt, which is therefore only used as the mirror."""


@dataclass
class Node:
    """A running test node: its app, client, root and the public ids of what it holds."""

    app: FastAPI
    client: TestClient
    settings: Settings
    ids: dict[str, str]
    """Sample file name (or `mirror`) -> public id."""


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def database_url(request: pytest.FixtureRequest) -> Iterator[str | None]:
    """None (SQLite in the root) or a PostgreSQL URL whose search_path is a fresh schema."""
    if request.param == "sqlite":
        yield None
        return
    with postgres_schema("t_node") as schema:
        yield schema_url(schema)


def campaign_settings() -> CampaignSettings:
    """INDOEX 1999, the campaign of the samples."""
    return CampaignSettings(
        code="INDOEX",
        start=date(1999, 1, 1),
        end=date(1999, 3, 31),
        intensive_end=date(1999, 3, 31),
    )


def seed(app: FastAPI) -> dict[str, str]:
    """Register the valid samples (one embargoed) and a record mirrored from NPL."""
    import formats
    from catalog.registration import ensure_center, register_datafile
    from catalog.storage import ArchiveStore
    from formats.timeparse import CampaignTime

    store: ArchiveStore = app.state.store
    campaign = CampaignTime(
        year=1999, start=datetime(1999, 1, 1, tzinfo=UTC), end=datetime(1999, 3, 31, tzinfo=UTC)
    )
    ids: dict[str, str] = {}
    plan = [(name, "JOSS", "open") for name in OPEN_SAMPLES]
    plan += [(EMBARGOED_SAMPLE, "JOSS", "embargoed"), ("c130_external_sampler.txt", "NPL", "open")]
    with app.state.session_factory() as session, session.begin():
        ensure_center(session, "NPL", "NPL New Delhi", MIRROR_URL, is_local=False)
        for name, center, state in plan:
            source = SAMPLES / "valid" / name
            datafile = formats.read(source, campaign=campaign, filename=name)
            staged = store.new_staging_path()
            shutil.copyfile(source, staged)
            sha256, path = store.put_original(staged)
            dataset = register_datafile(
                session,
                datafile=datafile,
                sha256=sha256,
                size=path.stat().st_size,
                original_name=name,
                center_code=center,
                campaign_code="INDOEX",
                access_state=state,
                release_at=FUTURE if state == "embargoed" else None,
                now=NOW,
            )
            ids["mirror" if center == "NPL" else name] = dataset.public_id
    return ids


def make_settings(root: Path, database_url: str | None) -> Settings:
    """Settings of a test center rooted at `root`."""
    return Settings(
        root=root,
        database_url=database_url,
        center_code="JOSS",
        center_name="UCAR/JOSS Boulder",
        public_url="http://testserver",
        campaign=campaign_settings(),
    )


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory, database_url: str | None) -> Iterator[Node]:
    """A seeded node with its TestClient (lifespan run), the clock pinned to NOW."""

    settings = make_settings(tmp_path_factory.mktemp("node"), database_url)
    app = create_app(settings)
    app.state.clock = lambda: NOW
    with TestClient(app) as client:
        ids = seed(app)
        yield Node(app, client, settings, ids)
