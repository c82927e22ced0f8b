"""Hostile uploads to a real node (uvicorn in its own process): clear reports, `/healthz`
answering within 100 ms throughout, and the server's memory moving by less than 256 MB.

The uploads: a 1 MB header line, 1 MB of REMARKS on one line and over many lines, a
50,000-column file, a 10 MB single line; random bytes, and truncated files of every format.
`/healthz` is polled from a thread every 20 ms while they go in; memory is read from
/proc/PID/status (VmRSS now, VmHWM the peak) after a warm-up upload.
"""

from __future__ import annotations

import random
import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from archive_center.cli_node import prepare
from catalog.db import make_engine, make_session_factory
from catalog.schemas import Role
from catalog.users import create_user, issue_api_token
from tests.archive_center.fieldcat_process import free_ports, start_fieldcat, stop, wait_ready
from tests.formats.hostile import (
    SHAPES,
    header_file,
    icartt_comments,
    nasa_line,
    rows_file,
    wide_file,
)
from web.settings import Settings

HEALTH_BUDGET_S = 0.100
MEMORY_CAP = 256 * 1024**2
POLL_S = 0.02


@dataclass
class Node:
    url: str
    pid: int
    token: str

    def upload(self, name: str, content: bytes) -> httpx.Response:
        with httpx.Client(timeout=120) as client:
            return client.post(
                f"{self.url}/api/v1/submissions",
                headers={"Authorization": f"Bearer {self.token}"},
                files={"file": (name, content, "text/plain")},
            )

    def memory(self) -> dict[str, int]:
        """VmRSS and VmHWM of the server process, in bytes."""
        found = {}
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                found[key] = int(value.split()[0]) * 1024
        return found


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    root = tmp_path_factory.mktemp("hostile")
    settings = Settings(root=root, center_code="JOSS", center_name="JOSS")
    prepare(settings)
    engine = make_engine(settings.effective_database_url)
    try:
        with make_session_factory(engine)() as session, session.begin():
            now = datetime.now(UTC)
            user = create_user(
                session, username="pi", password="pw-pw-pw-pw", role=Role.PI, now=now
            )
            token = issue_api_token(session, user, name="hostile", now=now)
    finally:
        engine.dispose()
    port = free_ports(1)
    log = root / "serve.log"
    process = start_fieldcat(
        "serve", "--no-worker", log=log, FIELDCAT_ROOT=str(root), FIELDCAT_PORT=str(port),
        FIELDCAT_CENTER_CODE="JOSS", FIELDCAT_CENTER_NAME="JOSS",
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(f"{url}/api/v1/readyz", process, log)
        yield Node(url, process.pid, token)
    finally:
        stop(process, signal.SIGTERM)


@dataclass
class HealthPoller:
    """Polls `/healthz` from a thread; `slowest` is the longest answer seen."""

    url: str
    times: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)

    def __enter__(self) -> HealthPoller:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        with httpx.Client(timeout=5) as client:
            client.get(f"{self.url}/api/v1/healthz")  # the connection is open before timing
            while not self._stop.is_set():
                start = time.perf_counter()
                try:
                    status = client.get(f"{self.url}/api/v1/healthz").status_code
                except httpx.TransportError as err:
                    self.failures.append(repr(err))
                    status = 200
                self.times.append(time.perf_counter() - start)
                if status != 200:
                    self.failures.append(f"status {status}")
                self._stop.wait(POLL_S)

    @property
    def slowest(self) -> float:
        return max(self.times, default=0.0)


def _codes(response: httpx.Response) -> list[str]:
    report = response.json()["submission"]["report"]
    return [d["code"] for d in report["diagnostics"]]


def _warm(node: Node) -> None:
    """One valid upload first, so imports and caches are not counted as growth."""
    response = node.upload("warm.txt", header_file())
    assert response.status_code in (200, 201), response.text


HOSTILE = {
    "header line of 1 MB": (header_file(b" " * 1_000_000 + b"x\n"), "LIM002"),
    "REMARKS of 1 MB on one line": (SHAPES["REMARKS of one word"](1_000_000), "LIM002"),
    "REMARKS of 1 MB on many lines": (
        header_file(b"".join(b"REMARKS = " + b"r" * 1000 + b"\n" for _ in range(1000))),
        "LIM004",
    ),
    "50,000 columns": (wide_file(50_000), "LIM002"),
    "10 MB single line": (header_file() + b"1999-02-02T00:00:00Z" + b" 1" * 5_000_000, "LIM002"),
    "DID of 10**40": (header_file(replace=(b"DID = 31", b"DID = " + str(10**40).encode())),
                      "HDR009"),
}  # fmt: skip


def _upload_while_polling(node: Node, name: str, content: bytes) -> tuple[httpx.Response, float]:
    """The upload's answer and the slowest `/healthz` answer while it was processed."""
    with HealthPoller(node.url) as poller:
        time.sleep(0.1)  # some polls before the upload starts
        response = node.upload(f"{name}.txt", content)
    assert not poller.failures, poller.failures
    assert len(poller.times) >= 3
    return response, poller.slowest


@pytest.mark.parametrize("name", list(HOSTILE))
def test_hostile_uploads_get_reports_and_healthz_stays_fast(node: Node, name: str) -> None:
    """A report with the expected code, and `/healthz` within 100 ms during the upload.

    The machine running the suite is shared: a poll may now and then wait for a CPU for
    tens of ms whatever the server does. A server that blocks does so on every attempt,
    so an upload is tried up to three times and its best attempt must stay within budget.
    """
    _warm(node)
    content, code = HOSTILE[name]
    slowest = []
    for _ in range(3):
        started = time.perf_counter()
        response, slow = _upload_while_polling(node, name, content)
        took = time.perf_counter() - started
        assert response.status_code == 422, f"{name}: {response.status_code}"
        assert code in _codes(response), f"{name}: {_codes(response)}"
        assert took < 30, f"{name} took {took:.1f} s"
        slowest.append(slow)
        if slow < HEALTH_BUDGET_S:
            break
    assert min(slowest) < HEALTH_BUDGET_S, f"/healthz took {[round(s * 1000) for s in slowest]} ms"


def _truncated(data: bytes, rng: random.Random) -> bytes:
    return data[: rng.randrange(len(data) // 2, len(data))]


def _big_icartt(size: int) -> bytes:
    base = icartt_comments([])
    rows = b"".join(
        b"%d, 1, 1, 1, 40.5, -80.5, 1.2, 1, 1, 1, 1, 1\n" % (80000 + i) for i in range(200)
    )
    head = base[: base.rindex(b"\n", 0, len(base) - 1) + 1]
    return head + rows * (size // len(rows))


def _big_nasa(size: int) -> bytes:
    base = nasa_line(0, b"25    1001")
    rows = b" 79220    37   105 10088\n"
    return base + rows * (size // len(rows))


def _big_header(size: int) -> bytes:
    day = b"".join(
        b"%02d:%02d:00Z 18.20 0.358 80.4 4.51\n" % (h, m) for h in range(24) for m in range(60)
    )
    rows = b"".join(
        b"".join(b"1999-02-%02dT" % d + row for row in day.splitlines(keepends=True))
        for d in range(1, 29)
    )
    return rows_file(rows * max(1, size // len(rows)))[:size]


def test_random_and_truncated_uploads_keep_memory_bounded(node: Node) -> None:
    _warm(node)
    before = node.memory()
    rng = random.Random(7)
    size = 10 * 1024**2
    uploads = {
        "random bytes": rng.randbytes(size),
        "random text": bytes(rng.choice(b"0123456789 ,.-eE:\n") for _ in range(size // 4)) * 4,
        "truncated header format": _truncated(_big_header(size), rng),
        "truncated ICARTT": _truncated(_big_icartt(size), rng),
        "truncated NASA Ames": _truncated(_big_nasa(size), rng),
    }
    for name, content in uploads.items():
        response, slowest = _upload_while_polling(node, name, content)
        assert response.status_code in (201, 422), f"{name}: {response.status_code}"
        grown = node.memory()["VmHWM"] - before["VmRSS"]
        print(name, response.status_code, f"{grown / 1024**2:.0f} MB", f"{slowest * 1000:.0f} ms")
        if response.status_code == 422:
            print("   ", _codes(response)[:4])
        assert grown < MEMORY_CAP, f"{name}: the server grew {grown / 1024**2:.0f} MB"
    after = node.memory()
    assert after["VmRSS"] - before["VmRSS"] < MEMORY_CAP
