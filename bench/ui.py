"""UI benchmark: the search page against the JSON API for the same query, and the dataset
page against its JSON, over HTTP on one real node, measured interleaved in one run.

Both sides call the same service (`search_datasets`, `get_dataset`); the ratio is the price
of the page: template rendering, and on the dataset page the data-access check that decides
whether the plot and the download form are shown. Goal: at most 1.5. The search page is
measured as users get it: its open results carry a quick-look thumbnail and name their
track (both fetched by the browser afterwards); the counts are printed with the figures.

Usage: python bench/ui.py [--quick]
The last line printed is one JSON object: {"benchmark": "ui", "figures": ..., "ratios": ...}.
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
from pathlib import Path
from urllib.parse import urlencode

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.search import load  # noqa: E402  (the one catalog loader)
from catalog.db import make_engine  # noqa: E402


def start_node(root: Path) -> tuple[subprocess.Popen[bytes], int]:
    """A uvicorn node over the loaded database, on a free loopback port."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = os.environ | {"FIELDCAT_ROOT": str(root), "FIELDCAT_PORT": str(port)}
    env |= {"PYTHONPATH": str(REPO)}
    env.pop("FIELDCAT_CONFIG", None)
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--factory", "archive_center.app:create_app",
         "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning",
         "--no-access-log"],
        cwd=REPO, env=env,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return server, port
        except OSError:
            if time.monotonic() > deadline or server.poll() is not None:
                server.kill()
                raise
            time.sleep(0.2)


def fetch(conn: http.client.HTTPConnection, target: str) -> bytes:
    """GET `target` on a kept-alive connection; the body (fails on a non-200)."""
    conn.request("GET", target)
    response = conn.getresponse()
    body = response.read()
    if response.status != 200:
        raise RuntimeError(f"GET {target}: {response.status} {body[:300]!r}")
    return body


REPEAT = 300
"""Rounds of the four requests in a full run. Their medians moved by a tenth of the ratio
between runs at 60 rounds (a 5 ms page on a shared machine); 300 take about 20 s more."""


def interleaved_ms(port: int, targets: dict[str, str], repeat: int) -> dict[str, float]:
    """Median milliseconds per target, requests taken round-robin after a warm-up."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        for target in targets.values():
            fetch(conn, target)
        times: dict[str, list[float]] = {name: [] for name in targets}
        for _ in range(repeat):
            for name, target in targets.items():
                t0 = time.perf_counter()
                fetch(conn, target)
                times[name].append((time.perf_counter() - t0) * 1000)
    finally:
        conn.close()
    return {name: statistics.median(values) for name, values in times.items()}


QUERY = {"start": "2005-01-01T00:00:00+00:00", "end": "2015-01-01T00:00:00+00:00",
         "bbox": (40.0, -40.0, 120.0, 40.0), "limit": "20"}  # fmt: skip
"""A full first page (the page's default size) of a time-and-box search, with facets."""


def queries() -> tuple[str, str]:
    """The same search as a page query string and as an API query string."""
    start, end = QUERY["start"], QUERY["end"]
    west, south, east, north = (f"{v:g}" for v in QUERY["bbox"])
    common = {"limit": QUERY["limit"]}
    page = urlencode({"start": start, "end": end, "west": west, "south": south, "east": east,
                      "north": north, **common})  # fmt: skip
    api = urlencode({"start": start, "end": end, "bbox": f"{west},{south},{east},{north}",
                     **common})  # fmt: skip
    return page, api


def on_page(html: str) -> dict[str, int]:
    """How many result rows carry a quick-look thumbnail, and how many map features name a
    track (fetched by the browser afterwards), on the search page measured."""
    features = html.split('id="map-features">', 1)[1].split("</script>", 1)[0]
    return {
        "thumbnails_on_page": html.count('<img class="thumb"'),
        "tracks_on_page": sum(1 for f in json.loads(features) if f["track"]),
    }


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its summary line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="small catalog, few repeats")
    args = parser.parse_args(argv)
    n, repeat = (2_000, 15) if args.quick else (100_000, REPEAT)
    page_query, api_query = queries()
    with tempfile.TemporaryDirectory(prefix="bench-ui-") as tmp:
        root = Path(tmp)
        engine = make_engine(f"sqlite:///{root / 'fieldcat.db'}")
        loaded = load(engine, n)
        engine.dispose()
        print(f"loaded {n} datasets in {loaded:.1f} s")
        server, port = start_node(root)
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            found = json.loads(fetch(conn, f"/api/v1/datasets?{api_query}"))
            shown = on_page(fetch(conn, f"/search?{page_query}").decode())
            conn.close()
            if not found["items"]:
                raise RuntimeError("the benchmark query found nothing")
            pid = found["items"][0]["public_id"]
            ms = interleaved_ms(
                port,
                {
                    "search_page": f"/search?{page_query}",
                    "search_api": f"/api/v1/datasets?{api_query}",
                    "dataset_page": f"/datasets/{pid}",
                    "dataset_api": f"/api/v1/datasets/{pid}",
                },
                repeat,
            )
        finally:
            server.terminate()
            server.wait(timeout=30)
    print(f"{n} datasets, {len(found['items'])} results on the page, median of {repeat}:")
    for name, value in ms.items():
        print(f"  {name:<14} {value:8.2f} ms")
    print(f"  the page shows {shown['thumbnails_on_page']} thumbnails and names "
          f"{shown['tracks_on_page']} tracks")  # fmt: skip
    figures: dict[str, float] = {f"{name}_ms": round(value, 3) for name, value in ms.items()}
    figures |= shown
    figures["datasets"] = n
    ratios = {
        "search_page_vs_api": round(ms["search_page"] / ms["search_api"], 4),
        "dataset_page_vs_api": round(ms["dataset_page"] / ms["dataset_api"], 4),
    }
    print(json.dumps({"benchmark": "ui", "figures": figures, "ratios": ratios}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
