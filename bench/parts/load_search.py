"""Search under load (part of `bench/load.py`): search throughput at 20, 100 and 200
concurrent clients against a real uvicorn node, and the same load on an asyncio variant of
the search path (sync sessions in the threadpool vs SQLAlchemy asyncio end to end), measured
in one run.

Usage: python bench/load.py [--quick] [--seconds S] [--postgres-url URL | --no-postgres]
The last line printed is one JSON object: {"benchmark": "load", "figures": ..., "ratios": ...}.

Each client is a keep-alive HTTP/1.1 connection that sends its next search as soon as the
last one is answered (closed loop; after a 503 it waits the `Retry-After` it was given, as a
polite client does), from one asyncio loop in this process (a raw client: httpx would cost
more CPU than the node it measures on a small machine). A 503 is the node refusing work
fast; `search_errors` counts everything else that is not a 200 (5xx, transport errors).

The asyncio variant (`async_search_app`) is the same app with `GET /api/v1/datasets`
replaced by an `async def` route that runs the same `catalog.search.search_datasets` on an
`AsyncSession` (aiosqlite or psycopg async) through `run_sync`: the database I/O is awaited
on the event loop instead of blocking a worker thread.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

# Module level: FastAPI resolves the asyncio route's (string) annotations from here.
from fastapi import Depends, Request

from archive_center.routers.datasets import SEARCH_QUERY, search_params
from bench.search import DEFAULT_PG, postgres_reachable
from catalog.schemas import Principal, SearchPage, SearchParams
from web.deps import NowDep, forbid_unknown_query

REPO = Path(__file__).resolve().parents[2]
SEARCHES = (
    "/api/v1/datasets?limit=20",
    "/api/v1/datasets?q=ozone&limit=20",
    "/api/v1/datasets?platform=ncar%20c-130&limit=20",
    "/api/v1/datasets?bbox=40,-40,120,40&limit=20",
    "/api/v1/datasets?start=2010-03-01T00:00:00Z&end=2010-09-01T00:00:00Z&limit=20",
)
VARIANTS = {
    "sync": "archive_center.app:create_app",
    "async": "bench.parts.load_search:async_search_app",
}


# ---------------------------------------------------------------- the load generator -------


@dataclass
class LoadResult:
    """What one closed-loop run saw."""

    clients: int
    seconds: float
    statuses: dict[int, int] = field(default_factory=dict)
    transport_errors: int = 0
    latencies_ok: list[float] = field(default_factory=list)
    latencies_busy: list[float] = field(default_factory=list)

    @property
    def ok(self) -> int:
        """Answers 200."""
        return self.statuses.get(200, 0)

    @property
    def busy(self) -> int:
        """Answers 503 (refused fast)."""
        return self.statuses.get(503, 0)

    @property
    def errors(self) -> int:
        """Everything that is neither a 200 nor a 503: other statuses and transport errors."""
        other = sum(n for code, n in self.statuses.items() if code not in (200, 503))
        return other + self.transport_errors

    @property
    def rps(self) -> float:
        """Answers 200 per second."""
        return self.ok / self.seconds

    @property
    def max_latency_s(self) -> float:
        """The longest wait for any answer."""
        return max([*self.latencies_ok, *self.latencies_busy], default=0.0)

    def percentile(self, q: float) -> float:
        """A latency percentile of the 200 answers, in seconds."""
        if not self.latencies_ok:
            return 0.0
        ordered = sorted(self.latencies_ok)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def _read_answer(reader: asyncio.StreamReader) -> tuple[int, bool, float]:
    """Read one HTTP/1.1 response; (status, whether the server closes the connection, its
    `Retry-After` in seconds or 0)."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    if "content-length" in headers:
        await reader.readexactly(int(headers["content-length"]))
    elif headers.get("transfer-encoding", "").lower() == "chunked":
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    retry_after = headers.get("retry-after", "0")
    delay = float(retry_after) if retry_after.isdigit() else 0.0
    return status, headers.get("connection", "").lower() == "close", delay


async def _client(
    port: int, paths: tuple[str, ...], offset: int, stop_at: float, result: LoadResult
) -> None:
    connection: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
    i = offset
    while time.monotonic() < stop_at:
        path = paths[i % len(paths)]
        i += 1
        began = time.perf_counter()
        try:
            if connection is None:
                connection = await asyncio.open_connection("127.0.0.1", port)
            reader, writer = connection
            writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
            status, closing, retry_after = await _read_answer(reader)
        except (OSError, asyncio.IncompleteReadError, ValueError, IndexError):
            result.transport_errors += 1
            if connection is not None:
                connection[1].close()
            connection = None
            await asyncio.sleep(0.05)
            continue
        elapsed = time.perf_counter() - began
        result.statuses[status] = result.statuses.get(status, 0) + 1
        (result.latencies_ok if status == 200 else result.latencies_busy).append(elapsed)
        if closing:
            connection[1].close()
            connection = None
        if retry_after:  # a polite client: told to come back later, it does
            await asyncio.sleep(min(retry_after, max(0.0, stop_at - time.monotonic())))
    if connection is not None:
        connection[1].close()


async def _run_load(port: int, clients: int, seconds: float, paths: tuple[str, ...]) -> LoadResult:
    result = LoadResult(clients=clients, seconds=seconds)
    stop_at = time.monotonic() + seconds
    await asyncio.gather(*(_client(port, paths, n, stop_at, result) for n in range(clients)))
    return result


@dataclass(frozen=True)
class ClientGroup:
    """Clients that start `delay_s` into a mixed run and ask `paths` for `seconds`."""

    clients: int
    paths: tuple[str, ...]
    seconds: float
    delay_s: float = 0.0


async def _run_group(port: int, group: ClientGroup) -> LoadResult:
    await asyncio.sleep(group.delay_s)
    return await _run_load(port, group.clients, group.seconds, group.paths)


def run_mixed(port: int, groups: list[ClientGroup]) -> list[LoadResult]:
    """Several groups of closed-loop clients at once (e.g. downloads joining searches)."""

    async def run() -> list[LoadResult]:
        return list(await asyncio.gather(*(_run_group(port, g) for g in groups)))

    return asyncio.run(run())


def run_load(
    port: int, clients: int, seconds: float, paths: tuple[str, ...] = SEARCHES
) -> LoadResult:
    """`clients` concurrent closed-loop clients asking `paths` in turn for `seconds`."""
    return asyncio.run(_run_load(port, clients, seconds, paths))


# ---------------------------------------------------------------- nodes --------------------


def free_port() -> int:
    """A free loopback port."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def running_node(
    root: Path, *, variant: str = "sync", database_url: str | None = None, **env: str
) -> Iterator[int]:
    """A uvicorn process serving a node on `root` (its database already seeded); its port."""
    port = free_port()
    node_env = {k: v for k, v in os.environ.items() if not k.startswith("FIELDCAT_")}
    node_env |= {"FIELDCAT_ROOT": str(root), "FIELDCAT_PORT": str(port), "PYTHONPATH": str(REPO)}
    node_env |= {"FIELDCAT_FEDERATION__ENABLED": "false"} | env
    if database_url:
        node_env["FIELDCAT_DATABASE_URL"] = database_url
    log = (root / f"node-{port}.log").open("wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--factory", VARIANTS[variant], "--host", "127.0.0.1",
         "--port", str(port), "--log-level", "warning", "--no-access-log", "--no-proxy-headers"],
        cwd=REPO, env=node_env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 90
        while True:
            if server.poll() is not None:
                raise RuntimeError(f"node exited: {(root / f'node-{port}.log').read_text()}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        yield port
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


def seed_sqlite(root: Path, n: int) -> None:
    """A node root whose SQLite catalog holds `n` synthetic datasets (bench/search.py's)."""
    from bench.search import load
    from catalog.db import make_engine

    root.mkdir(parents=True, exist_ok=True)
    engine = make_engine(f"sqlite:///{root / 'fieldcat.db'}")
    try:
        load(engine, n)
    finally:
        engine.dispose()


@contextmanager
def seeded_postgres(base_url: str, n: int) -> Iterator[str]:
    """A fresh schema holding `n` synthetic datasets; the URL that selects it. Dropped after."""
    from sqlalchemy import create_engine, text

    from bench.search import load
    from catalog.db import make_engine

    schema = f"bench_load_{secrets.token_hex(4)}"
    admin = create_engine(base_url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = f"{base_url}{'&' if '?' in base_url else '?'}options=-csearch_path%3D{schema}"
    try:
        engine = make_engine(url)
        try:
            load(engine, n)
        finally:
            engine.dispose()
        yield url
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


# ---------------------------------------------------------------- the asyncio variant ------


def async_search_app() -> Any:
    """The node's app with its search route on SQLAlchemy asyncio (the variant measured)."""
    from fastapi.routing import APIRoute
    from sqlalchemy import event
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

    from archive_center.app import API_PREFIX, create_app
    from catalog.db import SQLITE_BUSY_TIMEOUT_MS, pool_arguments
    from catalog.search import search_datasets
    from web.settings import load_settings

    settings = load_settings()
    app = create_app(settings)
    path = API_PREFIX + "/datasets"
    app.router.routes[:] = [
        r
        for r in app.router.routes
        if not (isinstance(r, APIRoute) and r.path == path and "GET" in r.methods)
    ]

    def sessions(request: Request) -> async_sessionmaker[AsyncSession]:
        factory: async_sessionmaker[AsyncSession] | None = getattr(
            request.app.state, "async_sessions", None
        )
        if factory is None:
            url = settings.effective_database_url
            server = settings.server
            options = pool_arguments(url, server.pool_connections, server.pool_timeout_s)
            if url.startswith("sqlite:"):
                engine = create_async_engine(url.replace("sqlite:", "sqlite+aiosqlite:"), **options)

                def pragmas(dbapi_connection: Any, _record: Any) -> None:
                    cursor = dbapi_connection.cursor()
                    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
                    cursor.close()

                event.listen(engine.sync_engine, "connect", pragmas)
            else:
                engine = create_async_engine(url, **options)
            factory = async_sessionmaker(engine, expire_on_commit=False)
            request.app.state.async_sessions = factory
        return factory

    async def list_datasets_async(
        request: Request,
        params: Annotated[SearchParams, Depends(search_params)],
        now: NowDep,
    ) -> SearchPage:
        """Search, awaited on the event loop (anonymous callers: the benchmark's load)."""
        async with sessions(request)() as session, session.begin():
            return await session.run_sync(
                lambda sync: search_datasets(sync, params, Principal.anonymous(), now)
            )

    app.add_api_route(
        path,
        list_datasets_async,
        methods=["GET"],
        response_model=SearchPage,
        dependencies=[forbid_unknown_query(*SEARCH_QUERY)],
    )
    # The catch-all UI routes must stay behind the API route just added.
    app.router.routes.sort(key=lambda r: 0 if getattr(r, "path", "").startswith(API_PREFIX) else 1)
    return app


# ---------------------------------------------------------------- measurements -------------


def _phase(port: int, clients: int, seconds: float) -> LoadResult:
    result = run_load(port, clients, seconds)
    print(
        f"  {clients:>3} clients {seconds:.0f} s: {result.rps:6.1f} req/s, 503 {result.busy}, "
        f"errors {result.errors}, p50 {result.percentile(0.5) * 1000:.0f} ms, "
        f"p99 {result.percentile(0.99) * 1000:.0f} ms, max {result.max_latency_s:.2f} s"
    )
    return result


def measure_variant(
    root: Path, variant: str, levels: tuple[int, ...], seconds: float, database_url: str | None
) -> dict[int, LoadResult]:
    """Run each concurrency level in turn against one node of `variant`."""
    results: dict[int, LoadResult] = {}
    with running_node(root, variant=variant, database_url=database_url) as port:
        run_load(port, 10, min(1.0, seconds))  # warm up: imports, caches, connections
        print(f"[{variant}]")
        for clients in levels:
            results[clients] = _phase(port, clients, seconds)
    return results


def measure_search(
    *, quick: bool = False, seconds: float | None = None, postgres_url: str | None = None
) -> tuple[dict[str, float], dict[str, float]]:
    """Search throughput at 20/100/200 clients, sync vs asyncio, SQLite (and PostgreSQL)."""
    n = 2_000 if quick else 20_000
    seconds = seconds or (2.0 if quick else 15.0)
    levels = (20, 100, 200)
    figures: dict[str, float] = {"load_datasets": n, "load_seconds_per_level": seconds}
    ratios: dict[str, float] = {}
    backends: list[tuple[str, str | None]] = [("sqlite", None)]
    if postgres_url:
        backends.append(("postgres", postgres_url))
    with tempfile.TemporaryDirectory(prefix="bench-load-") as tmp:
        for backend, base_url in backends:
            root = Path(tmp) / backend
            root.mkdir()
            print(f"== {backend}: {n} datasets")
            if base_url is None:
                seed_sqlite(root, n)
                by_variant = {v: measure_variant(root, v, levels, seconds, None) for v in VARIANTS}
            else:
                with seeded_postgres(base_url, n) as url:
                    by_variant = {
                        v: measure_variant(root, v, levels, seconds, url) for v in VARIANTS
                    }
            prefix = "" if backend == "sqlite" else "pg_"
            sync, asyn = by_variant["sync"], by_variant["async"]
            for clients in levels:
                figures[f"{prefix}search_rps_{clients}"] = round(sync[clients].rps, 1)
                figures[f"{prefix}async_search_rps_{clients}"] = round(asyn[clients].rps, 1)
            figures[f"{prefix}search_errors"] = sum(r.errors for r in sync.values())
            figures[f"{prefix}search_503"] = sum(r.busy for r in sync.values())
            figures[f"{prefix}search_max_latency_s"] = round(
                max(r.max_latency_s for r in sync.values()), 2
            )
            figures[f"{prefix}search_p99_ms_200"] = round(sync[200].percentile(0.99) * 1000)
            figures[f"{prefix}async_search_errors"] = sum(r.errors for r in asyn.values())
            figures[f"{prefix}async_search_p99_ms_200"] = round(asyn[200].percentile(0.99) * 1000)
            ratios[f"{prefix}search_rps_200_vs_20"] = round(sync[200].rps / sync[20].rps, 3)
            ratios[f"{prefix}async_search_rps_200_vs_20"] = round(asyn[200].rps / asyn[20].rps, 3)
            ratios[f"{prefix}async_vs_sync_rps_200"] = round(asyn[200].rps / sync[200].rps, 3)
            ratios[f"{prefix}async_vs_sync_rps_20"] = round(asyn[20].rps / sync[20].rps, 3)
    if "search_errors" in figures:
        figures["search_errors"] += figures.get("pg_search_errors", 0)
    return figures, ratios


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the JSON summary line last."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small catalog, short phases")
    parser.add_argument("--seconds", type=float, default=None, help="seconds per level")
    parser.add_argument(
        "--postgres-url", default=os.environ.get("FIELDCAT_TEST_POSTGRES_URL", DEFAULT_PG)
    )
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args(argv)
    postgres = None
    if not args.no_postgres and postgres_reachable(args.postgres_url):
        postgres = args.postgres_url
    else:
        print("[postgres] not measured (no server reachable or --no-postgres)")
    figures, ratios = measure_search(quick=args.quick, seconds=args.seconds, postgres_url=postgres)
    print(json.dumps({"benchmark": "load", "figures": figures, "ratios": ratios}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
