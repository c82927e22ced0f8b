"""Ingest streams benchmark, in one run:

- line-to-searchable latency, p50 and p95, with 20 TCP streams each fed 10 lines/s by this
  process, against a real `fieldcat serve` on loopback (goal: p95 under 2 s). A line counts
  as searchable once a search lists its stream's day dataset with a stop time at or after
  the line's time;
- sustained lines per second into one stream (each line acknowledged, so each is fsynced
  before the next), beside appending the same lines to a file with an fsync each, the
  durability the stream gives (`stream_vs_file_append`, goal at least 0.3);
- restart time after a crash (`restart_s`, goal under 2 s): a supervised TCP stream whose
  listening socket and connections are closed under it, from the crash to the next line
  acknowledged by the restarted receiver, median of several crashes each after a healthy
  spell (a receiver that keeps crashing backs off longer, by design).

Last line: one JSON object. `--quick`: 4 s of feeding instead of 30, 300 lines instead of
3000, 3 crashes instead of 10.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.archive_center.fieldcat_process import free_ports  # noqa: E402
from tests.archive_center.stream_feed import START, LineSender, met_line  # noqa: E402

PROFILES = REPO / "tests" / "fixtures" / "profiles"
STREAMS = 20
RATE = 10.0


def node_config(root: Path, port: int, streams: int) -> Path:
    """A center with `streams` TCP streams on the ports after `port`."""
    blocks = [f'root = "{root}"\nport = {port}\nprofiles_dir = "{PROFILES}"\n']
    for i in range(streams):
        blocks.append(
            f'[[streams]]\nname = "met{i}"\nkind = "tcp"\nprofile = "kco_cr1000_met"\n'
            f"port = {port + 1 + i}\ndid = {800 + i}\nversion_every_s = 1.0\n"
        )
    config = root / "center.toml"
    config.write_text("\n".join(blocks), encoding="utf-8")
    return config


def start_node(config: Path, url: str) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FIELDCAT_")}
    env["PYTHONPATH"] = str(REPO)
    cmd = [sys.executable, "-m", "archive_center"]
    subprocess.run([*cmd, "init", "--config", str(config)], env=env, check=True, cwd=REPO,
                   capture_output=True)  # fmt: skip
    log = (config.parent / "serve.log").open("wb")
    proc = subprocess.Popen([*cmd, "serve", "--config", str(config)], env=env, cwd=REPO,
                            stdout=log, stderr=subprocess.STDOUT)  # fmt: skip
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/api/v1/readyz").status_code == 200:
                return proc
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise RuntimeError("node did not start")


def line_time(i: int) -> datetime:
    return datetime.fromisoformat(met_line(i).split(",")[0].strip('"') + "+00:00")


def feed(port: int, seconds: float, sent: list[float]) -> None:
    """Send 10 lines a second to one stream; `sent[i]` is when line i was acknowledged."""
    sender = LineSender("127.0.0.1", port)
    began = time.monotonic()
    for i in range(int(seconds * RATE)):
        time.sleep(max(0.0, began + i / RATE - time.monotonic()))
        sender.send(met_line(i))
        sent.append(time.monotonic())
    sender.close()


def watch(url: str, stops: dict[str, list[tuple[float, datetime]]], done: threading.Event) -> None:
    """Poll one search for every stream's day dataset; note when each stop time was seen."""
    with httpx.Client(timeout=10) as client:
        while not done.is_set():
            query = {"platform": "KCO", "limit": 100}
            items = client.get(f"{url}/api/v1/datasets", params=query).json()["items"]
            now = time.monotonic()
            for item in items:
                stop = datetime.fromisoformat(item["stop"].replace("Z", "+00:00"))
                stops.setdefault(item["did"], []).append((now, stop))
            time.sleep(0.05)


def latency(url: str, ports: list[int], seconds: float) -> list[float]:
    """Seconds from each line's acknowledgement to its being searchable, all streams."""
    from submissions.day_stream import day_did

    sent: list[list[float]] = [[] for _ in ports]
    stops: dict[str, list[tuple[float, datetime]]] = {}
    done = threading.Event()
    watcher = threading.Thread(target=watch, args=(url, stops, done), daemon=True)
    watcher.start()
    feeders = [
        threading.Thread(target=feed, args=(p, seconds, sent[n])) for n, p in enumerate(ports)
    ]
    for thread in feeders:
        thread.start()
    for thread in feeders:
        thread.join()
    time.sleep(3)
    done.set()
    watcher.join()
    delays = []
    for n, acks in enumerate(sent):
        seen = stops.get(str(day_did(800 + n, START.date())), [])
        for i, acked in enumerate(acks):
            when = line_time(i)
            found = next((t for t, stop in seen if stop >= when and t >= acked), None)
            if found is not None:
                delays.append(found - acked)
            else:
                delays.append(float("inf"))
    return delays


def sustained(port: int, lines: int) -> float:
    """Lines per second into one stream, each acknowledged (sent 50 at a time, then their
    answers read: a logger does not wait for each answer)."""
    sender = LineSender("127.0.0.1", port)
    start, window = 100000, 50
    began = time.perf_counter()
    for first in range(start, start + lines, window):
        answers = sender.send_many([met_line(i) for i in range(first, first + window)])
        assert answers == ["ok"] * window, answers[:3]
    elapsed = time.perf_counter() - began
    sender.close()
    return lines / elapsed


def file_append(folder: Path, lines: int) -> float:
    """Lines per second appended to a file, flushed and fsynced each."""
    path = folder / "append.txt"
    began = time.perf_counter()
    with path.open("a", encoding="utf-8") as out:
        for i in range(lines):
            out.write(met_line(i) + "\n")
            out.flush()
            os.fsync(out.fileno())
    return lines / (time.perf_counter() - began)


def restart_times(root: Path, crashes: int) -> list[float]:
    """Seconds from a supervised stream's crash to its next acknowledged line."""
    from archive_center.app import prepare_node
    from archive_center.receivers import build_receivers
    from catalog.db import make_engine, make_session_factory
    from submissions.supervisor import Supervisor
    from web.settings import Settings

    port = free_ports(1)
    settings = Settings(root=root, profiles_dir=PROFILES, streams=[
        {"name": "crashy", "kind": "tcp", "profile": "kco_cr1000_met", "port": port}])  # fmt: skip
    prepare_node(settings)
    engine = make_engine(settings.effective_database_url)
    # Each crash comes after 0.5 s of healthy running, treated here as a first crash (the
    # node's supervisor waits a minute before it forgets earlier crashes and their back-off).
    supervisor = Supervisor(
        build_receivers(settings, engine), make_session_factory(engine), healthy_s=0.3
    )
    stop = threading.Event()
    thread = threading.Thread(target=supervisor.run, args=(stop,), daemon=True)
    thread.start()
    receiver = supervisor.slots["crashy"].receiver
    sender = LineSender("127.0.0.1", port)
    sender.send(met_line(0))
    times = []
    for n in range(1, crashes + 1):
        time.sleep(0.5)
        crashed = time.monotonic()
        receiver.interrupt()  # type: ignore[attr-defined]
        sender.send(met_line(n))
        times.append(time.monotonic() - crashed)
    sender.close()
    stop.set()
    thread.join(timeout=30)
    engine.dispose()
    return times


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a small run")
    args = parser.parse_args()
    seconds, lines, crashes = (4.0, 300, 3) if args.quick else (30.0, 3000, 10)
    with tempfile.TemporaryDirectory(prefix="fieldcat-bench-streams-") as tmp:
        folder = Path(tmp)
        port = free_ports(STREAMS + 2)
        url = f"http://127.0.0.1:{port}"
        (folder / "node").mkdir()
        node = start_node(node_config(folder / "node", port, STREAMS + 1), url)
        try:
            ports = [port + 1 + i for i in range(STREAMS)]
            delays = latency(url, ports, seconds)
            stream_lps = sustained(port + 1 + STREAMS, lines)
        finally:
            node.send_signal(signal.SIGTERM)
            node.wait(timeout=60)
        file_lps = file_append(folder, lines)
        (folder / "crash").mkdir()
        restarts = restart_times(folder / "crash", crashes)
    found = [d for d in delays if d != float("inf")]
    figures = {
        "streams": STREAMS,
        "lines_per_s_per_stream": RATE,
        "lines_sent": len(delays),
        "lines_not_searchable": len(delays) - len(found),
        "line_to_search_p50_s": round(percentile(found, 0.5), 3) if found else None,
        "line_to_search_p95_s": round(percentile(found, 0.95), 3) if found else None,
        "stream_lines_per_s": round(stream_lps, 1),
        "file_append_lines_per_s": round(file_lps, 1),
        "restart_s": round(statistics.median(restarts), 3),
        "restart_max_s": round(max(restarts), 3),
    }
    ratios = {"stream_vs_file_append": round(stream_lps / file_lps, 3)}
    print(json.dumps({"benchmark": "streams", "figures": figures, "ratios": ratios}))


if __name__ == "__main__":
    main()
