"""Load benchmark of a center that must stay up, in one run against real `fieldcat serve`
processes on loopback:

- search throughput at 20, 100 and 200 concurrent clients, with the thread pool (kept) beside
  an asyncio variant of the search path (`load_search.measure_search`; ratio
  `search_rps_200_vs_20`, goal >= 0.7; figure `search_errors`, goal 0);
- NetCDF conversions at 8 concurrent clients against the same conversions one at a time
  (`load_netcdf.measure_netcdf`; ratio `netcdf_concurrent_vs_serial`, goal >= 0.9), and the
  process-wide HDF5 lock against a bounded process pool;
- the worker draining a backlog of derived files (`load_netcdf.measure_derive`; figure
  `derive_files_per_s`).

Usage: python bench/load.py [--quick] [--only search|netcdf|derive] [--seconds S]
       [--postgres-url URL | --no-postgres]
The last line printed is one JSON object: {"benchmark": "load", "figures": ..., "ratios": ...}.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.parts.load_netcdf import measure_derive, measure_netcdf
from bench.parts.load_search import DEFAULT_PG, measure_search, postgres_reachable

PARTS = ("search", "netcdf", "derive")


def main(argv: list[str] | None = None) -> int:
    """Run the chosen parts and print the JSON summary line last."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small inputs, short phases")
    parser.add_argument("--only", choices=PARTS, action="append", help="run only these parts")
    parser.add_argument("--seconds", type=float, default=None, help="seconds per search level")
    parser.add_argument(
        "--postgres-url", default=os.environ.get("FIELDCAT_TEST_POSTGRES_URL", DEFAULT_PG)
    )
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args(argv)
    parts = args.only or list(PARTS)
    figures: dict[str, float] = {}
    ratios: dict[str, float] = {}
    if "search" in parts:
        postgres = None
        if not args.no_postgres and postgres_reachable(args.postgres_url):
            postgres = args.postgres_url
        else:
            print("[postgres] search not measured there (no server reachable or --no-postgres)")
        more = measure_search(quick=args.quick, seconds=args.seconds, postgres_url=postgres)
        figures |= more[0]
        ratios |= more[1]
    for part, measure in (("netcdf", measure_netcdf), ("derive", measure_derive)):
        if part in parts:
            more = measure(args.quick)
            figures |= more[0]
            ratios |= more[1]
    for name, value in {**figures, **ratios}.items():
        print(f"{name:34s} {value}")
    print(json.dumps({"benchmark": "load", "figures": figures, "ratios": ratios}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
