"""The full-text part of bench/search.py (issue #15): full text, suggestions and uncached
facets at 100,000 and 1,000,000 datasets on PostgreSQL and at 100,000 on SQLite, each
beside its baseline in the same run, measured after `VACUUM ANALYZE`; and the memory an
order of 1,000 datasets takes while its zip is built.

Not a script of its own: `bench/search.py` runs it and prints its figures and ratios in
its JSON line."""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select, text

from catalog.db import make_engine, make_session_factory, upgrade_database
from catalog.facet_cache import cache_for
from catalog.schemas import Principal, SearchParams
from catalog.search import search_datasets
from catalog.suggest import suggest

FULLTEXT_QUERIES = ("zzyzx", "haze", "sounding", "C-130 ozone", "aeros")
"""A word that matches nothing, a common one, a synonym, two words, a prefix."""
SUGGESTIONS = (("platform", "c"), ("pi", "ram"), ("variable", "o"), ("instrument", "ozo"))
ONE_VALUE_FILTERS = (
    {"platform": "ncar c-130"},
    {"instrument": "lidar"},
    {"center": "npl"},
    {"level": "0"},  # every dataset of the benchmark
    {"project": "INDOEX"},
    {"access": "open"},
    {"variable": "O3"},
)
"""Searches filtered by one dataset-column value (counted from the pair tallies)."""
OTHER_FILTERS = (
    {"platform": "ncar c-130", "project": "INDOEX"},
    {"variable": "O3", "center": "npl"},
)
"""Filters counted over the filtered rows: two values at once."""
ANON = Principal.anonymous()
NOW = datetime(2026, 6, 1, tzinfo=UTC)


def _timed(fn: Callable[[], Any]) -> float:
    t0 = time.perf_counter()
    fn()
    return (time.perf_counter() - t0) * 1000


def measure(engine: Engine, repeat: int) -> dict[str, float]:
    """Milliseconds: full text (p50 over the queries), the plain first page (p50), the
    suggestions (p95), the uncached first page with facets (p50; from the facet tallies),
    the uncached first page with facets filtered by one value (the slowest filter's p50 of
    `ONE_VALUE_FILTERS`; from the pair tallies) and by the `OTHER_FILTERS` (the slowest's
    p50; counted over the filtered rows)."""
    factory = make_session_factory(engine)

    def search(params: SearchParams) -> Callable[[], Any]:
        def once() -> Any:
            with factory() as session:
                return search_datasets(session, params, ANON, NOW)

        return once

    def suggestion(field: str, prefix: str) -> Callable[[], Any]:
        def once() -> Any:
            with factory() as session:
                return suggest(session, field, prefix, ANON, NOW)  # type: ignore[arg-type]

        return once

    texts = [search(SearchParams(q=q, facets=False)) for q in FULLTEXT_QUERIES]
    plain = search(SearchParams(facets=False))
    hints = [suggestion(f, p) for f, p in SUGGESTIONS]
    for fn in [*texts, plain, *hints]:
        fn()  # warm-up
    full, base, sug = [], [], []
    for _ in range(repeat):
        full += [_timed(fn) for fn in texts]
        base.append(_timed(plain))
        sug += [_timed(fn) for fn in hints]
    cold: list[float] = []
    filtered: dict[int, list[float]] = {i: [] for i in range(len(ONE_VALUE_FILTERS))}
    others: dict[int, list[float]] = {i: [] for i in range(len(OTHER_FILTERS))}
    for _ in range(max(3, repeat // 3)):
        cache_for(engine).clear()
        cold.append(_timed(search(SearchParams())))
        for times, filters in ((filtered, ONE_VALUE_FILTERS), (others, OTHER_FILTERS)):
            for i, one in enumerate(filters):
                cache_for(engine).clear()
                times[i].append(_timed(search(SearchParams(**one))))
    return {
        "fulltext": statistics.median(full),
        "plain": statistics.median(base),
        "suggest_p95": statistics.quantiles(sug, n=20)[-1] if len(sug) > 1 else sug[0],
        "facets_cold": statistics.median(cold),
        "facets_cold_filtered": max(statistics.median(t) for t in filtered.values()),
        "facets_cold_other": max(statistics.median(t) for t in others.values()),
    }


def _loaded(engine: Engine, n: int) -> bool:
    """Whether `engine`'s schema already holds the `n` datasets of an earlier run (`--reuse`);
    brought to the current migration if so."""
    with engine.begin() as conn:
        if not conn.execute(text("SELECT to_regclass('datasets') IS NOT NULL")).scalar():
            return False
        if conn.execute(text("SELECT count(*) FROM datasets")).scalar() != n:
            schema = conn.execute(text("SELECT current_schema()")).scalar()
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))  # a load cut short
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
            return False
    upgrade_database(engine)
    return True


def fulltext_figures(
    args: argparse.Namespace,
    load: Callable[[Engine, int], float],
    sqlite_engine: Callable[[Path, str], AbstractContextManager[Engine]],
    postgres_engine: Callable[[str], AbstractContextManager[Engine]] | None,
) -> tuple[dict[str, float], dict[str, float]]:
    """The issue's full-text figures and ratios (names fixed; sizes printed)."""
    large = args.datasets or (10_000 if args.quick else 1_000_000)
    small = 2_000 if args.quick else 100_000
    repeat = 3 if args.quick else 15
    got: dict[tuple[str, int], dict[str, float]] = {}
    with (
        tempfile.TemporaryDirectory(prefix="bench-fulltext-") as tmp,
        sqlite_engine(Path(tmp), "ft.db") as engine,
    ):
        seconds = load(engine, small)
        got[("sqlite", small)] = measure(engine, repeat)
        print(f"[fulltext sqlite] {small} loaded in {seconds:.0f}s: {got[('sqlite', small)]}")
    if postgres_engine is not None:
        for n in dict.fromkeys((small, large)):
            with postgres_engine(f"{n}") as engine:
                seconds = 0.0 if _loaded(engine, n) else load(engine, n)
                got[("postgres", n)] = measure(engine, repeat)
                print(f"[fulltext postgres] {n} loaded in {seconds:.0f}s: {got[('postgres', n)]}")
    figures: dict[str, float] = {"fulltext_datasets_large": large, "fulltext_datasets_small": small}
    ratios: dict[str, float] = {}
    lite = got[("sqlite", small)]
    figures |= {
        "fulltext_p50_ms_100k_sqlite": round(lite["fulltext"], 3),
        "plain_p50_ms_100k_sqlite": round(lite["plain"], 3),
        "suggestions_p95_ms_100k_sqlite": round(lite["suggest_p95"], 3),
        "facets_cold_p50_ms_100k_sqlite": round(lite["facets_cold"], 3),
        "facets_cold_filtered_p50_ms_100k_sqlite": round(lite["facets_cold_filtered"], 3),
        "facets_cold_other_filters_p50_ms_100k_sqlite": round(lite["facets_cold_other"], 3),
    }
    ratios["fulltext_vs_plain_sqlite"] = round(lite["fulltext"] / lite["plain"], 3)
    if ("postgres", large) in got:
        big, ref = got[("postgres", large)], got[("postgres", small)]
        figures |= {
            "fulltext_p50_ms_1m_postgres": round(big["fulltext"], 3),
            "fulltext_p50_ms_100k_postgres": round(ref["fulltext"], 3),
            "plain_p50_ms_1m_postgres": round(big["plain"], 3),
            "suggestions_p95_ms_1m_postgres": round(big["suggest_p95"], 3),
            "facets_cold_p50_ms_1m_postgres": round(big["facets_cold"], 3),
            "facets_cold_p50_ms_100k_postgres": round(ref["facets_cold"], 3),
            "facets_cold_filtered_p50_ms_1m_postgres": round(big["facets_cold_filtered"], 3),
            "facets_cold_filtered_p50_ms_100k_postgres": round(ref["facets_cold_filtered"], 3),
            "facets_cold_other_filters_p50_ms_1m_postgres": round(big["facets_cold_other"], 3),
            "facets_cold_other_filters_p50_ms_100k_postgres": round(ref["facets_cold_other"], 3),
        }
        ratios |= {
            "fulltext_1m_vs_100k_postgres": round(big["fulltext"] / ref["fulltext"], 3),
            "fulltext_vs_plain": round(big["fulltext"] / big["plain"], 3),
            "facets_cold_1m_vs_100k": round(big["facets_cold"] / ref["facets_cold"], 3),
            "facets_cold_filtered_1m_vs_100k": round(
                big["facets_cold_filtered"] / ref["facets_cold_filtered"], 3
            ),
        }
    return figures, ratios


def order_memory(count: int) -> dict[str, float]:
    """Python heap growth (MB, tracemalloc peak) while an order of `count` datasets is built,
    each a real hourly station file, on SQLite."""
    from catalog.models import Dataset, DatasetVersion, Variable
    from catalog.order_build import build_due_orders
    from catalog.orders import create_order
    from catalog.registration import ensure_campaign, ensure_center
    from catalog.storage import ArchiveStore
    from web.links import API_LINKS

    sample = (
        Path(__file__).resolve().parents[2] / "tests/fixtures/samples/valid/kco_surface_hourly.txt"
    )
    with tempfile.TemporaryDirectory(prefix="bench-order-") as tmp:
        store = ArchiveStore(Path(tmp))
        store.create_dirs()
        staged = store.new_staging_path()
        shutil.copyfile(sample, staged)
        sha, path = store.put_original(staged)
        engine = make_engine(f"sqlite:///{Path(tmp) / 'order.db'}")
        upgrade_database(engine)
        factory = make_session_factory(engine)
        with factory() as session, session.begin():
            ensure_center(session, "JOSS", "JOSS", "http://joss.test", True)
            campaign = ensure_campaign(session, "INDOEX", "INDOEX", None, None)
            session.flush()
            start = datetime(1999, 2, 1, tzinfo=UTC)
            for i in range(count):
                d = Dataset(campaign=campaign, did=str(i), pi_name="Lobert", platform="KCO",
                            instrument="surface", location="KCO", start=start, stop=start,
                            title=f"KCO {i}", access_state="open", origin_center="JOSS",
                            created=NOW, updated=NOW)  # fmt: skip
                d.variables = [Variable(position=0, name="O3", original_name="O3", unit=None)]
                d.versions = [DatasetVersion(sha256=sha, size=path.stat().st_size,
                                             original_name="kco.txt", source_format="header",
                                             created_at=NOW, is_current=True)]  # fmt: skip
                session.add(d)
            session.flush()
            ids = list(session.scalars(select(Dataset.public_id)))
            create_order(session, ANON, NOW, datasets=ids[:2])  # warm-up: imports, caches
        build_due_orders(engine, store, API_LINKS, lambda: NOW)
        with factory() as session, session.begin():
            create_order(session, ANON, NOW, datasets=ids)
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        t0 = time.perf_counter()
        build_due_orders(engine, store, API_LINKS, lambda: NOW)
        seconds = time.perf_counter() - t0
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        size = max(p.stat().st_size for p in (Path(tmp) / "orders").glob("*.zip"))
        engine.dispose()
    growth = (peak - before) / 1e6
    print(f"[order] {count} datasets in {seconds:.1f}s, zip {size / 1e6:.1f} MB, ", end="")
    print(f"heap growth {growth:.1f} MB")
    return {"order_1000_heap_growth_mb": round(growth, 2), "order_1000_seconds": round(seconds, 2)}
