"""Real `fieldcat serve` nodes on loopback for federation tests and the benchmark.

Each node has its own root (SQLite), config and log; peers share generated secrets. Records
are published by writing to a node's own database the way registration does (row + change
log entry), which is what the running node's replicator notices and announces.
"""

from __future__ import annotations

import json
import secrets
import signal
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from catalog.changes import append_change
from catalog.db import make_engine, make_session_factory
from catalog.models import Campaign, Dataset, DatasetVersion, Variable
from tests.archive_center.fieldcat_process import free_ports, start_fieldcat, stop, wait_ready
from web.settings import Settings, load_settings

CODES = ("JOSS", "NPL", "LMD")
NAMES = {"JOSS": "UCAR/JOSS Boulder", "NPL": "NPL New Delhi", "LMD": "LMD Paris"}
NOW = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass
class Node:
    """One center: its config, URL, log and (when running) process."""

    code: str
    root: Path
    port: int
    peers: dict[str, tuple[str, str, str]] = field(default_factory=dict)
    """peer code -> (url, key id, secret)."""
    federation: dict[str, Any] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None
    _engine: Engine | None = None

    @property
    def url(self) -> str:
        """The node's base URL."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def config(self) -> Path:
        """Its `center.toml`."""
        return self.root / "center.toml"

    @property
    def log(self) -> Path:
        """Where its output goes."""
        return self.root / "serve.log"

    def write_config(self) -> None:
        """Write the TOML: center, campaign, short federation timings, peers with keys."""
        fed = {"tick_s": 0.05, "poll_interval_s": 1.0, "backoff_base_s": 0.2,
               "backoff_max_s": 1.0, "timeout_s": 10.0, **self.federation}  # fmt: skip
        lines = [
            f'center_code = "{self.code}"',
            f'center_name = "{NAMES.get(self.code, self.code)}"',
            f'public_url = "{self.url}"',
            f"root = {json.dumps(str(self.root))}",
            'host = "127.0.0.1"',
            f"port = {self.port}",
            "worker_interval_s = 60.0",
            "",
            "[campaign]",
            'code = "INDOEX"',
            "start = 1999-01-01",
            "end = 1999-03-31",
            "intensive_end = 1999-03-31",
            "",
            "[federation]",
            *(f"{k} = {json.dumps(v)}" for k, v in fed.items()),
        ]
        for code, (url, key_id, secret) in self.peers.items():
            lines += ["", "[[peers]]", f'code = "{code}"', f'url = "{url}"',
                      f'key_id = "{key_id}"', f'secret = "{secret}"']  # fmt: skip
        self.root.mkdir(parents=True, exist_ok=True)
        self.config.write_text("\n".join(lines) + "\n", encoding="utf-8")

    @property
    def settings(self) -> Settings:
        """The node's settings, as it loads them."""
        return load_settings(self.config)

    @property
    def engine(self) -> Engine:
        """An engine on the node's own database (made once)."""
        if self._engine is None:
            self._engine = make_engine(self.settings.effective_database_url)
        return self._engine

    def session(self) -> Session:
        """A session on the node's database."""
        return make_session_factory(self.engine)()

    def launch(self) -> None:
        """Start `fieldcat serve` (not waiting)."""
        self.process = start_fieldcat("serve", "--config", str(self.config), log=self.log)

    def wait(self) -> None:
        """Wait until the started node is ready."""
        assert self.process is not None
        wait_ready(self.url + "/api/v1/readyz", self.process, self.log)

    def start(self) -> None:
        """Start `fieldcat serve` and wait until it is ready."""
        self.launch()
        self.wait()

    def kill(self) -> None:
        """SIGKILL: no clean-up at all."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()

    def stop(self) -> None:
        """SIGTERM and wait."""
        if self.process is not None and self.process.poll() is None:
            stop(self.process, signal.SIGTERM, timeout=30)

    def get(self, path: str, **params: Any) -> httpx.Response:
        """GET an API path of this node."""
        return httpx.get(self.url + "/api/v1" + path, params=params, timeout=30)

    def search_ids(self, **params: Any) -> set[str]:
        """Public ids of every dataset a search at this node returns (all pages)."""
        found: set[str] = set()
        cursor = None
        while True:
            query = {**params, "limit": 1000, "facets": "false"}
            if cursor:
                query["cursor"] = cursor
            page = self.get("/datasets", **query).json()
            found |= {item["public_id"] for item in page["items"]}
            cursor = page.get("next_cursor")
            if not cursor:
                return found


def pair_key() -> tuple[str, str]:
    """A fresh key id and secret for one pair of peers."""
    return f"k-{secrets.token_hex(3)}", secrets.token_urlsafe(32)


def build_cluster(tmp: Path, links: Iterable[tuple[str, str]], codes: tuple[str, ...] = CODES,
                  **federation: Any) -> dict[str, Node]:  # fmt: skip
    """Nodes on free ports, peered along `links` (each pair shares one key); not started."""
    base = free_ports(len(codes))
    nodes = {code: Node(code, tmp / code, base + i, federation=dict(federation))
             for i, code in enumerate(codes)}  # fmt: skip
    for a, b in links:
        key_id, secret = pair_key()
        nodes[a].peers[b] = (nodes[b].url, key_id, secret)
        nodes[b].peers[a] = (nodes[a].url, key_id, secret)
    for node in nodes.values():
        node.write_config()
    return nodes


def mesh(codes: tuple[str, ...] = CODES) -> list[tuple[str, str]]:
    """Every pair of `codes`."""
    return [(a, b) for i, a in enumerate(codes) for b in codes[i + 1 :]]


def _dataset(
    session: Session, node: Node, label: str, i: int, state: str, now: datetime
) -> Dataset:
    campaign = session.scalars(select(Campaign).where(Campaign.code == "INDOEX")).one()
    start = datetime(1999, 2, 1, tzinfo=UTC) + timedelta(hours=i % 1000)
    dataset = Dataset(
        campaign=campaign, did=f"{label}-{i}", pi_name="Ramanathan", platform="NCAR C-130",
        instrument="Ozone photometer", location="mobile", project="INDOEX", start=start,
        stop=start + timedelta(hours=6), south=0.0, north=10.0, west=70.0, east=80.0,
        title=f"{label} record {i}", summary="synthetic", access_state=state,
        origin_center=node.code, origin_version=1, created=now, updated=now,
    )  # fmt: skip
    dataset.variables = [
        Variable(position=0, name="O3", original_name="O3", unit="ppb", original_unit="ppb"),
        Variable(position=1, name="CO", original_name="CO", unit="ppb", original_unit="ppb"),
        # A mobile record with a box carries its own positions (else CIDS would merge them).
        Variable(position=2, name="LAT", original_name="LAT", unit="degrees_north",
                 original_unit="deg"),
        Variable(position=3, name="LON", original_name="LON", unit="degrees_east",
                 original_unit="deg"),
    ]  # fmt: skip
    dataset.versions = [
        DatasetVersion(sha256=secrets.token_hex(32), size=1000 + i, original_name=f"{label}{i}.txt",
                       source_format="header", created_at=now, is_current=True)
    ]  # fmt: skip
    dataset.refresh_search_text()
    session.add(dataset)
    session.flush()
    return dataset


def publish(node: Node, count: int = 1, *, label: str = "rec", state: str = "open",
            batch: int = 500) -> list[str]:  # fmt: skip
    """Create `count` datasets at `node` (its own records) and log them; their public ids."""
    ids: list[str] = []
    now = datetime.now(UTC)
    factory = make_session_factory(node.engine)
    for first in range(0, count, batch):
        with factory() as session, session.begin():
            for i in range(first, min(first + batch, count)):
                dataset = _dataset(session, node, label, i, state, now)
                append_change(session, dataset, "upsert", now)
                ids.append(dataset.public_id)
    return ids


def change(node: Node, public_id: str, **fields: Any) -> int:
    """Change a record at its origin as the access and registration code do; its new version.

    `access_state="withdrawn"` withdraws it (a tombstone).
    """
    now = datetime.now(UTC)
    with make_session_factory(node.engine)() as session, session.begin():
        dataset = session.scalars(select(Dataset).where(Dataset.public_id == public_id)).one()
        for name, value in fields.items():
            setattr(dataset, name, value)
        if fields.get("access_state") == "withdrawn":
            dataset.withdrawn_at = now
        dataset.origin_version += 1
        dataset.updated = now
        dataset.refresh_search_text()
        kind = "tombstone" if dataset.access_state == "withdrawn" else "upsert"
        append_change(session, dataset, kind, now)
        return dataset.origin_version


def start_all(nodes: dict[str, Node]) -> None:
    """Start every node at once, then wait for each."""
    for node in nodes.values():
        node.launch()
    for node in nodes.values():
        node.wait()


def close_all(nodes: dict[str, Node]) -> None:
    """Stop every node still running and drop their engines."""
    for node in nodes.values():
        try:
            node.stop()
        finally:
            node.kill()
            if node._engine is not None:
                node._engine.dispose()
