"""Losing nothing: a real node is SIGKILLed at random moments while 20 uploads arrive.

After each restart, every upload that was answered 201 (or 200: the same bytes again) is
present with its checksum, no submission is left between states, no dataset lacks its
original, and staging is empty.
"""

from __future__ import annotations

import hashlib
import queue
import random
import signal
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from archive_center.cli_node import prepare
from catalog.db import make_engine, make_session_factory
from catalog.models import Dataset, DatasetVersion
from catalog.schemas import Role
from catalog.storage import ArchiveStore
from catalog.submission_models import FINAL_STATES, Submission
from catalog.users import create_user, issue_api_token
from tests.archive_center.fieldcat_process import free_ports, start_fieldcat, wait_ready
from tests.conftest import SAMPLES
from web.settings import Settings

UPLOADS = 20
KILLS = 2
SEEDS = [11, pytest.param(23, marks=pytest.mark.slow), pytest.param(37, marks=pytest.mark.slow)]
"""One seed in the quick run (~25 s: four node starts); the others marked slow."""


def files() -> list[tuple[str, bytes]]:
    base = (SAMPLES / "valid" / "kco_surface_hourly.txt").read_bytes().decode()
    out = []
    for i in range(UPLOADS):
        lines = [
            f"DID = {7000 + i}" if line.upper().startswith("DID") else line
            for line in base.splitlines()
        ]
        out.append((f"kco_{i:02d}.txt", ("\n".join(lines) + "\n").encode()))
    return out


def make_node(root: Path) -> tuple[Settings, str]:
    settings = Settings(root=root, center_code="JOSS", center_name="JOSS")
    prepare(settings)
    engine = make_engine(settings.effective_database_url)
    try:
        with make_session_factory(engine)() as session, session.begin():
            now = datetime.now(UTC)
            user = create_user(
                session, username="pi", password="pw-pw-pw-pw", role=Role.PI, now=now
            )
            token = issue_api_token(session, user, name="crash", now=now)
    finally:
        engine.dispose()
    return settings, token


class Node:
    def __init__(self, root: Path, port: int) -> None:
        self.root, self.port = root, port
        self.url = f"http://127.0.0.1:{port}"
        self.starts = 0
        self.process = self.start()

    def start(self):  # type: ignore[no-untyped-def]
        self.starts += 1
        log = self.root / f"serve-{self.starts}.log"
        process = start_fieldcat(
            "serve", log=log, FIELDCAT_ROOT=str(self.root), FIELDCAT_PORT=str(self.port),
            FIELDCAT_CENTER_CODE="JOSS", FIELDCAT_CENTER_NAME="JOSS",
        )  # fmt: skip
        wait_ready(f"{self.url}/api/v1/readyz", process, log)
        return process

    def kill_and_restart(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)
        self.process = self.start()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)


def uploader(
    node: Node, token: str, work: queue.Queue[int], acked: dict[int, dict[str, Any]],
    data: list[tuple[str, bytes]], rng: random.Random, done: threading.Event,
) -> None:  # fmt: skip
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(timeout=15) as client:
        while not done.is_set():
            try:
                index = work.get(timeout=0.1)
            except queue.Empty:
                continue
            name, content = data[index]
            try:
                resp = client.post(
                    f"{node.url}/api/v1/submissions", headers=headers,
                    files={"file": (name, content, "text/plain")},
                )  # fmt: skip
            except httpx.TransportError:
                work.put(index)
                time.sleep(0.2)
                continue
            if resp.status_code in (200, 201):
                acked[index] = resp.json()
                work.task_done()
            else:
                assert resp.status_code >= 500, resp.text
                work.put(index)
            time.sleep(rng.uniform(0, 0.05))


def settle(settings: Settings, timeout: float = 30) -> None:
    """Wait until the restarted node's reconciliation has left nothing unfinished."""
    store = ArchiveStore(settings.root)
    engine = make_engine(settings.effective_database_url)
    deadline = time.monotonic() + timeout
    try:
        while True:
            with make_session_factory(engine)() as session:
                states = set(session.scalars(select(Submission.state)))
            staging = list(store.staging_dir.iterdir())
            if states <= set(FINAL_STATES) and not staging:
                return
            if time.monotonic() > deadline:
                pytest.fail(f"not settled: states {states}, staging {staging}")
            time.sleep(0.2)
    finally:
        engine.dispose()


def check(
    settings: Settings,
    acked: dict[int, dict[str, Any]],
    data: list[tuple[str, bytes]],
    final: bool = True,
) -> None:
    """Every acknowledged upload is there; when `final` (no upload in flight), all settled."""
    store = ArchiveStore(settings.root)
    engine = make_engine(settings.effective_database_url)
    try:
        with make_session_factory(engine)() as session:
            versions = {v.sha256: v for v in session.scalars(select(DatasetVersion))}
            for index, body in acked.items():
                sha = hashlib.sha256(data[index][1]).hexdigest()
                assert body["sha256"] == sha and body["state"] == "registered"
                assert sha in versions, f"upload {index} answered 201 but not registered"
                original = store.original_path(sha)
                assert hashlib.sha256(original.read_bytes()).hexdigest() == sha
                row = session.scalars(
                    select(Submission).where(Submission.public_id == body["id"])
                ).one()
                assert row.state == "registered" and row.dataset_public_id == body["dataset"]
            if not final:
                return
            for dataset in session.scalars(select(Dataset)):
                assert dataset.current_version is not None, "half-registered dataset"
                assert store.original_path(dataset.current_version.sha256).is_file()
            for row in session.scalars(select(Submission)):
                assert row.state in FINAL_STATES, f"{row.public_id} left {row.state}"
                if row.state == "registered":
                    assert row.dataset_public_id and store.original_path(row.sha256).is_file()
    finally:
        engine.dispose()
    assert list(store.staging_dir.iterdir()) == []


@pytest.mark.parametrize("seed", SEEDS)
def test_sigkill_at_random_moments_loses_no_acknowledged_upload(seed: int, tmp_path: Path) -> None:
    rng = random.Random(seed)
    data = files()
    settings, token = make_node(tmp_path)
    node = Node(tmp_path, free_ports(1))
    work: queue.Queue[int] = queue.Queue()
    for index in range(UPLOADS):
        work.put(index)
    acked: dict[int, dict[str, Any]] = {}
    done = threading.Event()
    threads = [
        threading.Thread(
            target=uploader, args=(node, token, work, acked, data, random.Random(seed + n), done)
        )
        for n in range(3)
    ]
    try:
        for thread in threads:
            thread.start()
        for _ in range(KILLS):
            time.sleep(rng.uniform(0.05, 0.5))
            node.kill_and_restart()
            check(settings, dict(acked), data, final=False)
        deadline = time.monotonic() + 30
        while len(acked) < UPLOADS and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(acked) == UPLOADS
        node.kill_and_restart()
        settle(settings)
        check(settings, acked, data)
    finally:
        done.set()
        for thread in threads:
            thread.join(timeout=20)
        node.stop()
