"""Download benchmark: a large original and a NetCDF time-window subset of it, streamed by a
real uvicorn process on loopback, beside a raw loopback copy of the same bytes.

Figures: throughput of the original download and of the raw copy (MB/s), peak RSS growth of
the server while it streams each (MB; target < 64), time of the subset. Last line: one JSON
object. `--quick` uses a 16 MB original instead of 1 GB.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

START = datetime(1999, 1, 1, tzinfo=UTC)
MB = 1024 * 1024


def write_original(path: Path, target_bytes: int) -> tuple[int, datetime]:
    """A mobile-platform header-format file of about `target_bytes`; returns rows and stop."""
    import numpy as np

    row_bytes = 52  # what one generated row takes on average
    rows = max(2000, target_bytes // row_bytes)
    stop = START + timedelta(seconds=rows - 1)
    header = (
        "DID = 9001\n"
        f"FILE START TIME (UTC) = {START:%Y-%m-%dT%H:%M:%SZ}\n"
        f"FILE STOP TIME (UTC) = {stop:%Y-%m-%dT%H:%M:%SZ}\n"
        "PI NAME = Bench, Ada\nPLATFORM = C130\nINSTRUMENT = Benchmark probe\n"
        "LOCATION = mobile\nDATA VERSION = 1\nREMARKS = Missing data = -9999\n"
        "##END OF HEADER##\nTIME LAT LON ALT TEMP O3\nUTC degN degE m degC PPB\n"
    )
    rng = np.random.default_rng(7)
    base = np.datetime64("1999-01-01T00:00:00", "s")
    with path.open("w", encoding="ascii") as out:
        out.write(header)
        for first in range(0, rows, 200_000):
            n = min(200_000, rows - first)
            stamps = np.datetime_as_string(base + np.arange(first, first + n), unit="s")
            lat = 5 + 10 * np.sin(np.arange(first, first + n) / 50_000)
            lon = 60 + 20 * np.cos(np.arange(first, first + n) / 70_000)
            temp = 20 + rng.normal(0, 2, n)
            o3 = 40 + rng.normal(0, 5, n)
            out.writelines(
                f"{s}Z {a:.4f} {b:.4f} {1000 + (i % 5000)} {t:.2f} {o:.1f}\n"
                for i, (s, a, b, t, o) in enumerate(zip(stamps, lat, lon, temp, o3, strict=True))
            )
    return rows, stop


def register(root: Path, original: Path) -> str:
    """Archive `original` in a center at `root` and register it; returns its public id."""
    import formats
    from archive_center.app import prepare_node
    from catalog.db import make_engine, make_session_factory
    from catalog.registration import register_datafile
    from catalog.storage import ArchiveStore
    from web.settings import Settings

    settings = Settings(root=root)
    prepare_node(settings)
    with original.open("rb") as handle:  # metadata from the head of the file
        head = b"".join(handle.readline() for _ in range(3000))
    datafile = formats.read(head, filename="bench.txt")
    store = ArchiveStore(root)
    staged = store.new_staging_path()
    os.replace(original, staged)
    sha256, path = store.put_original(staged)
    engine = make_engine(settings.effective_database_url)
    with make_session_factory(engine)() as session, session.begin():
        dataset = register_datafile(
            session,
            datafile=datafile,
            sha256=sha256,
            size=path.stat().st_size,
            original_name="bench.txt",
            center_code=settings.center_code,
            campaign_code=settings.campaign.code,
            now=datetime.now(UTC),
        )
        public_id = dataset.public_id
    engine.dispose()
    return public_id


def free_port() -> int:
    """An unused loopback port."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start_server(root: Path, port: int) -> subprocess.Popen[bytes]:
    """uvicorn serving the center at `root` on loopback; returns once it answers."""
    env = os.environ | {
        "FIELDCAT_ROOT": str(root),
        "FIELDCAT_PORT": str(port),
        "PYTHONPATH": str(REPO),
    }
    env.pop("FIELDCAT_CONFIG", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--factory", "archive_center.app:create_app",
         "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning", "--no-access-log"],
        cwd=REPO, env=env,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/v1/healthz").status_code == 200:
                return proc
        except httpx.TransportError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("server did not start")


def rss_mb(pid: int, field: str = "VmRSS") -> float:
    """A memory figure of a process from /proc (MB)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


def peak_growth(pid: int, action: Callable[[], None]) -> float:
    """Peak RSS growth of process `pid` (MB) while `action` runs (kernel high-water mark,
    reset first, and samples every 5 ms where the reset is not allowed)."""
    before = rss_mb(pid)
    peak = before
    try:  # reset the kernel's high-water mark so VmHWM afterwards covers only `action`
        Path(f"/proc/{pid}/clear_refs").write_text("5")
        exact = True
    except OSError:
        exact = False
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, rss_mb(pid))
            time.sleep(0.005)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        action()
    finally:
        done.set()
        sampler.join()
    if exact:
        peak = max(peak, rss_mb(pid, "VmHWM"))
    return max(0.0, peak - before)


def fetch(url: str, params: dict[str, str] | None = None) -> tuple[int, float, bytes]:
    """GET `url`, reading the body into one reused buffer; (bytes, seconds, first bytes).

    `http.client` with `readinto` keeps the client from being the bottleneck (httpx tops
    out near 200 MB/s here), so the figure is the server's.
    """
    import http.client
    from urllib.parse import urlencode, urlsplit

    parts = urlsplit(url)
    target = parts.path + ("?" + urlencode(params) if params else "")
    buffer = bytearray(MB)
    view = memoryview(buffer)
    total, head = 0, b""
    began = time.perf_counter()
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=600)
    try:
        conn.request("GET", target)
        response = conn.getresponse()
        if response.status != 200:
            raise RuntimeError(f"GET {target}: {response.status} {response.read()[:300]!r}")
        while n := response.readinto(view):
            head = head or bytes(view[:8])
            total += n
    finally:
        conn.close()
    return total, time.perf_counter() - began, head


def raw_copy(path: Path) -> tuple[int, float]:
    """Bytes and seconds to copy `path` over a plain loopback TCP socket (sendfile)."""
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]

    def serve() -> None:
        conn, _ = server.accept()
        with conn, path.open("rb") as handle:
            conn.sendfile(handle)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    buffer = bytearray(MB)
    total = 0
    began = time.perf_counter()
    with socket.create_connection(("127.0.0.1", port)) as client:
        while n := client.recv_into(buffer):
            total += n
    seconds = time.perf_counter() - began
    thread.join()
    server.close()
    return total, seconds


def main() -> None:
    """Run the benchmark and print its figures, then one JSON line."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="16 MB instead of 1 GB")
    args = parser.parse_args()
    target = 16 * MB if args.quick else 1024 * MB
    workdir = Path(tempfile.mkdtemp(prefix="fieldcat-bench-download-"))
    proc: subprocess.Popen[bytes] | None = None
    try:
        root = workdir / "center"
        began = time.perf_counter()
        rows, stop = write_original(workdir / "big.txt", target)
        print(f"generated {rows} rows in {time.perf_counter() - began:.1f} s")
        public_id = register(root, workdir / "big.txt")
        archived = next(p for p in (root / "archive" / "originals").rglob("*") if p.is_file())
        size = archived.stat().st_size
        port = free_port()
        proc = start_server(root, port)
        url = f"http://127.0.0.1:{port}/api/v1/datasets/{public_id}/data"
        middle = START + (stop - START) / 2
        window = {
            "format": "netcdf",
            "start": f"{middle:%Y-%m-%dT%H:%M:%SZ}",
            "end": f"{middle + timedelta(hours=1):%Y-%m-%dT%H:%M:%SZ}",
        }
        fetch(url, window)  # warm up: imports, first conversion
        result: dict[str, tuple[int, float, bytes]] = {}
        grow_original = peak_growth(proc.pid, lambda: result.update(original=fetch(url)))
        grow_subset = peak_growth(proc.pid, lambda: result.update(subset=fetch(url, window)))
        got, seconds, _ = result["original"]
        assert got == size, (got, size)
        sub_bytes, sub_seconds, sub_head = result["subset"]
        assert sub_head[:3] in (b"CDF", b"\x89HD"), sub_head
        raw_bytes, raw_seconds = raw_copy(archived)
        assert raw_bytes == size
        download_mb_s = size / MB / seconds
        raw_mb_s = size / MB / raw_seconds
        peak = max(grow_original, grow_subset)
        print(f"original: {size / MB:.0f} MB in {seconds:.2f} s = {download_mb_s:.0f} MB/s")
        print(f"raw loopback copy: {raw_mb_s:.0f} MB/s; ratio {download_mb_s / raw_mb_s:.3f}")
        print(f"server peak RSS growth: original {grow_original:.1f} MB, NetCDF 1-hour subset "
              f"{grow_subset:.1f} MB ({sub_bytes} bytes in {sub_seconds:.2f} s)")  # fmt: skip
        print(
            json.dumps(
                {
                    "benchmark": "download",
                    "figures": {
                        "download_peak_rss_growth_mb": round(peak, 1),
                        "original_peak_rss_growth_mb": round(grow_original, 1),
                        "subset_peak_rss_growth_mb": round(grow_subset, 1),
                        "download_mb_s": round(download_mb_s, 1),
                        "raw_copy_mb_s": round(raw_mb_s, 1),
                        "subset_seconds": round(sub_seconds, 3),
                        "original_mb": round(size / MB, 1),
                    },
                    "ratios": {"download_vs_raw_copy": round(download_mb_s / raw_mb_s, 4)},
                }
            )
        )
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=30)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
