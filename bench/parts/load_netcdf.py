"""NetCDF conversions and derived files under load (part of `bench/load.py`), against real
`fieldcat` processes on loopback:

- NetCDF conversions (a time-window subset of distinct datasets, so each answer is converted
  on request) served one at a time, then by 8 concurrent clients: conversions per second and
  `netcdf_concurrent_vs_serial` (goal >= 0.9; the netCDF-C/HDF5 calls are serialised);
- the two ways of serialising them, compared in process on the same files and conversions:
  8 threads converting under the process-wide HDF5 lock, and 8 threads handing the same
  conversions to a bounded pool of 2 processes (`netcdf_lock_vs_process_pool`);
- the worker draining a backlog of derived files (`derive_files_per_s`, stored NetCDF,
  quick-looks and QC results) beside the same backlog made in process by one thread, and
  HTTP uploads per second while the worker drains the backlog beside the same uploads once
  it is idle.

`measure_netcdf` and `measure_derive` each return (figures, ratios); `main()` prints them and,
as its last line, one JSON object. `--quick`: small files and fewer of them.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from archive_center.worker import FORMATS  # noqa: E402 - what is derived per version
from bench.download import free_port  # noqa: E402 - the download bench's helper
from tests.archive_center.stayup_node import prepare_center  # noqa: E402 - a center with a PI

CLIENTS = 8
Figures = dict[str, float]


def series_file(did: int, rows: int) -> bytes:
    """A valid header-format file of `rows` one-minute rows, a dataset of its own."""
    start = datetime(1999, 2, 1, tzinfo=UTC)
    stop = start + timedelta(minutes=rows - 1)
    head = (
        f"DID = {did}\nFILE START TIME (UTC) = {start:%Y-%m-%dT%H:%M:%SZ}\n"
        f"FILE STOP TIME (UTC) = {stop:%Y-%m-%dT%H:%M:%SZ}\nPI NAME = Bench, Ada\n"
        "PLATFORM = KCO\nINSTRUMENT = Benchmark surface package\n"
        "LOCATION = Kaashidhoo, Maldives; 4.965N 73.466E\nDATA VERSION = 1\n"
        "REMARKS = missing data = -9999\n##END OF HEADER##\nDATE/TIME O3 RH WSPD\nUTC ppbv % m/s\n"
    )
    rows_text = [
        f"{start + timedelta(minutes=i):%Y-%m-%dT%H:%M:%SZ} {10 + (i * 7 + did) % 500 / 20:.2f}"
        f" {50 + i % 40}.0 {(i % 90) / 10:.1f}\n"
        for i in range(rows)
    ]
    return (head + "".join(rows_text)).encode()


def register_in_process(root: Path, files: list[tuple[str, bytes]]) -> None:
    """Register `files` through the pipeline in this process (no node running)."""
    import io

    from catalog.db import make_engine, make_session_factory
    from catalog.schemas import Principal, Role
    from catalog.storage import ArchiveStore
    from submissions.acceptance import SubmitOptions
    from submissions.pipeline import submit_file
    from web.settings import Settings

    settings = Settings(root=root, center_code="JOSS", center_name="JOSS")
    engine = make_engine(settings.effective_database_url)
    sessions, store = make_session_factory(engine), ArchiveStore(root)
    pi = Principal(user_id=1, username="pi", role=Role.PI)
    for name, content in files:
        result = submit_file(
            sessions, store, source=io.BytesIO(content), original_name=name, submitter=pi,
            center_code="JOSS", campaign=settings.campaign.code, receiver="bench",
            options=SubmitOptions(), now=datetime.now(UTC),
        )  # fmt: skip
        if not result.accepted:
            raise RuntimeError(result.report_text)
    engine.dispose()


def start_node(root: Path, *args: str, **env: str) -> tuple[subprocess.Popen[bytes], str]:
    """`fieldcat serve ARGS` on a free port; returns once it answers ready."""
    port = free_port()
    clean = {k: v for k, v in os.environ.items() if not k.startswith("FIELDCAT_")}
    clean |= {"FIELDCAT_ROOT": str(root), "FIELDCAT_PORT": str(port), "PYTHONPATH": str(REPO),
              "FIELDCAT_CENTER_CODE": "JOSS", "FIELDCAT_CENTER_NAME": "JOSS", **env}  # fmt: skip
    log = (root / "serve.log").open("ab")
    proc = subprocess.Popen(
        [sys.executable, "-m", "archive_center", "serve", *args], cwd=REPO, env=clean,
        stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError((root / "serve.log").read_text()[-3000:])
        try:
            if httpx.get(f"{url}/api/v1/readyz").status_code == 200:
                return proc, url
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise RuntimeError("node did not start")


def stop_node(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM and wait."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)


def upload_all(url: str, token: str, files: list[tuple[str, bytes]]) -> list[str]:
    """Upload over HTTP one at a time; the datasets' public ids."""
    ids = []
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}) as client:
        for name, content in files:
            resp = client.post("/api/v1/submissions", files={"file": (name, content)})
            if resp.status_code != 201:
                raise RuntimeError(f"{name}: {resp.status_code} {resp.text[:300]}")
            ids.append(resp.json()["dataset"])
    return ids


def conversions(url: str, token: str, ids: list[str], count: int, clients: int) -> Figures:
    """`count` NetCDF subset conversions by `clients` concurrent clients: rate and 503s."""
    params = {"format": "netcdf", "start": "1999-02-01T00:00:00Z"}
    headers = {"Authorization": f"Bearer {token}"}
    busy = [0]
    lock = threading.Lock()
    turns = iter(range(count))

    def client_loop() -> None:
        with httpx.Client(base_url=url, headers=headers, timeout=300) as client:
            while True:
                with lock:
                    turn = next(turns, None)
                if turn is None:
                    return
                while True:
                    resp = client.get(
                        f"/api/v1/datasets/{ids[turn % len(ids)]}/data", params=params
                    )
                    if resp.status_code == 200 and resp.content[:4] == b"\x89HDF":
                        break
                    if resp.status_code != 503:
                        raise RuntimeError(f"{resp.status_code} {resp.text[:300]}")
                    busy[0] += 1
                    time.sleep(float(resp.headers.get("retry-after", "1")))

    began = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        for future in [pool.submit(client_loop) for _ in range(clients)]:
            future.result()
    return {"per_s": count / (time.perf_counter() - began), "busy": busy[0]}


def best_of_alternating(
    first: Callable[[], Figures], second: Callable[[], Figures], rounds: int = 2
) -> tuple[Figures, Figures]:
    """The best run of each of two measurements taken in turn, so that a change of load on
    a shared machine weighs on both alike."""
    runs: tuple[list[Figures], list[Figures]] = ([], [])
    for _ in range(rounds):
        runs[0].append(first())
        runs[1].append(second())
    return max(runs[0], key=lambda r: r["per_s"]), max(runs[1], key=lambda r: r["per_s"])


def convert_file(source: str, target: str) -> None:
    """One conversion as the node makes it: parse the original, write NetCDF."""
    import formats

    formats.write(formats.read(Path(source)), "netcdf", Path(target))


def _warm(source: str, target: str) -> None:
    """One untimed conversion in a pool process (its first use imports pandas, netCDF4)."""
    convert_file(source, target)
    time.sleep(0.5)  # so that the other warm-up goes to the other process


def in_process_rates(sources: list[Path], tmp: Path, count: int) -> Figures:
    """Conversions per second: serial, 8 threads under the HDF5 lock, 8 threads feeding a
    pool of 2 spawned processes (the alternative to the lock)."""
    import multiprocessing

    def run(submit: Callable[[str, str], Any], clients: int) -> float:
        def job(i: int) -> None:
            submit(str(sources[i % len(sources)]), str(tmp / f"out{i % (2 * CLIENTS)}.nc"))

        began = time.perf_counter()
        with ThreadPoolExecutor(clients) as pool:
            list(pool.map(job, range(count)))
        return count / (time.perf_counter() - began)

    convert_file(str(sources[0]), str(tmp / "warm.nc"))
    serial = run(convert_file, 1)
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(2, mp_context=context) as processes:
        warm = [processes.submit(_warm, str(sources[0]), str(tmp / f"w{i}.nc")) for i in range(2)]
        for future in warm:
            future.result()
        locked, pooled = best_of_alternating(
            lambda: {"per_s": run(convert_file, CLIENTS)},
            lambda: {
                "per_s": run(lambda s, t: processes.submit(convert_file, s, t).result(), CLIENTS)
            },
        )
    return {"serial": serial, "lock": locked["per_s"], "pool": pooled["per_s"]}


def measure_netcdf(quick: bool = False) -> tuple[Figures, Figures]:
    """NetCDF conversions: served serially and to 8 clients; lock vs process pool in process."""
    rows, datasets, count = (2_000, 4, 24) if quick else (20_000, 8, 96)
    with tempfile.TemporaryDirectory(prefix="fieldcat-bench-load-") as tmp:
        root = Path(tmp) / "node"
        token = prepare_center(root)
        files = [
            (f"kco_{did}.txt", series_file(did, rows)) for did in range(20_000, 20_000 + datasets)
        ]
        sources = []
        for name, content in files:
            (Path(tmp) / name).write_bytes(content)
            sources.append(Path(tmp) / name)
        # --no-worker: the worker's derived files would otherwise share the CPU with one run
        # and not the other (the worker is measured by `measure_derive`).
        proc, url = start_node(root, "--no-worker")
        try:
            ids = upload_all(url, token, files)
            conversions(url, token, ids, len(ids), 1)  # warm-up: first use imports
            serial, concurrent = best_of_alternating(
                lambda: conversions(url, token, ids, count, 1),
                lambda: conversions(url, token, ids, count, CLIENTS),
            )
            alive = proc.poll() is None
        finally:
            stop_node(proc)
        local = in_process_rates(sources, Path(tmp), count)
    if not alive:
        raise RuntimeError("the node died under concurrent conversions")
    figures = {
        "netcdf_serial_per_s": round(serial["per_s"], 2),
        "netcdf_concurrent_per_s": round(concurrent["per_s"], 2),
        "netcdf_concurrent_503": concurrent["busy"],
        "netcdf_rows_per_file": rows,
        "netcdf_inprocess_serial_per_s": round(local["serial"], 2),
        "netcdf_lock_8_threads_per_s": round(local["lock"], 2),
        "netcdf_pool_2_processes_per_s": round(local["pool"], 2),
    }
    ratios = {
        "netcdf_concurrent_vs_serial": round(concurrent["per_s"] / serial["per_s"], 3),
        "netcdf_lock_vs_process_pool": round(local["lock"] / local["pool"], 3),
    }
    return figures, ratios


def derived_count(root: Path) -> int:
    """Derived files recorded at the center under `root`."""
    from sqlalchemy import func, select

    from catalog.db import make_engine
    from catalog.models import DerivedFile

    engine = make_engine(f"sqlite:///{root.resolve() / 'fieldcat.db'}")
    try:
        with engine.connect() as connection:
            return int(connection.scalar(select(func.count()).select_from(DerivedFile)) or 0)
    finally:
        engine.dispose()


def upload_rate(url: str, token: str, files: list[tuple[str, bytes]]) -> float:
    """HTTP uploads per second, 4 clients at once."""
    headers = {"Authorization": f"Bearer {token}"}

    def one(item: tuple[str, bytes]) -> None:
        with httpx.Client(base_url=url, headers=headers, timeout=300) as client:
            resp = client.post("/api/v1/submissions", files={"file": item})
            if resp.status_code != 201:
                raise RuntimeError(f"{resp.status_code} {resp.text[:300]}")

    began = time.perf_counter()
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(one, files))
    return len(files) / (time.perf_counter() - began)


def derive_in_process(root: Path) -> float:
    """Files per second of the same backlog made by one thread of this process."""
    from archive_center.worker import derive_missing
    from catalog.db import make_engine
    from catalog.storage import ArchiveStore

    engine = make_engine(f"sqlite:///{root.resolve() / 'fieldcat.db'}")
    store = ArchiveStore(root)
    made, began, failed = 0, time.perf_counter(), set[tuple[str, int]]()
    while batch := derive_missing(engine, store, datetime.now(UTC), failed):
        made += batch
    seconds = time.perf_counter() - began
    engine.dispose()
    return made / seconds


def drain(root: Path, backlog: int) -> float:
    """Start a node on `root` and time its worker until `backlog` derived files exist."""
    proc, _ = start_node(root)
    try:
        began = time.perf_counter()
        while derived_count(root) < backlog:
            if time.perf_counter() - began > 1800 or proc.poll() is not None:
                raise RuntimeError("the backlog was not drained")
            time.sleep(0.1)
        return time.perf_counter() - began
    finally:
        stop_node(proc)


def uploads_per_s(root: Path, token: str, first_did: int, count: int, *args: str) -> float:
    """HTTP uploads per second to a node started on `root` with `args`."""
    proc, url = start_node(root, *args)
    try:
        files = [(f"u_{d}.txt", series_file(d, 300)) for d in range(first_did, first_did + count)]
        return upload_rate(url, token, files)
    finally:
        stop_node(proc)


def measure_derive(quick: bool = False) -> tuple[Figures, Figures]:
    """The worker draining a backlog of derived files beside one thread making the same;
    HTTP uploads while the worker drains a backlog beside uploads with no worker at all."""
    backlog, rows, uploads = (16, 1_000, 8) if quick else (200, 5_000, 40)
    with tempfile.TemporaryDirectory(prefix="fieldcat-bench-derive-") as tmp:
        root = Path(tmp) / "node"
        token = prepare_center(root)
        register_in_process(root, [(f"b_{d}.txt", series_file(d, rows)) for d in range(backlog)])
        twin, busy = Path(tmp) / "twin", Path(tmp) / "busy"
        shutil.copytree(root, twin)  # the same backlog for the in-process baseline
        shutil.copytree(root, busy)  # and for uploads while it drains
        # A stored NetCDF, a quick-look and a QC result each (`archive_center.worker.FORMATS`).
        files = len(FORMATS) * backlog
        drained = drain(root, files)
        baseline = derive_in_process(twin)
        deriving = uploads_per_s(busy, token, 5000, uploads)
        without = uploads_per_s(busy, token, 6000, uploads, "--no-worker")
    rate = files / drained
    figures = {
        "derive_files_per_s": round(rate, 2),
        "derive_inprocess_files_per_s": round(baseline, 2),
        "derive_backlog_files": files,
        "uploads_per_s_while_deriving": round(deriving, 2),
        "uploads_per_s_no_worker": round(without, 2),
    }
    ratios = {
        "derive_pool_vs_inprocess": round(rate / baseline, 3),
        "uploads_deriving_vs_no_worker": round(deriving / without, 3),
    }
    return figures, ratios


def main() -> None:
    """Run both measurements; print the figures, then the JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a small smoke run")
    args = parser.parse_args()
    figures: Figures = {}
    ratios: Figures = {}
    for measure in (measure_netcdf, measure_derive):
        more_figures, more_ratios = measure(args.quick)
        figures |= more_figures
        ratios |= more_ratios
    for name, value in {**figures, **ratios}.items():
        print(f"{name:34s} {value}")
    print(json.dumps({"benchmark": "load", "figures": figures, "ratios": ratios}))


if __name__ == "__main__":
    main()
