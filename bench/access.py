"""Access benchmark: search latency at 100,000 datasets with the access filter vs without it.

The same search (the combined query of `bench/search.py`, facet counts computed afresh each
time, and the broad first page) runs as an admin, whose filter is empty (the baseline), and
as anonymous, as staff, as a signed-in PI holding grants, as a PI named as reader (10,000
named-reader entries in the catalog, a tenth of the embargoed datasets in the campaign tier)
and as a PI vouched for by a peer; the last two are resolved per request as the API does.
Staff see everything, so their filter is empty like the baseline's and their ratio shows the
noise floor. Measured in one run, in a fresh random order each round, on SQLite and (when
reachable) PostgreSQL. Then `federated_signin_ms`: on two real nodes on loopback, signing in
at the home center to the first authorised answer at the peer, beside the same at home.

Usage: python bench/access.py [--quick] [--postgres-url URL | --no-postgres] [--repeat N]
The last line printed is one JSON object: {"benchmark": "access", "figures": ..., "ratios": ...}.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from bench.parts.access_shared import (
    add_shared_access,
    node_session_info,
    principal_calls,
    signin_figures,
)
from bench.search import (
    COMBINED,
    DEFAULT_PG,
    NOW,
    load,
    postgres_engine,
    postgres_reachable,
    sqlite_engine,
)
from catalog.db import make_session_factory
from catalog.facet_cache import cache_for
from catalog.models import Dataset
from catalog.schemas import Principal, Role, SearchParams
from catalog.search import search_datasets

GOAL = 1.1
COMBINED_ROUNDS = 5
"""The cheap combined query runs this many times more rounds than the broad one."""


def shuffled_medians(
    calls: dict[str, Callable[[], Any]], repeat: int, seed: int = 11
) -> dict[str, float]:
    """Median ms of each call, run in a fresh random order each round (no position bias)."""
    rng = random.Random(seed)
    names = list(calls)
    for name in names:
        calls[name]()  # warm-up
    times: dict[str, list[float]] = {name: [] for name in names}
    for _ in range(repeat):
        rng.shuffle(names)
        for name in names:
            t0 = time.perf_counter()
            calls[name]()
            times[name].append((time.perf_counter() - t0) * 1000)
    return {name: statistics.median(values) for name, values in times.items()}


def callers(engine: Engine) -> dict[str, Principal]:
    """The baseline (admin: no filter) and the filtered callers."""
    with make_session_factory(engine)() as session:
        protected = session.scalars(
            select(Dataset.public_id).where(Dataset.access_state == "password").limit(20)
        ).all()
    return {
        "unfiltered": Principal(user_id=1, username="admin", role=Role.ADMIN),
        "anonymous": Principal.anonymous(),
        "staff": Principal(user_id=2, username="staff", role=Role.STAFF),
        "pi": Principal(
            user_id=3, username="pi", role=Role.PI, dataset_grants=frozenset(protected)
        ),
    }


FILTERED = ("anonymous", "staff", "pi", "named", "vouched")


Resolver = Callable[[Session], Principal]


def search_call(
    engine: Engine, principal: Principal | Resolver, params: SearchParams
) -> Callable[[], Any]:
    """One search as the API makes it, facet counts computed afresh (the cache cleared); a
    callable principal is resolved inside the timed call, in the request's session, as each
    request resolves it."""
    factory = make_session_factory(engine)
    factory.configure(info=node_session_info(engine))

    def once() -> Any:
        cache_for(engine).clear()
        with factory() as session:
            caller = principal if isinstance(principal, Principal) else principal(session)
            return search_datasets(session, params, caller, NOW)

    return once


def bench_backend(
    name: str, engine: Engine, n: int, repeat: int
) -> tuple[dict[str, float], dict[str, float]]:
    """Figures and ratios of one backend (names suffixed with the backend)."""
    seconds = load(engine, n)
    add_shared_access(engine, NOW)
    print(f"[{name}] {n} datasets loaded in {seconds:.1f}s")
    shapes = {"combined": SearchParams(**COMBINED), "broad": SearchParams()}
    ms: dict[str, float] = {}
    for shape, params in shapes.items():
        every: dict[str, Principal | Resolver] = {
            **callers(engine),
            **principal_calls(engine, NOW),
        }
        calls = {
            f"{shape}_{who}": search_call(engine, principal, params)
            for who, principal in every.items()
        }
        # The combined query takes ~10 ms, where 30 rounds leave a median +-7 % of noise
        # (300 rounds gave 1.06 where 30 gave 1.13); the broad one takes ~0.5 s.
        ms |= shuffled_medians(calls, repeat * COMBINED_ROUNDS if shape == "combined" else repeat)
    figures: dict[str, float] = {}
    ratios: dict[str, float] = {}
    for shape in shapes:
        base = ms[f"{shape}_unfiltered"]
        figures[f"{shape}_unfiltered_p50_ms_{name}"] = round(base, 3)
        for who in FILTERED:
            value = ms[f"{shape}_{who}"]
            figures[f"{shape}_{who}_p50_ms_{name}"] = round(value, 3)
            ratios[f"{shape}_filtered_vs_unfiltered_{who}_{name}"] = round(value / base, 3)
            print(
                f"[{name}] {shape:>8} {who:>9}: {value:8.2f} ms vs {base:8.2f} ms unfiltered "
                f"-> {value / base:.3f} (goal <= {GOAL})"
            )
    return figures, ratios


def headline(ratios: dict[str, float], who: str) -> float:
    """The named ratio: the worse of the two query shapes over the measured backends."""
    return max(v for k, v in ratios.items() if f"_filtered_vs_unfiltered_{who}_" in k)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the JSON summary line last."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small size, few repeats (smoke run)")
    parser.add_argument(
        "--postgres-url", default=os.environ.get("FIELDCAT_TEST_POSTGRES_URL", DEFAULT_PG)
    )
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--repeat", type=int, default=None)
    parser.add_argument("--no-signin", action="store_true", help="skip federated_signin_ms")
    args = parser.parse_args(argv)
    n = 2_000 if args.quick else 100_000
    repeat = args.repeat or (5 if args.quick else 30)
    figures: dict[str, float] = {"datasets": n}
    ratios: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="bench-access-") as tmp:
        with sqlite_engine(Path(tmp), "access.db") as engine:
            f, r = bench_backend("sqlite", engine, n, repeat)
        figures.update(f)
        ratios.update(r)
    if not args.no_postgres and postgres_reachable(args.postgres_url):
        with postgres_engine(args.postgres_url) as engine:
            f, r = bench_backend("postgres", engine, n, repeat)
        figures.update(f)
        ratios.update(r)
    else:
        print("[postgres] not measured (no server reachable or --no-postgres)")
    named = {f"filtered_vs_unfiltered_{who}": headline(ratios, who) for who in FILTERED} | {
        "filtered_vs_unfiltered": max(headline(ratios, who) for who in FILTERED)
    }
    if not args.no_signin:
        signin = signin_figures(3 if args.quick else 30)
        figures.update(signin)
        named["federated_vs_local_first_answer"] = round(
            signin["federated_signin_ms"] / signin["local_first_answer_ms"], 3
        )
        print(f"[signin] federated {signin['federated_signin_ms']} ms (goal < 200), local "
              f"{signin['local_first_answer_ms']} ms, password sign-in at home "
              f"{signin['home_password_signin_ms']} ms")  # fmt: skip
    print(json.dumps({"benchmark": "access", "figures": figures, "ratios": named | ratios}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
