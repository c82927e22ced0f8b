"""Benchmark of QA/QC (issue #18), each figure beside its baseline measured in the same run.

- QC of 1,000,000 values with five QARTOD tests (gross range, spike, rate of change, flat
  line, gap) as the worker does it (`catalog.qc_tests.run_config`, counts, stretches, the
  plot series and the compressed flag file) against ioos_qc called directly on the same
  arrays (the five tests and `qartod_compare`): ratio `qc_vs_ioos_qc`, goal <= 1.2 (our
  overhead is storage);
- the QC report page (`/datasets/{id}/qc`: counts, stretches and the plot drawn when QC ran)
  and its JSON (`/api/v1/datasets/{id}/qc`) p50 for a 1,000,000-row dataset, registered and
  QC'd through the real services on a SQLite node; `plot_draw_s` is drawing the plot again
  from the stored series (what the first page view after an override costs);
- job dispatch with two real `fieldcat worker` processes on PostgreSQL: `job_start_p50_s`
  (due instant to start, goal under 1 s) beside procrastinate's own no-op task latency on
  two plain procrastinate workers in the same run (`noop_start_p50_s`; bench/parts/qc_jobs.py).
  Skipped with `--no-postgres` or when no server answers (then the JSON line lacks them).

Usage: python bench/qc.py [--quick] [--rows N] [--jobs N] [--postgres-url URL |
--no-postgres]. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != REPO / "bench"]
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402

from bench.parts.qc_jobs import bench_job_start  # noqa: E402
from bench.search import DEFAULT_PG, postgres_reachable  # noqa: E402

JOB_GAP_S = 0.6
"""Between two jobs' due instants: more than the worker's poll, so none waits for another."""

TESTS: dict[str, dict[str, Any]] = {
    "gross_range": {"fail_span": [0, 200], "suspect_span": [5, 150]},
    "spike": {"suspect_threshold": 8, "fail_threshold": 20},
    "rate_of_change": {"threshold": 5.0},
    "flat_line": {"suspect_threshold": 60, "fail_threshold": 180, "tolerance": 0.001},
    "gap": {"fail_span": 0.01},
}
HEADER = """DID = 901
FILE START TIME (UTC) = {start}
FILE STOP TIME (UTC) = {stop}
PI NAME = Bench, Mark (FieldCat)
PLATFORM = Bench mast
INSTRUMENT = Bench ozone
LOCATION = bench
DATA VERSION = 1.0
REMARKS = synthetic 1 Hz ozone with spikes, flat lines and out-of-range values
##END OF HEADER##
DATE/TIME O3
UTC ppbv
"""


def series(rows: int) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """1 Hz ozone with planted spikes, flat stretches and out-of-range values."""
    rng = np.random.default_rng(18)
    values = 40 + 10 * np.sin(np.arange(rows) / 3000.0) + rng.normal(0, 0.5, rows)
    values[rng.integers(0, rows, rows // 1000)] += 40
    for start in rng.integers(0, rows - 400, rows // 20000):
        values[start : start + 300] = values[start]
    values[rng.integers(0, rows, rows // 5000)] = 500.0
    values = np.round(values, 2)
    times = np.datetime64("1999-03-07T00:00:00", "ns") + np.arange(rows).astype("timedelta64[s]")
    return values, times


def ours(values: Any, times: Any, out: Path) -> float:
    from catalog.qc_plot import plot_arrays
    from catalog.qc_tests import AGGREGATE, counts_of, run_config, stretches_of

    began = time.perf_counter()
    flags = run_config(TESTS, values, times)
    {test: counts_of(f) for test, f in flags.items()}
    stretches_of(flags[AGGREGATE])
    arrays = {f"o3/{k}": v for k, v in flags.items()}
    arrays.update(plot_arrays("o3", values, times, flags[AGGREGATE]))
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    out.write_bytes(buffer.getvalue())
    return time.perf_counter() - began


def direct(values: Any, times: Any) -> float:
    from ioos_qc import qartod

    began = time.perf_counter()
    results = [
        qartod.gross_range_test(values, **TESTS["gross_range"]),
        qartod.spike_test(values, **TESTS["spike"]),
        qartod.rate_of_change_test(values, times, **TESTS["rate_of_change"]),
        qartod.flat_line_test(values, times, **TESTS["flat_line"]),
        qartod.time_gap_test(times, **TESTS["gap"]),
    ]
    qartod.qartod_compare(results)
    return time.perf_counter() - began


def bench_tests(rows: int, rounds: int, tmp: Path) -> dict[str, float]:
    values, times = series(rows)
    mine, theirs = [], []
    for _ in range(rounds):  # alternately, so both see the same disturbances
        theirs.append(direct(values, times))
        mine.append(ours(values, times, tmp / "flags.qcnpz"))
    size = (tmp / "flags.qcnpz").stat().st_size
    return {"qc_s": min(mine), "ioos_qc_s": min(theirs), "flags_file_kb": size / 1e3}


def write_file(path: Path, rows: int) -> None:
    values, times = series(rows)
    text = np.datetime_as_string(times.astype("datetime64[s]"), unit="s")
    body = np.char.add(np.char.add(np.char.add(text, "Z "), np.char.mod("%.2f", values)), "\n")
    start, stop = str(text[0]) + "Z", str(text[-1]) + "Z"
    with path.open("w", encoding="ascii") as fh:
        fh.write(HEADER.format(start=start, stop=stop))
        fh.write("".join(body.tolist()))


def bench_report(rows: int, repeat: int, tmp: Path) -> dict[str, float]:
    from fastapi.testclient import TestClient
    from sqlalchemy import select

    import formats
    from archive_center.app import create_app
    from archive_center.worker import derive_missing
    from catalog.models import Dataset
    from catalog.qc import set_qc_config
    from catalog.qc_plot import draw_qc_plot
    from catalog.registration import register_datafile
    from catalog.registry import (
        InstrumentInput,
        PlaceInput,
        add_deployment,
        add_instrument,
        add_place,
    )
    from catalog.schemas import Principal, Role
    from formats.timeparse import CampaignTime
    from web.settings import CampaignSettings, Settings

    now = datetime.now(UTC)
    campaign = CampaignSettings(code="INDOEX", start=datetime(1999, 1, 1).date(),
                                end=datetime(1999, 12, 31).date())  # fmt: skip
    settings = Settings(root=tmp / "node", center_code="JOSS", center_name="JOSS",
                        campaign=campaign)  # fmt: skip
    app = create_app(settings)
    source = tmp / "o3.txt"
    write_file(source, rows)
    with TestClient(app) as client:
        store = app.state.store
        period = CampaignTime(year=1999, start=datetime(1999, 1, 1, tzinfo=UTC),
                              end=datetime(1999, 12, 31, tzinfo=UTC))  # fmt: skip
        with app.state.session_factory() as session, session.begin():
            place = add_place(session, PlaceInput(kind="station", name="Bench mast"), now)
            instrument = add_instrument(session, InstrumentInput(name="Bench ozone"), now)
            add_deployment(session, instrument.id, place.id, datetime(1999, 1, 1, tzinfo=UTC), None)
            set_qc_config(session, instrument.id, "O3", TESTS,
                          actor=Principal(role=Role.STAFF, username="bench"), now=now)  # fmt: skip
            staged = store.new_staging_path()
            shutil.copyfile(source, staged)
            sha256, path = store.put_original(staged)
            dataset = register_datafile(
                session, datafile=formats.read(source, campaign=period, filename="o3.txt"),
                sha256=sha256, size=path.stat().st_size, original_name="o3.txt",
                center_code="JOSS", campaign_code="INDOEX", now=now,
            )  # fmt: skip
            pid = dataset.public_id
        began = time.perf_counter()
        derive_missing(app.state.engine, store, now, set())
        derive_s = time.perf_counter() - began
        page, api = [], []
        for _ in range(repeat):
            began = time.perf_counter()
            assert client.get(f"/datasets/{pid}/qc").status_code == 200
            page.append(time.perf_counter() - began)
            began = time.perf_counter()
            assert client.get(f"/api/v1/datasets/{pid}/qc").status_code == 200
            api.append(time.perf_counter() - began)
        with app.state.session_factory() as session:
            version = session.scalars(select(Dataset).where(Dataset.public_id == pid)).one()
            began = time.perf_counter()
            svg = draw_qc_plot(session, store, version.current_version)
            draw_s = time.perf_counter() - began
    return {
        "derive_all_s": derive_s,
        "plot_draw_s": draw_s,
        "plot_svg_kb": len(svg) / 1e3,
        "report_page_p50_s": statistics.median(page),
        "report_json_p50_s": statistics.median(api),
    }


def main() -> None:
    """Run both measurements, print each beside its baseline, end with the JSON line."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small smoke run")
    parser.add_argument("--rows", type=int, default=None)
    parser.add_argument("--jobs", type=int, default=None, help="due jobs of each kind")
    parser.add_argument(
        "--postgres-url", default=os.environ.get("FIELDCAT_TEST_POSTGRES_URL", DEFAULT_PG)
    )
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    rows = args.rows or (20_000 if args.quick else 1_000_000)
    jobs = args.jobs or (6 if args.quick else 30)
    with tempfile.TemporaryDirectory(prefix="fieldcat-bench-qc-") as name:
        tmp = Path(name)
        tests = bench_tests(rows, 2 if args.quick else 5, tmp)
        print(f"QC of {rows} values, 5 tests: ours {tests['qc_s']:.3f} s, "
              f"ioos_qc directly {tests['ioos_qc_s']:.3f} s; flags file "
              f"{tests['flags_file_kb']:.0f} kB")  # fmt: skip
        report = bench_report(rows, 2 if args.quick else 5, tmp)
        print(f"QC report of a {rows}-row dataset: page p50 {report['report_page_p50_s']:.3f} s, "
              f"JSON p50 {report['report_json_p50_s']:.3f} s (worker derive of NetCDF, "
              f"plot and QC: {report['derive_all_s']:.1f} s; the plot drawn again from its "
              f"series {report['plot_draw_s']:.3f} s, {report['plot_svg_kb']:.0f} kB)")  # fmt: skip
        dispatch: dict[str, float] = {}
        if not args.no_postgres and postgres_reachable(args.postgres_url):
            dispatch = bench_job_start(args.postgres_url, tmp, jobs, gap_s=JOB_GAP_S)
            print(f"{jobs} jobs due one at a time, two workers on PostgreSQL: start after due "
                  f"p50 {dispatch['job_start_p50_s']:.3f} s (max {dispatch['job_start_max_s']:.3f}"
                  f"), procrastinate's no-op task p50 {dispatch['noop_start_p50_s']:.3f} s (max "
                  f"{dispatch['noop_start_max_s']:.3f}); polling every "
                  f"{dispatch['worker_poll_s']} s")  # fmt: skip
        else:
            print("job dispatch: not measured (no PostgreSQL server or --no-postgres)")
    ratios = {"qc_vs_ioos_qc": round(tests["qc_s"] / tests["ioos_qc_s"], 3)}
    if dispatch:
        ratios["job_start_vs_noop"] = round(
            dispatch["job_start_p50_s"] / dispatch["noop_start_p50_s"], 3
        )
    figures = {**tests, **report, **dispatch}
    result = {
        "benchmark": "qc",
        "figures": {"rows": rows, **{k: round(v, 4) for k, v in figures.items()}},
        "ratios": ratios,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    main()
