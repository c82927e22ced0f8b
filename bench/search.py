"""Search benchmark: latency of a combined query at 100,000 datasets vs 1,000, and with facet
counts vs without, on SQLite and (when reachable) PostgreSQL, measured in one run.

Usage: python bench/search.py [--quick] [--postgres-url URL | --no-postgres]
The last line printed is one JSON object: {"benchmark": "search", "figures": ..., "ratios": ...}.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import Connection, Engine, create_engine, insert, text
from sqlalchemy.orm import Session

from catalog.db import make_engine, make_session_factory, upgrade_database
from catalog.facet_cache import cache_for
from catalog.facet_triggers import create_triggers, drop_triggers, rebuild_tallies
from catalog.facets import refresh_center_counts
from catalog.models import Dataset, Variable, new_public_id, search_text_of
from catalog.registration import ensure_campaign, ensure_center
from catalog.schemas import Principal, SearchParams
from catalog.search import filter_clauses, search_datasets

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
NOW = datetime(2026, 6, 1, tzinfo=UTC)
FIRST = datetime(1996, 1, 1, tzinfo=UTC)
YEARS = 30
PLATFORMS = [
    "NCAR C-130", "Citation", "Mystere-20", "ORV Sagar Kanya", "R/V Ronald H. Brown",
    "KCO surface station", "Male radiosonde", "Goa lidar", "Mt Abu station", "Hanimadhoo",
    "Falcon-20", "King Air", "P-3B", "DC-8", "BAe-146", "Twin Otter", "ER-2", "Learjet",
    "Kashidoo tower", "Dharwar station",
]  # fmt: skip
INSTRUMENTS = [
    "Ozone photometer", "CO analyser", "CCN counter", "Nephelometer", "PSAP", "Lidar",
    "Radiosonde", "Sunphotometer", "Filter sampler", "Aethalometer", "SMPS", "OPC",
    "Pyranometer", "Hygrometer", "GC-MS",
]  # fmt: skip
VARIABLES = [
    "O3", "CO", "NO", "NO2", "SO2", "BC", "CN", "CCN", "T", "RH", "P", "WS", "WD", "ALT",
    "LAT", "LON", "SCAT550", "ABS550", "AOD500", "DMS", "H2O", "CO2", "CH4", "PM10", "PM25",
]  # fmt: skip
WORDS = ["ozone", "aerosol", "sounding", "flux", "chemistry", "radiation", "cloud", "haze"]
STATES = ["open"] * 14 + ["embargoed", "embargoed", "password", "private", "withdrawn"]
CENTERS = ["JOSS", "NPL", "LMD"]
PROJECTS = ["INDOEX", "ACE-Asia", "MINOS", None]


def dataset_rows(n: int, campaign_id: int, seed: int) -> Iterator[tuple[dict[str, Any], list[str]]]:
    """`n` synthetic datasets over 30 years, worldwide, with their variable names."""
    rng = random.Random(seed)
    span = YEARS * 365 * 86400
    pis = [
        f"PI {i:02d} {rng.choice(['Ramanathan', 'Crutzen', 'Lelieveld', 'Mitra'])}"
        for i in range(60)
    ]
    for i in range(n):
        start = FIRST + timedelta(seconds=rng.randrange(span))
        duration = min(rng.lognormvariate(10, 1.2), 40 * 86400)
        lat, lon = rng.uniform(-60, 60), rng.uniform(-180, 180)
        half_h, half_w = rng.uniform(0, 6), rng.uniform(0, 8)
        west, east = lon - half_w, lon + half_w
        west = west + 360 if west < -180 else west
        east = east - 360 if east > 180 else east  # crosses the antimeridian when west > east
        state = rng.choice(STATES)
        fields: dict[str, Any] = {
            "public_id": new_public_id(),
            "did": str(i),
            "campaign_id": campaign_id,
            "pi_name": rng.choice(pis),
            "platform": rng.choice(PLATFORMS),
            "instrument": rng.choice(INSTRUMENTS),
            "location": "mobile",
            "project": rng.choice(PROJECTS),
            "category": "research",
            "start": start,
            "stop": start + timedelta(seconds=duration),
            "duration_s": duration,
            "south": max(-90.0, lat - half_h),
            "north": min(90.0, lat + half_h),
            "west": west,
            "east": east,
            "data_version": "1.0",
            "title": f"{rng.choice(WORDS)} {rng.choice(WORDS)} {i}",
            "summary": "",
            "access_state": state,
            "release_at": NOW + timedelta(days=rng.choice([-30, 200]))
            if state in ("embargoed", "password")
            else None,
            "origin_center": rng.choice(CENTERS),
            "origin_version": 1,
            "listed": state in ("open", "embargoed", "password"),
            "created": NOW,
            "updated": NOW - timedelta(seconds=rng.randrange(span)),
        }
        for key, src in (
            ("pi_key", "pi_name"),
            ("platform_key", "platform"),
            ("instrument_key", "instrument"),
            ("project_key", "project"),
        ):
            fields[key] = None if fields[src] is None else fields[src].lower()
        variables = rng.sample(VARIABLES, rng.randint(2, 6))
        fields["search_text"] = search_text_of(fields, variables)
        yield fields, variables


def load(engine: Engine, n: int, seed: int = 7) -> float:
    """Migrate and bulk-insert `n` datasets; seconds taken."""
    t0 = time.perf_counter()
    upgrade_database(engine)
    factory = make_session_factory(engine)
    with factory() as session:
        for code in CENTERS:
            ensure_center(
                session, code, f"{code} center", f"http://{code.lower()}.test", code == "JOSS"
            )
        campaign = ensure_campaign(
            session, "INDOEX", "Indian Ocean Experiment", date(1999, 1, 1), date(1999, 3, 31)
        )
        session.commit()
        campaign_id = campaign.id
    batch: list[dict[str, Any]] = []
    var_batch: list[dict[str, Any]] = []
    postgres = engine.dialect.name == "postgresql"
    write = _copy_rows if postgres else _insert_rows
    with engine.begin() as conn:
        rebuild = _drop_indexes(conn) if postgres else _drop_fts_trigger(conn)
        drop_triggers(conn)  # the facet tallies too: counted once after the load
        for i, (fields, variables) in enumerate(dataset_rows(n, campaign_id, seed), start=1):
            fields["id"] = i
            batch.append(fields)
            var_batch.extend(
                {
                    "dataset_id": i,
                    "position": p,
                    "name": v,
                    "name_key": v.lower(),
                    "original_name": v,
                    "unit": None,
                    "original_unit": "",
                }
                for p, v in enumerate(variables)
            )
            if len(batch) >= 5000:
                write(conn, batch, var_batch)
                batch, var_batch = [], []
        if batch:
            write(conn, batch, var_batch)
        for statement in rebuild:
            conn.execute(text(statement))
        rebuild_tallies(conn)
        create_triggers(conn)
    with factory() as session:
        refresh_center_counts(session)  # the rows carry `listed` already: nothing rewritten
        session.commit()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f"VACUUM ANALYZE {_own_tables(conn)}" if postgres else "ANALYZE"))
    return time.perf_counter() - t0


def _own_tables(conn: Connection) -> str:
    """PostgreSQL: the tables of this catalog's schema, for `VACUUM`: a bare `VACUUM` takes
    the whole database and waits for every other session's open transaction."""
    names = conn.execute(
        text("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
    ).scalars()
    return ", ".join(f'"{name}"' for name in names)


def _insert_rows(conn: Connection, datasets: list[dict[str, Any]], variables: list[Any]) -> None:
    conn.execute(insert(Dataset), datasets)
    conn.execute(insert(Variable), variables)


def _copy_rows(conn: Connection, datasets: list[dict[str, Any]], variables: list[Any]) -> None:
    """PostgreSQL: the rows by `COPY` (columns left out take their server defaults)."""
    raw = conn.connection.driver_connection
    assert raw is not None
    for table, rows in (("datasets", datasets), ("variables", variables)):
        names = list(rows[0])
        columns = ", ".join(f'"{name}"' for name in names)
        with raw.cursor() as cur, cur.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row([row[name] for name in names])


def _drop_indexes(conn: Connection) -> list[str]:
    """PostgreSQL: drop every index of `datasets` and `variables` that backs no constraint
    (the full-text ones included), to be built once after the load; their DDL."""
    found = conn.execute(
        text(
            "SELECT i.relname, pg_get_indexdef(i.oid) FROM pg_index x"
            " JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid"
            " WHERE t.relname IN ('datasets', 'variables')"
            " AND t.relnamespace = current_schema()::regnamespace"
            " AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)"
        )
    ).all()
    for name, _ in found:
        conn.execute(text(f'DROP INDEX "{name}"'))
    return [definition for _, definition in found]


def _drop_fts_trigger(conn: Connection) -> list[str]:
    """SQLite: the FTS5 table is rebuilt once after the load, not row by row (migration 0008)."""
    conn.execute(text("DROP TRIGGER datasets_fts_ai"))
    return [
        "INSERT INTO datasets_fts(datasets_fts) VALUES ('rebuild')",
        "CREATE TRIGGER datasets_fts_ai AFTER INSERT ON datasets BEGIN "
        "INSERT INTO datasets_fts(rowid, search_text) VALUES (new.id, new.search_text); END",
    ]


COMBINED = {
    "start": datetime(2010, 3, 1, tzinfo=UTC),
    "end": datetime(2010, 9, 1, tzinfo=UTC),
    "bbox": (40.0, -40.0, 120.0, 40.0),
    "platform": "ncar c-130",
    "q": "ozone",
}


def run_query(engine: Engine, facets: bool) -> Callable[[], Any]:
    """One search request as the API makes it: a fresh session, the combined query."""
    factory = make_session_factory(engine)
    anon = Principal.anonymous()

    def once() -> Any:
        with factory() as session:
            return search_datasets(session, SearchParams(**COMBINED, facets=facets), anon, NOW)

    return once


def interleaved_medians(calls: dict[str, Callable[[], Any]], repeat: int) -> dict[str, float]:
    """Median milliseconds of each call, run round-robin so load drift hits all alike."""
    for fn in calls.values():
        fn()  # warm-up
    times: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(repeat):
        for name, fn in calls.items():
            t0 = time.perf_counter()
            fn()
            times[name].append((time.perf_counter() - t0) * 1000)
    return {name: statistics.median(values) for name, values in times.items()}


def broad_query_ms(engine: Engine, repeat: int) -> dict[str, float]:
    """The unfiltered first page with facets: counted afresh, and served by the facet cache."""
    factory = make_session_factory(engine)
    anon, params = Principal.anonymous(), SearchParams()

    def once() -> None:
        with factory() as session:
            search_datasets(session, params, anon, NOW)

    cold = []
    for _ in range(repeat):
        cache_for(engine).clear()
        t0 = time.perf_counter()
        once()
        cold.append((time.perf_counter() - t0) * 1000)
    warm = interleaved_medians({"warm": once}, repeat * 3)["warm"]
    return {"cold": statistics.median(cold), "warm": warm}


def explain(engine: Engine) -> str:
    """The query plan of the combined query's page, to show indexes rather than scans."""
    from sqlalchemy import select

    with Session(engine) as session:
        clauses = filter_clauses(session, SearchParams(**COMBINED), Principal.anonymous(), NOW)
        query = (
            select(Dataset.id)
            .where(*clauses)
            .order_by(Dataset.start.desc(), Dataset.public_id.desc())
            .limit(51)
        )
        compiled = query.compile(engine, compile_kwargs={"literal_binds": True})
        prefix = "EXPLAIN QUERY PLAN " if engine.dialect.name == "sqlite" else "EXPLAIN "
        rows = session.execute(text(prefix + str(compiled))).all()
    return "\n".join("    " + " ".join(str(c) for c in row) for row in rows)


@contextmanager
def sqlite_engine(folder: Path, name: str) -> Iterator[Engine]:
    """A fresh SQLite database file."""
    engine = make_engine(f"sqlite:///{folder / name}")
    try:
        yield engine
    finally:
        engine.dispose()


@contextmanager
def postgres_engine(url: str, keep: str | None = None) -> Iterator[Engine]:
    """A fresh schema on the PostgreSQL server, dropped afterwards; or, with `keep`, the
    schema `bench_keep_<keep>`, made if missing and left in place for the next run."""
    schema = f"bench_keep_{keep}" if keep else f"bench_{secrets.token_hex(4)}"
    admin = create_engine(url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
    engine = make_engine(url, connect_args={"options": f"-csearch_path={schema}"})
    try:
        yield engine
    finally:
        engine.dispose()
        if not keep:
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def postgres_reachable(url: str) -> bool:
    """Whether a PostgreSQL server answers at `url`."""
    try:
        engine = create_engine(url, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
        return True
    except Exception:
        return False


def bench_backend(
    name: str, make: Callable[[str], Any], sizes: tuple[int, int], repeat: int
) -> tuple[dict[str, float], dict[str, float]]:
    """Both sizes on one backend: figures and ratios named with the backend suffix."""
    small, large = sizes
    with ExitStack() as stack:
        engines = {n: stack.enter_context(make(f"n{n}.db")) for n in sizes}
        calls: dict[str, Callable[[], Any]] = {}
        for n, engine in engines.items():
            seconds = load(engine, n)
            page = run_query(engine, True)()
            print(
                f"[{name}] {n:>7} datasets loaded in {seconds:.1f}s; the combined query matches "
                f"{page.total} ({len(page.items)} on the first page)"
            )
            calls[f"plain_{n}"] = run_query(engine, False)
            calls[f"facets_{n}"] = run_query(engine, True)
        print(f"[{name}] plan of the combined query at {large}:\n{explain(engines[large])}")
        ms = interleaved_medians(calls, repeat)
        broad = broad_query_ms(engines[large], max(3, repeat // 10))
    print(
        f"[{name}] unfiltered first page with facets at {large}: {broad['cold']:.1f} ms counted, "
        f"{broad['warm']:.2f} ms from the facet cache"
    )
    for n in sizes:
        print(
            f"[{name}] {n:>7}: p50 {ms[f'facets_{n}']:.2f} ms, "
            f"{ms[f'plain_{n}']:.2f} ms without facets"
        )
    ratio_size = ms[f"facets_{large}"] / ms[f"facets_{small}"]
    ratio_plain = ms[f"plain_{large}"] / ms[f"plain_{small}"]
    ratio_facets = ms[f"facets_{large}"] / ms[f"plain_{large}"]
    print(
        f"[{name}] latency {large} vs {small}: {ratio_size:.2f} with facets, "
        f"{ratio_plain:.2f} without (goal <= 2)"
    )
    print(f"[{name}] facets vs plain at {large}: {ratio_facets:.2f} (goal <= 3)")
    figures = {
        f"search_p50_ms_100k_{name}": round(ms[f"facets_{large}"], 3),
        f"search_p50_ms_1k_{name}": round(ms[f"facets_{small}"], 3),
        f"search_plain_p50_ms_100k_{name}": round(ms[f"plain_{large}"], 3),
        f"search_unfiltered_cold_ms_100k_{name}": round(broad["cold"], 3),
        f"search_unfiltered_warm_ms_100k_{name}": round(broad["warm"], 3),
    }
    ratios = {
        f"latency_100k_vs_1k_{name}": round(ratio_size, 3),
        f"facets_vs_plain_{name}": round(ratio_facets, 3),
    }
    return figures, ratios


# --- NODE HOOK -------------------------------------------------------------------------------
# The HTTP part: a real uvicorn serving a center whose database holds the loaded datasets,
# driven by concurrent keep-alive clients on `/api/v1/datasets` (the combined query) and on
# `/api/v1/healthz` in the same run, each for a bounded time and request count.
def http_figures(args: argparse.Namespace) -> tuple[dict[str, float], dict[str, float]]:
    """Search requests per second over HTTP with concurrent clients, beside `/healthz`."""
    import http.client
    import socket
    import subprocess
    import threading
    from urllib.parse import urlencode

    n, seconds, clients = (2_000, 2.0, 4) if args.quick else (100_000, 8.0, 8)
    query = urlencode(
        {
            "start": COMBINED["start"].isoformat(),
            "end": COMBINED["end"].isoformat(),
            "bbox": ",".join(f"{v:g}" for v in COMBINED["bbox"]),
            "platform": COMBINED["platform"],
            "q": COMBINED["q"],
        }
    )

    def rps(port: int, target: str) -> float:
        done, stop_at = [0] * clients, time.monotonic() + seconds

        def client(i: int) -> None:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            try:
                while time.monotonic() < stop_at and done[i] < 50_000:
                    conn.request("GET", target)
                    response = conn.getresponse()
                    response.read()
                    if response.status != 200:
                        raise RuntimeError(f"GET {target}: {response.status}")
                    done[i] += 1
            finally:
                conn.close()

        threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
        began = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return sum(done) / (time.perf_counter() - began)

    repo = Path(__file__).resolve().parent.parent
    with tempfile.TemporaryDirectory(prefix="bench-search-http-") as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'fieldcat.db'}")
        load(engine, n)
        engine.dispose()
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        env = os.environ | {"FIELDCAT_ROOT": tmp, "FIELDCAT_PORT": str(port)}
        env |= {"PYTHONPATH": str(repo)}
        env.pop("FIELDCAT_CONFIG", None)
        server = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "--factory", "archive_center.app:create_app",
             "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning",
             "--no-access-log"],
            cwd=repo, env=env,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.2)
            rps(port, "/api/v1/datasets?" + query)  # warm up
            health = rps(port, "/api/v1/healthz")
            search = rps(port, "/api/v1/datasets?" + query)
        finally:
            server.terminate()
            server.wait(timeout=30)
    print(
        f"[http] {n} datasets, {clients} clients: search {search:.0f} req/s, "
        f"healthz {health:.0f} req/s, ratio {search / health:.3f}"
    )
    figures = {"search_rps": round(search, 1), "healthz_rps": round(health, 1)}
    return figures, {"search_rps_vs_healthz": round(search / health, 4)}


# ----------------------------------------------------------------------------------------------


def fulltext_part(args: argparse.Namespace) -> tuple[dict[str, float], dict[str, float]]:
    """Issue #15's figures (bench/parts/search_fulltext.py), and the order's memory."""
    from bench.parts.search_fulltext import fulltext_figures, order_memory

    use_pg = not args.no_postgres and postgres_reachable(args.postgres_url)
    url = args.postgres_url
    pg = (lambda name: postgres_engine(url, name if args.reuse else None)) if use_pg else None
    figures, ratios = fulltext_figures(args, load, sqlite_engine, pg)
    figures |= order_memory(50 if args.quick else 1_000)
    return figures, ratios


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the JSON summary line last."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, few repeats (smoke run)")
    parser.add_argument(
        "--postgres-url", default=os.environ.get("FIELDCAT_TEST_POSTGRES_URL", DEFAULT_PG)
    )
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--repeat", type=int, default=None)
    parser.add_argument(
        "--datasets", type=int, default=None,
        help="the large size of the full-text part (default 1,000,000; 20,000 with --quick)",
    )  # fmt: skip
    parser.add_argument(
        "--only", choices=("all", "classic", "fulltext"), default="all",
        help="classic: the combined query and HTTP figures; fulltext: only issue #15's "
        "full-text, suggestion, facet and order figures",
    )  # fmt: skip
    parser.add_argument(
        "--reuse", action="store_true",
        help="full-text part: keep each PostgreSQL catalog (schema bench_keep_<size>) and use "
        "it again in the next run instead of loading it anew; drop those schemas when done",
    )  # fmt: skip
    args = parser.parse_args(argv)
    if args.only == "fulltext":
        figures, ratios = fulltext_part(args)
        print(json.dumps({"benchmark": "search", "figures": figures, "ratios": ratios}))
        return 0
    sizes = (100, 2_000) if args.quick else (1_000, 100_000)
    repeat = args.repeat or (5 if args.quick else 40)
    figures: dict[str, float] = {}
    ratios: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="bench-search-") as tmp:
        folder = Path(tmp)
        f, r = bench_backend("sqlite", lambda name: sqlite_engine(folder, name), sizes, repeat)
        figures.update(f)
        ratios.update(r)
    if not args.no_postgres and postgres_reachable(args.postgres_url):
        f, r = bench_backend(
            "postgres", lambda _name: postgres_engine(args.postgres_url), sizes, repeat
        )
        figures.update(f)
        ratios.update(r)
    else:
        print("[postgres] not measured (no server reachable or --no-postgres)")
    f, r = http_figures(args)
    figures.update(f)
    ratios.update(r)
    if args.only == "all":
        f, r = fulltext_part(args)
        figures.update(f)
        ratios.update(r)
    print(json.dumps({"benchmark": "search", "figures": figures, "ratios": ratios}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
