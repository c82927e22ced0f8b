"""A real node (`fieldcat serve`) under 200 concurrent search clients, and downloads joining
searches: no 500, no stall, overload answered 503 fast (SQLite and PostgreSQL).

About a minute in all (the 30 s run per database is the issue's figure; set
`FIELDCAT_LOAD_SECONDS` to run longer or shorter).
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text

from bench.parts.load_search import (
    SEARCHES,
    ClientGroup,
    LoadResult,
    run_load,
    run_mixed,
    seed_sqlite,
)
from tests.archive_center.fieldcat_process import free_ports, start_fieldcat, stop, wait_ready
from tests.conftest import POSTGRES_ENV, SAMPLES, postgres_url, require

pytestmark = [pytest.mark.timeout(300), pytest.mark.solo]  # throughput bounds

QUEUE_TIMEOUT_S = 3.0
SERVICE_SLACK_S = 3.0
"""Beyond the queue time: the handler's own work beside the other active requests, and
the transfer, on a loaded machine (the stall this guards against lasted 30 s and more)."""
LOAD_SECONDS = float(os.environ.get("FIELDCAT_LOAD_SECONDS", "30"))
CATALOG_SIZE = 2_000
DOWNLOADS = ("c130_rf07_track.txt", "kco_surface_hourly.txt", "sagar_kanya_sounding.txt")


def _register_samples(url: str, root: Path) -> list[str]:
    """Archive the open samples in the node's store; their public ids."""
    import formats
    from catalog.db import make_engine, make_session_factory
    from catalog.registration import register_datafile
    from catalog.storage import ArchiveStore
    from formats.timeparse import CampaignTime

    store = ArchiveStore(root)
    store.create_dirs()
    campaign = CampaignTime(
        year=1999, start=datetime(1999, 1, 1, tzinfo=UTC), end=datetime(1999, 3, 31, tzinfo=UTC)
    )
    engine = make_engine(url)
    ids = []
    try:
        if engine.dialect.name == "postgresql":  # the bench catalog set ids explicitly
            with engine.begin() as conn:
                conn.execute(
                    text(
                        "SELECT setval(pg_get_serial_sequence('datasets', 'id'), "
                        "(SELECT max(id) FROM datasets))"
                    )
                )
        with make_session_factory(engine)() as session, session.begin():
            for name in DOWNLOADS:
                source = SAMPLES / "valid" / name
                staged = store.new_staging_path()
                shutil.copyfile(source, staged)
                sha256, path = store.put_original(staged)
                dataset = register_datafile(
                    session, datafile=formats.read(source, campaign=campaign, filename=name),
                    sha256=sha256, size=path.stat().st_size, original_name=name,
                    center_code="JOSS", campaign_code="INDOEX", access_state="open",
                    now=datetime(2026, 1, 1, tzinfo=UTC),
                )  # fmt: skip
                ids.append(dataset.public_id)
    finally:
        engine.dispose()
    return ids


BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(scope="module", params=BACKENDS)
def catalog(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Path, str | None, list[str]]]:
    """A node root with a 2,000-dataset catalog and three archived files; the database URL."""
    require(SAMPLES.is_dir(), f"shared samples not found at {SAMPLES}")
    root = tmp_path_factory.mktemp(f"load-{request.param}")
    if request.param == "sqlite":
        seed_sqlite(root, CATALOG_SIZE)
        yield root, None, _register_samples(f"sqlite:///{root / 'fieldcat.db'}", root)
        return
    base = postgres_url()
    require(base is not None, f"{POSTGRES_ENV} is not set")
    assert base is not None
    from bench.parts.load_search import seeded_postgres

    with seeded_postgres(base, CATALOG_SIZE) as url:
        yield root, url, _register_samples(url, root)


@pytest.fixture(scope="module")
def node_port(catalog: tuple[Path, str | None, list[str]]) -> Iterator[int]:
    """`fieldcat serve` on the catalog, its queue time set to QUEUE_TIMEOUT_S."""
    root, url, _ids = catalog
    port = free_ports(1)
    env = {
        "FIELDCAT_ROOT": str(root),
        "FIELDCAT_PORT": str(port),
        "FIELDCAT_FEDERATION__ENABLED": "false",
        "FIELDCAT_SERVER__QUEUE_TIMEOUT_S": str(QUEUE_TIMEOUT_S),
    }
    if url:
        env["FIELDCAT_DATABASE_URL"] = url
    log = root / f"serve-{secrets.token_hex(3)}.log"
    process = start_fieldcat("serve", "--no-worker", log=log, **env)
    try:
        wait_ready(f"http://127.0.0.1:{port}/api/v1/readyz", process, log)
        run_load(port, 10, 2.0)  # warm up: imports, caches, connections
        yield port
    finally:
        stop(process, signal.SIGTERM)


CONVERSION_SLACK_S = 6.0
"""A converted download may wait twice: to be admitted, then for the conversion gate (one
conversion working per core, a few waiting their turn): still far below the 30 s stall."""


def _served_or_refused_fast(result: LoadResult, what: str, extra_s: float = 0.0) -> None:
    assert result.transport_errors == 0, f"{what}: connections failed"
    assert set(result.statuses) <= {200, 503}, f"{what}: {result.statuses}"
    slowest_refusal = max(result.latencies_busy, default=0.0)
    bound = QUEUE_TIMEOUT_S + SERVICE_SLACK_S + extra_s
    assert slowest_refusal <= bound, f"{what}: a 503 was slow"
    assert result.max_latency_s <= bound, f"{what}: a request waited {result.max_latency_s:.1f} s"


def test_200_search_clients_keep_the_throughput_of_20(node_port: int) -> None:
    """The 20-client figure is taken before and after the 200-client run and averaged, so a
    change in the machine's other load during the run does not pass for the node's doing."""
    before = run_load(node_port, 20, 5.0)
    loaded = run_load(node_port, 200, LOAD_SECONDS)
    after = run_load(node_port, 20, 5.0)
    baseline = (before.rps + after.rps) / 2
    print(
        f"20 clients {before.rps:.1f}/{after.rps:.1f} req/s; 200 clients {loaded.rps:.1f} "
        f"req/s, 503 {loaded.busy}, max {loaded.max_latency_s:.2f} s"
    )
    for result in (before, loaded, after):
        _served_or_refused_fast(result, f"{result.clients} clients")
    assert loaded.ok > 0
    assert loaded.rps >= 0.7 * baseline, (baseline, loaded.rps)


def test_downloads_joining_searches_are_served_or_refused_fast(
    node_port: int, catalog: tuple[Path, str | None, list[str]]
) -> None:
    ids = catalog[2]
    downloads = tuple(f"/api/v1/datasets/{i}/data" for i in ids)
    downloads += tuple(f"/api/v1/datasets/{i}/data?format=csv" for i in ids)
    searches, fetches = run_mixed(
        node_port,
        [ClientGroup(50, SEARCHES, 12.0), ClientGroup(50, downloads, 10.0, delay_s=2.0)],
    )
    print(f"searches {searches.statuses}, downloads {fetches.statuses}")
    _served_or_refused_fast(searches, "searches")
    _served_or_refused_fast(fetches, "downloads", CONVERSION_SLACK_S)
    assert searches.ok > 0 and fetches.ok > 0, "both kinds of work were served"
