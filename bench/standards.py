"""Standard faces benchmark: STAC item search beside the JSON API's same query, and an OAI-PMH
full harvest, at 100,000 datasets served by a real node (uvicorn) over HTTP, in one run.

- `stac_vs_api`: median latency of `GET /stac/search?bbox=...&datetime=a/b&limit=50` over
  that of `GET /api/v1/datasets?bbox=...&start=a&end=b&limit=50&facets=false` (the same
  filters, the same page size; facet counts off so both fetch one page), interleaved.
- `oai_records_per_s`: `ListRecords` in `oai_dc` from the first request to the last
  resumption token, every record of the catalog that anonymous may see; plus the rates of
  the heavier `datacite` and `iso19115-3` records over their first 10,000.

Usage: python bench/standards.py [--quick]
The last line printed is one JSON object:
{"benchmark": "standards", "figures": {...}, "ratios": {"stac_vs_api": ...}}.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote, urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from lxml import etree

from bench.search import load
from catalog.db import make_engine

REPO = Path(__file__).resolve().parent.parent
OAI = "{http://www.openarchives.org/OAI/2.0/}"
BOX = "40,-40,120,40"
START, END = "2010-03-01T00:00:00Z", "2012-09-01T00:00:00Z"


@contextmanager
def serve(root: Path) -> Iterator[int]:
    """A real node (uvicorn, no worker) over the loaded database in `root`; its port."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    env = os.environ | {
        "FIELDCAT_ROOT": str(root),
        "FIELDCAT_PORT": str(port),
        "PYTHONPATH": str(REPO),
        "FIELDCAT_PUBLIC_URL": f"http://127.0.0.1:{port}",
    }
    env.pop("FIELDCAT_CONFIG", None)
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--factory", "archive_center.app:create_app",
         "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning",
         "--no-access-log"],
        cwd=REPO, env=env,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise
                time.sleep(0.2)
        yield port
    finally:
        server.terminate()
        server.wait(timeout=30)


def getter(port: int) -> Callable[[str], bytes]:
    """GET on one kept-alive connection; fails on anything but 200."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)

    def get(target: str) -> bytes:
        conn.request("GET", target)
        response = conn.getresponse()
        body = response.read()
        if response.status != 200:
            raise RuntimeError(f"GET {target}: {response.status} {body[:300]!r}")
        return body

    return get


def interleaved(calls: dict[str, Callable[[], object]], repeat: int) -> dict[str, float]:
    """Median milliseconds of each call, round-robin so drift hits all alike."""
    for call in calls.values():
        call()
    times: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(repeat):
        for name, call in calls.items():
            began = time.perf_counter()
            call()
            times[name].append((time.perf_counter() - began) * 1000)
    return {name: statistics.median(values) for name, values in times.items()}


def stac_and_api(get: Callable[[str], bytes], repeat: int) -> dict[str, float]:
    """The same filtered page through STAC and through the JSON API."""
    stac = "/stac/search?" + urlencode({"bbox": BOX, "datetime": f"{START}/{END}", "limit": 50})
    api = "/api/v1/datasets?" + urlencode(
        {"bbox": BOX, "start": START, "end": END, "limit": 50, "facets": "false"}
    )
    found = (len(json.loads(get(stac))["features"]), len(json.loads(get(api))["items"]))
    if found[0] != found[1]:
        raise RuntimeError(f"STAC and the API disagree: {found}")
    medians = interleaved({"stac": lambda: get(stac), "api": lambda: get(api)}, repeat)
    print(f"[stac] {found[0]} items per page: STAC {medians['stac']:.1f} ms, "
          f"API {medians['api']:.1f} ms")  # fmt: skip
    return medians


def harvest(get: Callable[[str], bytes], prefix: str, cap: int | None) -> tuple[int, float]:
    """ListRecords from the start through its resumption tokens (at most `cap` records)."""
    began, count = time.perf_counter(), 0
    target = f"/oai?verb=ListRecords&metadataPrefix={prefix}"
    while True:
        root = etree.fromstring(get(target))
        body = root.find(f"{OAI}ListRecords")
        if body is None:
            raise RuntimeError(etree.tostring(root)[:300])
        count += len(body.findall(f"{OAI}record"))
        token = body.findtext(f"{OAI}resumptionToken")
        if not token or (cap is not None and count >= cap):
            return count, time.perf_counter() - began
        target = f"/oai?verb=ListRecords&resumptionToken={quote(token)}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2,000 datasets, few repeats")
    args = parser.parse_args(argv)
    n, repeat, cap = (2_000, 10, 1_000) if args.quick else (100_000, 40, 10_000)
    with tempfile.TemporaryDirectory(prefix="bench-standards-") as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'fieldcat.db'}")
        loaded = load(engine, n)
        engine.dispose()
        print(f"[load] {n} datasets in {loaded:.1f} s")
        with serve(Path(tmp)) as port:
            get = getter(port)
            medians = stac_and_api(get, repeat)
            records, seconds = harvest(get, "oai_dc", None)
            rate = records / seconds
            print(f"[oai] oai_dc full harvest: {records} records in {seconds:.1f} s, {rate:.0f}/s")
            heavy = {}
            for prefix in ("datacite", "iso19115-3"):
                done, took = harvest(get, prefix, cap)
                heavy[prefix] = done / took
                print(f"[oai] {prefix}: {done} records in {took:.1f} s, {heavy[prefix]:.0f}/s")
    figures = {
        "datasets": n,
        "stac_search_p50_ms": round(medians["stac"], 2),
        "api_search_p50_ms": round(medians["api"], 2),
        "oai_records_per_s": round(rate, 1),
        "oai_records_harvested": records,
        "oai_datacite_records_per_s": round(heavy["datacite"], 1),
        "oai_iso19115_records_per_s": round(heavy["iso19115-3"], 1),
    }
    ratios = {"stac_vs_api": round(medians["stac"] / medians["api"], 4)}
    print(json.dumps({"benchmark": "standards", "figures": figures, "ratios": ratios}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
