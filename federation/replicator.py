"""The replicator: pulls each peer's changes (from every enabled peer at once when it starts,
then at once when notified, else by polling with back-off) and notifies the peers when the
local log grows. Runs in the worker.

One asyncio loop in a thread: HTTP is concurrent across peers; applying pages is serialised
and runs in a worker thread, so a long initial sync never stalls the notifications.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from catalog.changes import last_seq
from catalog.db import make_session_factory
from catalog.peer_records import (
    record_pull_failure,
    record_pull_success,
    replication_targets,
)
from federation.apply import ApplyResult, apply_page
from federation.client import PeerClient, PeerCredentials
from federation.errors import FederationError, PeerProtocolError
from federation.feed import FeedPage
from federation.peers import (
    ConfiguredPeer,
    forget_old_nonces,
    sync_configured_peers,
)

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReplicatorConfig:
    """How the replicator runs (built from the node's settings by `archive_center`)."""

    center_code: str
    api_path: str
    """Where peers serve the federation protocol (the same path this node mounts it at)."""
    tick_s: float = 0.1
    """How often the local log and the peers' notifications are looked at."""
    poll_interval_s: float = 30.0
    """A pull from each healthy peer at least this often, notified or not."""
    backoff_base_s: float = 1.0
    backoff_max_s: float = 300.0
    page_size: int = 2000
    timeout_s: float = 30.0
    peers: tuple[ConfiguredPeer, ...] = ()


@dataclass
class _Target:
    code: str
    credentials: PeerCredentials
    due: bool
    since: int


def _now() -> datetime:
    return datetime.now(UTC)


def backoff(config: ReplicatorConfig, failures: int) -> timedelta:
    """The wait before the next attempt after `failures` consecutive failures."""
    seconds = config.backoff_base_s * 2 ** max(failures - 1, 0)
    return timedelta(seconds=min(seconds, config.backoff_max_s, config.poll_interval_s * 10))


@dataclass
class Replicator:
    """Pulls from and notifies every enabled peer with a key; one `tick` at a time."""

    factory: sessionmaker[Session]
    config: ReplicatorConfig
    http: httpx.AsyncClient
    clock: Callable[[], datetime] = _now
    announced: dict[str, int] = field(default_factory=dict)
    notify_retry_at: dict[str, datetime] = field(default_factory=dict)
    notify_failures: dict[str, int] = field(default_factory=dict)
    apply_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    pulled: set[str] = field(default_factory=set)
    """Peers pulled from since this replicator started: every other enabled peer is due at
    once, whatever back-off or poll time the database remembers from before a restart."""

    def _targets(self, now: datetime) -> tuple[int, list[_Target]]:
        targets = []
        with self.factory() as session:  # three statements, whatever the number of peers
            local = last_seq(session)
            for peer in replication_targets(session, now):
                key = peer.key
                if key is None:
                    continue
                notified = peer.notified_seq > peer.applied
                polled = peer.next_poll_at is None or peer.next_poll_at <= now
                polled = polled or peer.code not in self.pulled
                creds = PeerCredentials(
                    self.config.center_code, peer.code, peer.url, key.key_id, key.secret,
                    self.config.api_path,
                )  # fmt: skip
                targets.append(_Target(peer.code, creds, notified or polled, peer.applied))
        return local, targets

    async def tick(self) -> None:
        """Notify peers of new local changes; pull from peers that are due."""
        now = self.clock()
        local, targets = await asyncio.to_thread(self._targets, now)
        jobs: list[Coroutine[Any, Any, object]] = [self.pull(t) for t in targets if t.due]
        jobs += [
            self.notify(t, local)
            for t in targets
            if local > self.announced.get(t.code, -1)
            and self.notify_retry_at.get(t.code, now) <= now
        ]
        if jobs:
            await asyncio.gather(*jobs)

    async def notify(self, target: _Target, local: int) -> None:
        """Tell one peer our log reached `local`; retried with back-off when it fails."""
        try:
            await PeerClient(self.http, target.credentials, self.clock).notify(local)
        except FederationError as err:
            failures = self.notify_failures.get(target.code, 0) + 1
            self.notify_failures[target.code] = failures
            self.notify_retry_at[target.code] = self.clock() + backoff(self.config, failures)
            logger.debug("notify %s failed: %s", target.code, err)
            return
        self.announced[target.code] = local
        self.notify_failures.pop(target.code, None)
        self.notify_retry_at.pop(target.code, None)

    async def pull(self, target: _Target) -> int:
        """Pull and apply the peer's pages until caught up; how many changes were applied."""
        client = PeerClient(self.http, target.credentials, self.clock)
        since, applied, remote = target.since, 0, 0
        self.pulled.add(target.code)  # tried once: from now on the schedule rules
        try:
            while True:
                page = await client.changes(since, self.config.page_size)
                remote = page.last_seq
                if page.changes:
                    async with self.apply_lock:
                        result = await asyncio.to_thread(self._apply, target.code, since, page)
                    since, applied = result.checkpoint, applied + result.applied
                if len(page.changes) < self.config.page_size:
                    break
        except FederationError as err:
            await asyncio.to_thread(self._record_failure, target.code, str(err))
            return applied
        await asyncio.to_thread(self._record_success, target.code, remote)
        return applied

    def _apply(self, peer_code: str, since: int, page: FeedPage) -> ApplyResult:
        with self.factory() as session, session.begin():
            result = apply_page(
                session, local_code=self.config.center_code, peer_code=peer_code,
                since=since, page=page, now=self.clock(),
            )  # fmt: skip
        if result.applied or result.refused:
            logger.info(
                "from %s: %d applied, %d skipped, %d refused, now at %d",
                peer_code, result.applied, result.skipped, result.refused, result.checkpoint,
            )  # fmt: skip
        return result

    def _record_success(self, code: str, remote: int) -> None:
        now = self.clock()
        next_poll = now + timedelta(seconds=self.config.poll_interval_s)
        with self.factory() as session, session.begin():
            record_pull_success(session, code, remote, now, next_poll)

    def _record_failure(self, code: str, message: str) -> None:
        now = self.clock()
        with self.factory() as session, session.begin():
            failures = record_pull_failure(
                session, code, message, lambda n: now + backoff(self.config, n)
            )
        if failures is None:
            return
        log = logger.info if failures > 1 else logger.warning
        log("pull from %s failed (%d in a row): %s", code, failures, message)


def sync_peers(factory: sessionmaker[Session], config: ReplicatorConfig) -> None:
    """Bring the configured peers into the database and drop stale nonces."""
    now = _now()
    with factory() as session, session.begin():
        sync_configured_peers(session, list(config.peers), now)
        forget_old_nonces(session, now)


async def run_replicator(engine: Engine, config: ReplicatorConfig, stop: threading.Event) -> None:
    """Tick until `stop` is set; one failing round is logged and the next one runs."""
    factory = make_session_factory(engine)
    await asyncio.to_thread(sync_peers, factory, config)
    timeout = httpx.Timeout(config.timeout_s, connect=min(config.timeout_s, 3.0))
    async with httpx.AsyncClient(timeout=timeout, trust_env=False) as http:
        replicator = Replicator(factory, config, http)
        rounds = 0
        while not stop.is_set():
            try:
                await replicator.tick()
                rounds += 1
                if rounds % 3000 == 0:
                    await asyncio.to_thread(sync_peers, factory, config)
            except Exception:
                logger.exception("federation round failed")
            await asyncio.sleep(config.tick_s)


def start_replicator_thread(
    engine: Engine, config: ReplicatorConfig, stop: threading.Event
) -> threading.Thread:
    """Run the replicator in a daemon thread of its own until `stop` is set."""
    thread = threading.Thread(
        target=lambda: asyncio.run(run_replicator(engine, config, stop)),
        name="fieldcat-federation",
        daemon=True,
    )
    thread.start()
    return thread


__all__ = ["PeerProtocolError", "Replicator", "ReplicatorConfig", "start_replicator_thread"]
