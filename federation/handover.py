"""The receiving side of a hand-over: pull, verify, import, confirm; resumable at every step.

`pull_handover` runs in the worker's hand-over thread for each job `catalog.handover` keeps
as `pulling`. Originals already in the archive are not fetched again (they are named by their
SHA-256, and only verified bytes are put there); records already this center's own are not
imported again; the closing center's completion is idempotent. So after a kill -9 on either
side, the next run finishes what is left, with nothing lost or doubled.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy.orm import Session, sessionmaker

from catalog.handover import DONE, find_handover, import_dataset, import_field, pending_pulls
from catalog.storage import ArchiveStore
from federation.client import PeerClient, PeerCredentials
from federation.errors import FederationError, PeerProtocolError
from federation.peers import get_peer, signing_key

logger = logging.getLogger(__name__)
BATCH = 200
PARALLEL = 4
RECORD_LISTS = ("datasets", "products", "reports", "expected")


@dataclass
class PullResult:
    """What one run of a hand-over did."""

    fetched_bytes: int = 0
    fetched: int = 0
    imported: int = 0
    moved: int = 0


class _Incoming:
    """One original arriving in staging, hashed as it comes; archived only if it matches."""

    def __init__(self, store: ArchiveStore, sha256: str, size: int) -> None:
        self.store, self.sha256, self.size = store, sha256, size
        self.path = store.new_staging_path()
        self.out = self.path.open("wb")
        self.digest = hashlib.sha256()
        self.written = 0

    def write(self, chunk: bytes) -> None:
        self.digest.update(chunk)
        self.out.write(chunk)
        self.written += len(chunk)

    def discard(self) -> None:
        self.out.close()
        self.path.unlink(missing_ok=True)

    def archive(self) -> int:
        """Put the bytes in the archive (PeerProtocolError if they are not the manifest's)."""
        try:
            self.out.flush()
            os.fsync(self.out.fileno())
            self.out.close()
            if self.digest.hexdigest() != self.sha256 or self.written != self.size:
                raise PeerProtocolError(f"original {self.sha256} arrived with other bytes")
            self.store.put_original(self.path, self.sha256)
            return self.written
        finally:
            self.discard()


async def fetch_originals(client: PeerClient, store: ArchiveStore, blobs: dict[str, Any],
                          result: PullResult, parallel: int = PARALLEL) -> None:  # fmt: skip
    """Every original not in the archive yet, each verified by SHA-256 and size; a few at
    once, so one transfer's round trips and fsyncs overlap another's bytes."""
    gate = asyncio.Semaphore(parallel)

    async def one(sha256: str, size: int) -> None:
        async with gate:
            incoming = _Incoming(store, sha256, size)
            try:
                await client.handover_blob(sha256, incoming.write)
            except BaseException:
                incoming.discard()
                raise
            result.fetched_bytes += await asyncio.to_thread(incoming.archive)
            result.fetched += 1

    missing = [(sha, int(size)) for sha, size in sorted(blobs.items())
               if not store.original_path(sha).is_file()]  # fmt: skip
    await asyncio.gather(*(one(sha, size) for sha, size in missing))


def import_all(
    factory: sessionmaker[Session], manifest: dict[str, Any], source: str, local: str,
    now: Callable[[], datetime], result: PullResult,
) -> dict[str, int]:  # fmt: skip
    """Import every record (committed in batches); the products' ids here, by public id."""
    refs: dict[str, int] = {}
    items = [("dataset", d) for d in manifest["datasets"]]
    items += [("product", p) for p in manifest["products"]]
    items += [("report", r) for r in manifest["reports"]]
    items += [("expected", e) for e in manifest.get("expected", [])]
    for first in range(0, len(items), BATCH):
        with factory() as session, session.begin():
            for kind, item in items[first : first + BATCH]:
                if kind == "dataset":
                    result.imported += import_dataset(session, item, source, local, now())
                else:
                    made = import_field(session, kind, item, source, local, now())
                    if kind == "product":
                        refs[str(item["row"]["public_id"])] = made
    return refs


async def pull_handover(client: PeerClient, factory: sessionmaker[Session], store: ArchiveStore,
                        now: Callable[[], datetime]) -> PullResult:  # fmt: skip
    """One run of the hand-over from the client's peer: to the end, or until an error."""
    source, local = client.credentials.peer_code, client.credentials.local_code
    result = PullResult()
    began = time.perf_counter()
    manifest = await client.handover_manifest()
    if manifest.get("center") != source:
        raise PeerProtocolError(f"the manifest is not {source}'s")
    fetched = time.perf_counter()
    await fetch_originals(client, store, manifest["blobs"], result)
    imported = time.perf_counter()
    refs = await asyncio.to_thread(import_all, factory, manifest, source, local, now, result)
    completed = time.perf_counter()
    answer = await client.handover_complete(refs)
    logger.info("hand-over from %s: manifest %.2f s, originals %.2f s, import %.2f s, "
                "completion %.2f s", source, fetched - began, imported - fetched,
                completed - imported, time.perf_counter() - completed)  # fmt: skip
    result.moved = int(answer["moved"])
    with factory() as session, session.begin():
        job = find_handover(session, source, local)
        if job is not None:
            job.state, job.finished_at = DONE, now()
            job.records = sum(len(manifest.get(k, [])) for k in RECORD_LISTS)
            job.bytes_pulled += result.fetched_bytes
            job.last_error = ""
    logger.info("hand-over from %s done: %d originals, %d records imported", source,
                result.fetched, result.imported)  # fmt: skip
    return result


def credentials_for(session: Session, local: str, peer_code: str, api_path: str,
                    now: datetime) -> PeerCredentials:  # fmt: skip
    """How to sign to a peer (PeerProtocolError when it has no valid key: no consent)."""
    peer = get_peer(session, peer_code)
    key = signing_key(session, peer.code, now)
    if key is None or not peer.enabled:
        raise PeerProtocolError(f"no valid key with {peer.code}: a hand-over needs one")
    return PeerCredentials(local, peer.code, peer.url, key.key_id, key.secret, api_path)


async def offer(credentials: PeerCredentials, timeout_s: float) -> dict[str, Any]:
    """Offer our records to the peer (it must have agreed to take them); its answer."""
    async with httpx.AsyncClient(timeout=timeout_s) as http:
        return await PeerClient(http, credentials).handover_offer()


def run_pending(factory: sessionmaker[Session], store: ArchiveStore, local: str, api_path: str,
                timeout_s: float) -> int:  # fmt: skip
    """Run every unfinished hand-over to this center once; how many finished."""
    with factory() as session:
        sources = [job.from_center for job in pending_pulls(session, local)]
    finished = 0
    for source in sources:
        try:
            with factory() as session:
                creds = credentials_for(session, local, source, api_path, _now())
            asyncio.run(_pull(creds, factory, store, timeout_s))
            finished += 1
        except (FederationError, OSError) as err:
            logger.warning("hand-over from %s paused: %s", source, err)
            with factory() as session, session.begin():
                job = find_handover(session, source, local)
                if job is not None:
                    job.last_error = str(err)[:500]
    return finished


async def _pull(creds: PeerCredentials, factory: sessionmaker[Session], store: ArchiveStore,
                timeout_s: float) -> PullResult:  # fmt: skip
    async with httpx.AsyncClient(timeout=timeout_s) as http:
        return await pull_handover(PeerClient(http, creds), factory, store, _now)


def _now() -> datetime:
    return datetime.now(UTC)


def handover_loop(factory: sessionmaker[Session], store: ArchiveStore, local: str,
                  api_path: str, timeout_s: float, stop: threading.Event) -> None:  # fmt: skip
    """The worker's hand-over thread: resume unfinished hand-overs until `stop`."""
    while not stop.is_set():
        try:
            run_pending(factory, store, local, api_path, timeout_s)
        except Exception:  # a task boundary: log, keep going
            logger.exception("hand-over step failed")
        stop.wait(0.5)
