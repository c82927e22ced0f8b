"""Submissions benchmark, in one run against a real `fieldcat serve` on loopback:

- FTP drop: from the end of an FTP upload (the client's 226) to the dataset being found by
  search, median and 95th percentile (goal: median under 2 s);
- e-mail intake: the same from the end of an SMTP send to a PI's personal address
  (`email_to_search_p50_s`, goal under 2 s);
- 200 concurrent small HTTP uploads, files per second, beside the same files through the
  pipeline in process (`http_vs_inprocess` shows what HTTP costs); the node admits a bounded
  number at once and answers the rest 503 with `Retry-After`, which the client waits before
  sending again (`http_uploads_refused` counts those answers);
- one 1 GB upload (a PDF product), throughput beside a raw loopback copy of the same bytes to
  disk, the median of `RAW_COPIES` (`upload_vs_raw_copy`, goal at least 0.5), and the
  server's peak RSS growth meanwhile (goal under 64 MB);
- the cost of durable commits: the in-process uploads with SQLite `synchronous=FULL` (what
  the node runs) beside the same with `NORMAL` (`durable_commit_vs_normal`).

Last line: one JSON object. `--quick`: 3 FTP files, 20 HTTP uploads, 64 MB instead of 1 GB.
"""

from __future__ import annotations

import argparse
import asyncio
import ftplib
import io
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.download import free_port, peak_growth  # noqa: E402 - the download bench's helpers
from bench.parts.email_intake import drop_address, email_to_search  # noqa: E402

MB = 1024 * 1024
SAMPLE = REPO / "tests" / "fixtures" / "samples" / "valid" / "kco_surface_hourly.txt"


def small_file(did: int) -> bytes:
    """The KCO sample under another DID (a distinct, valid, small file)."""
    lines = SAMPLE.read_text().splitlines()
    lines = [f"DID = {did}" if ln.upper().startswith("DID") else ln for ln in lines]
    return ("\n".join(lines) + "\n").encode()


def prepare_center(root: Path) -> str:
    """A migrated center at `root` with a PI and their API token."""
    from archive_center.cli_node import prepare
    from catalog.db import make_engine, make_session_factory
    from catalog.schemas import Role
    from catalog.users import create_user, issue_api_token
    from web.settings import Settings

    settings = Settings(root=root, center_code="JOSS", center_name="JOSS")
    prepare(settings)
    engine = make_engine(settings.effective_database_url)
    with make_session_factory(engine)() as session, session.begin():
        now = datetime.now(UTC)
        user = create_user(session, username="pi", password="bench-pass", role=Role.PI, now=now)
        token = issue_api_token(session, user, name="bench", now=now)
    engine.dispose()
    return token


def start_node(root: Path, port: int, ftp_port: int, smtp_port: int) -> subprocess.Popen[bytes]:
    """`fieldcat serve` with the FTP drop and the e-mail intake on; returns once it is ready."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FIELDCAT_")}
    env |= {
        "FIELDCAT_ROOT": str(root), "FIELDCAT_PORT": str(port), "FIELDCAT_CENTER_CODE": "JOSS",
        "FIELDCAT_CENTER_NAME": "JOSS", "FIELDCAT_SUBMISSIONS__FTP__ENABLED": "true",
        "FIELDCAT_SUBMISSIONS__FTP__PORT": str(ftp_port), "PYTHONPATH": str(REPO),
        "FIELDCAT_SUBMISSIONS__MAIL__ENABLED": "true",
        "FIELDCAT_SUBMISSIONS__MAIL__PORT": str(smtp_port),
        "FIELDCAT_WORKER_INTERVAL_S": "3600",
    }  # fmt: skip
    log = (root / "serve.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "archive_center", "serve"], cwd=REPO, env=env, stdout=log,
        stderr=subprocess.STDOUT,
    )  # fmt: skip
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/v1/readyz").status_code == 200:
                return proc
        except httpx.TransportError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("node did not start")


def ftp_to_search(url: str, ftp_port: int, count: int) -> list[float]:
    """Seconds from each FTP upload's end to its dataset being found by search."""
    latencies = []
    with httpx.Client(timeout=30) as client:
        for i in range(-1, count):  # -1: an untimed warm-up (the node's first reads import)
            did = 50_000 + i
            ftp = ftplib.FTP()
            ftp.connect("127.0.0.1", ftp_port, timeout=30)
            ftp.login()
            ftp.storbinary(f"STOR kco_{did}.txt", io.BytesIO(small_file(did)))
            ended = time.perf_counter()
            ftp.quit()
            while True:
                items = client.get(f"{url}/api/v1/datasets", params={"q": str(did)}).json()
                if any(item["did"] == str(did) for item in items["items"]):
                    break
                if time.perf_counter() - ended > 60:
                    raise RuntimeError(f"DID {did} never appeared")
                time.sleep(0.01)
            if i >= 0:
                latencies.append(time.perf_counter() - ended)
    return latencies


async def http_uploads(url: str, token: str, files: list[tuple[str, bytes]]) -> tuple[float, int]:
    """Files per second for all `files` sent at once over HTTP, and how many answers were
    503 (the node refusing more than it admits: the client waits the `Retry-After` it was
    given and sends the file again, as a polite client does)."""
    limits = httpx.Limits(max_connections=len(files))
    headers = {"Authorization": f"Bearer {token}"}
    refused = 0
    async with httpx.AsyncClient(timeout=300, limits=limits, headers=headers) as client:

        async def one(name: str, content: bytes) -> None:
            nonlocal refused
            while True:
                resp = await client.post(
                    f"{url}/api/v1/submissions", files={"file": (name, content, "text/plain")}
                )
                if resp.status_code == 201:
                    return
                if resp.status_code != 503 or not resp.headers.get("retry-after", "").isdigit():
                    raise RuntimeError(f"{name}: {resp.status_code} {resp.text[:300]}")
                refused += 1
                await asyncio.sleep(float(resp.headers["retry-after"]))

        began = time.perf_counter()
        await asyncio.gather(*(one(name, content) for name, content in files))
        return len(files) / (time.perf_counter() - began), refused


def in_process(root: Path, files: list[tuple[str, bytes]], synchronous: str = "FULL") -> float:
    """Files per second for the same files through `submit_file` in this process; SQLite
    commits with `synchronous` (the node's FULL, or NORMAL for the durable-commit baseline)."""
    from catalog.db import make_engine, make_session_factory
    from catalog.schemas import Principal, Role
    from catalog.storage import ArchiveStore
    from submissions.acceptance import SubmitOptions
    from submissions.pipeline import submit_file
    from web.settings import Settings

    prepare_center(root)
    settings = Settings(root=root, center_code="JOSS", center_name="JOSS")
    engine = make_engine(settings.effective_database_url, sqlite_synchronous=synchronous)
    sessions, store = make_session_factory(engine), ArchiveStore(root)
    pi = Principal(user_id=1, username="pi", role=Role.PI)
    warm_up = [("warm_up.txt", small_file(99_999))]  # first use imports the readers: untimed
    began = 0.0
    for name, content in warm_up + files:
        began = began or (time.perf_counter() if name != "warm_up.txt" else 0.0)
        result = submit_file(
            sessions, store, source=io.BytesIO(content), original_name=name, submitter=pi,
            center_code="JOSS", campaign=settings.campaign.code, receiver="bench",
            options=SubmitOptions(), now=datetime.now(UTC),
        )  # fmt: skip
        if not result.accepted:
            raise RuntimeError(result.report_text)
    rate = len(files) / (time.perf_counter() - began)
    engine.dispose()
    return rate


def write_big(path: Path, size: int) -> None:
    """A PDF-looking product file of `size` bytes (incompressible blocks)."""
    block = os.urandom(MB)
    with path.open("wb") as out:
        out.write(b"%PDF-1.4\n")
        written = 9
        while written < size:
            chunk = block[: min(MB, size - written)]
            out.write(chunk)
            written += len(chunk)


def multipart_body(path: Path, name: str, boundary: str) -> tuple[int, Iterator[bytes]]:
    """Length and chunks of a one-file multipart body read from disk."""
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
        "Content-Type: application/pdf\r\n\r\n"
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    size = path.stat().st_size

    def chunks() -> Iterator[bytes]:
        yield head
        with path.open("rb") as handle:
            while chunk := handle.read(MB):
                yield chunk
        yield tail

    return len(head) + size + len(tail), chunks()


def big_upload(url: str, token: str, path: Path) -> float:
    """Seconds for one large upload answered 201 (http.client: the client is no bottleneck)."""
    import http.client
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    boundary = "fieldcatbenchboundary"
    length, body = multipart_body(path, "bench.9903070400.big_report.pdf", boundary)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=600)
    began = time.perf_counter()
    try:
        conn.request("POST", "/api/v1/submissions", body=body, headers={
            "Authorization": f"Bearer {token}", "Content-Length": str(length),
            "Content-Type": f"multipart/form-data; boundary={boundary}",
        })  # fmt: skip
        response = conn.getresponse()
        answer = response.read()
        if response.status != 201:
            raise RuntimeError(f"big upload: {response.status} {answer[:300]!r}")
    finally:
        conn.close()
    return time.perf_counter() - began


RAW_COPIES = 3
"""Raw copies of the large file measured (one before its upload, the rest after the node
stopped): the baseline is their median. One copy alone swung from 180 to 490 MB/s between
runs on this disk, which made `upload_vs_raw_copy` a measure of the disk's mood."""


def raw_copy(path: Path, target: Path) -> float:
    """`raw_copy_to_disk` from a clean start (nothing dirty left to write back), the copy
    removed afterwards: its seconds."""
    os.sync()
    try:
        return raw_copy_to_disk(path, target)
    finally:
        target.unlink(missing_ok=True)


def raw_copy_to_disk(path: Path, target: Path) -> float:
    """Seconds to send `path` over a loopback socket to a receiver writing it to disk."""
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]

    def receive() -> None:
        conn, _ = server.accept()
        buffer = bytearray(MB)
        with conn, target.open("wb") as out:
            while n := conn.recv_into(buffer):
                out.write(memoryview(buffer)[:n])
            out.flush()
            os.fsync(out.fileno())

    thread = threading.Thread(target=receive)
    thread.start()
    began = time.perf_counter()
    with socket.create_connection(("127.0.0.1", port)) as client, path.open("rb") as handle:
        client.sendfile(handle)
    thread.join()
    seconds = time.perf_counter() - began
    server.close()
    return seconds


def main() -> None:
    """Run every measurement and print the figures, then the JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a small smoke run")
    parser.add_argument("--big-mb", type=int, default=0, help="size of the large upload (MB)")
    args = parser.parse_args()
    ftp_count, http_count = (3, 20) if args.quick else (20, 200)
    big_size = args.big_mb * MB if args.big_mb else (64 * MB if args.quick else 1024 * MB)
    with tempfile.TemporaryDirectory(prefix="fieldcat-bench-sub-") as tmp:
        base = Path(tmp)
        node_root, inproc_root = base / "node", base / "inproc"
        token = prepare_center(node_root)
        port, ftp_port, smtp_port = free_port(), free_port(), free_port()
        url = f"http://127.0.0.1:{port}"
        proc = start_node(node_root, port, ftp_port, smtp_port)
        try:
            latencies = ftp_to_search(url, ftp_port, ftp_count)
            address = drop_address(url, token)
            mail = email_to_search(url, smtp_port, address, ftp_count, small_file)
            files = [(f"kco_{i}.txt", small_file(60_000 + i)) for i in range(http_count)]
            http_rate, refused = asyncio.run(http_uploads(url, token, files))
            big = base / "big.pdf"
            write_big(big, big_size)
            copies = [raw_copy(big, base / "raw.bin")]
            seconds: list[float] = []
            os.sync()  # as before each copy: nothing dirty left from earlier writes
            growth = peak_growth(proc.pid, lambda: seconds.append(big_upload(url, token, big)))
        except Exception:
            print((node_root / "serve.log").read_text()[-5000:], file=sys.stderr)
            raise
        finally:
            proc.terminate()
            proc.wait(timeout=30)
        copies += [raw_copy(big, base / "raw.bin") for _ in range(RAW_COPIES - 1)]
        inproc_rate = in_process(inproc_root, files)
        normal_rate = in_process(base / "inproc-normal", files, synchronous="NORMAL")
    upload_mb_s = big_size / MB / seconds[0]
    speeds = sorted(big_size / MB / s for s in copies)
    raw_mb_s = statistics.median(speeds)
    ordered = sorted(latencies)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    figures = {
        "ftp_to_search_p50_s": round(statistics.median(latencies), 3),
        "ftp_to_search_p95_s": round(p95, 3),
        "email_to_search_p50_s": round(statistics.median(mail), 3),
        "email_to_search_max_s": round(max(mail), 3),
        "http_uploads_per_s": round(http_rate, 1),
        "http_uploads_refused": refused,
        "inprocess_uploads_per_s": round(inproc_rate, 1),
        "inprocess_uploads_per_s_sync_normal": round(normal_rate, 1),
        "upload_mb_per_s": round(upload_mb_s, 1),
        "raw_copy_mb_per_s": round(raw_mb_s, 1),
        "raw_copy_mb_per_s_min": round(speeds[0], 1),
        "raw_copy_mb_per_s_max": round(speeds[-1], 1),
        "upload_peak_rss_growth_mb": round(growth, 1),
        "upload_bytes": big_size,
    }
    ratios = {
        "http_vs_inprocess": round(http_rate / inproc_rate, 3),
        "upload_vs_raw_copy": round(upload_mb_s / raw_mb_s, 3),
        "durable_commit_vs_normal": round(inproc_rate / normal_rate, 3),
    }
    for name, value in {**figures, **ratios}.items():
        print(f"{name:28s} {value}")
    print(json.dumps({"benchmark": "submissions", "figures": figures, "ratios": ratios}))


if __name__ == "__main__":
    main()
