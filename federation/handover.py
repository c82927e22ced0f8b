"""The receiving side of a hand-over: pull, verify, import, confirm; resumable at every step.

`pull_handover` runs in the worker's hand-over thread for each job `catalog.handover` keeps
as `pulling`. The files come through a bounded pool of transfers
(`federation.handover_transfer`) while the records whose files have all arrived are
imported, a group per transaction (or every group already arrived, when the import fell
behind), so the bytes and the database work overlap. Originals
already in the archive are not fetched again (they are named by their SHA-256, and only
verified bytes are put there); records already this center's own are not imported again
(nor their derived files fetched); the closing center's completion is idempotent. So after a
kill -9 on either side, the next run finishes what is left, with nothing lost or doubled.

Large files come one to a request, small ones in bundles of many (`BUNDLE_FILE_MAX`,
`BUNDLE_BYTES`), all over a few kept-alive connections.

The pool's size: `PARALLEL` transfers, which hold no database connection (they check the
bytes against the manifest in memory); the import holds one connection of the worker's
engine at a time, so a hand-over needs one pooled connection whatever `PARALLEL` is.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import shutil
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, InvalidStateError, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy.orm import Session, sessionmaker

from catalog.handover import DONE, find_handover, imported_ids, pending_pulls
from catalog.handover_files import BUNDLE_FILES, PRODUCTS, holding_dir
from catalog.handover_import import Item, Move, import_group
from catalog.handover_registry import CALIBRATION
from catalog.storage import ArchiveStore
from federation.client import PeerClient, PeerCredentials
from federation.errors import FederationError, PeerProtocolError
from federation.handover_transfer import (
    Connections,
    UnverifiedFileError,
    Wanted,
    fetch,
    fetch_bundle,
)
from federation.peers import get_peer, signing_key

logger = logging.getLogger(__name__)
PARALLEL = 8
"""Requests in flight at once (a large file, or a bundle of small ones): enough to overlap
one transfer's round trip and fsyncs with the others' bytes on a small machine (two cores),
no more (each holds a 4 MiB buffer)."""
GROUP_RECORDS = 200
GROUP_BYTES = 32 * 1024 * 1024
"""A group of records is imported in one transaction as soon as its files have arrived: at
most this many records, and no more files than this, so the import follows the bytes."""
IMPORT_RECORDS = 4 * GROUP_RECORDS
"""Records imported in one transaction at most: the groups whose files all arrived while the
previous transaction ran are imported together, up to this many records."""
RECORD_LISTS = ("places", "instruments", "datasets", "products", "reports", "expected")
BUNDLE_FILE_MAX = 1024 * 1024
BUNDLE_BYTES = 8 * 1024 * 1024
"""Files up to `BUNDLE_FILE_MAX` travel many to a request (the derived files, short
originals such as soundings), up to `catalog.handover_files.BUNDLE_FILES` files or this many
bytes a request: one signature and round trip for many files, each still verified alone."""


@dataclass
class PullResult:
    """What one run of a hand-over did."""

    fetched_bytes: int = 0
    fetched: int = 0
    imported: int = 0
    moved: int = 0
    rebuilt: int = 0


@dataclass
class _Pull:
    """One run's context: whose records, where the files go, what is already ours."""

    client: PeerClient
    factory: sessionmaker[Session]
    store: ArchiveStore
    now: Callable[[], datetime]
    timeout_s: float
    result: PullResult
    ours: set[str]
    connections: Connections

    @property
    def source(self) -> str:
        return self.client.credentials.peer_code

    @property
    def local(self) -> str:
        return self.client.credentials.local_code

    @property
    def holding(self) -> Path:
        """Verified derived files waiting for their record's import (kept across restarts,
        `catalog.handover_files.HOLDING_PREFIX`)."""
        return holding_dir(self.store, self.source)

    def files(self, kind: str, item: dict[str, Any]) -> Iterator[Wanted]:
        """The files one record needs here that are not here yet."""
        store, row = self.store, item["row"]
        if kind == "dataset":
            for version in item["versions"]:
                sha, size = version["sha256"], int(version["size"])
                if not store.original_path(sha).is_file():
                    yield Wanted(sha, size, store.original_path(sha))
            if row["public_id"] in self.ours:
                return  # imported by an earlier run, derived files with it
            for entry in item.get("derived", []):
                held = self.holding / entry["sha256"]
                if not held.is_file():
                    yield Wanted(entry["sha256"], int(entry["size"]), held, entry["name"])
        elif kind == "instrument":  # its calibrations' certificates, archived as originals
            for cert in item.get("certificates", []):
                sha = cert["sha256"]
                if not store.original_path(sha).is_file():
                    yield Wanted(sha, int(cert["size"]), store.original_path(sha))
        elif kind == "product":
            if not store.original_path(row["sha256"]).is_file():
                yield Wanted(row["sha256"], int(row["size"]), store.original_path(row["sha256"]))
            thumb = item.get("thumbnail")
            target = store.derived_path(PRODUCTS, row["sha256"], "png")
            if thumb is not None and not target.is_file():
                yield Wanted(thumb["sha256"], int(thumb["size"]), target, thumb["name"])

    def fetch(self, wanted: Wanted) -> int:
        sign = functools.partial(self.client.handover_file_request, wanted.sha256, wanted.name)
        return fetch(sign, wanted, self.store, self.connections)

    def fetch_bundle(self, members: list[tuple[Wanted, Future[int]]]) -> None:
        """Fetch small files in one request, each member's outcome set on its future."""
        asked = [(wanted.sha256, wanted.name) for wanted, _ in members]
        sign = functools.partial(self.client.handover_bundle_request, asked)
        outcomes: list[int | Exception]
        try:
            outcomes = [*fetch_bundle(sign, [w for w, _ in members], self.store, self.connections)]
        except Exception as err:  # the whole request failed: so did each file of it
            outcomes = [err] * len(members)
        for (_, future), outcome in zip(members, outcomes, strict=True):
            try:
                if isinstance(outcome, Exception):
                    future.set_exception(outcome)
                else:
                    future.set_result(outcome)
            except InvalidStateError:  # cancelled: the run stopped meanwhile
                pass

    def settle(self, wanted: Wanted, future: Future[int]) -> None:
        """An original must arrive (else the run pauses); a derived file that cannot be
        verified is left to be made again here when its record is imported."""
        try:
            self.result.fetched_bytes += future.result()
            self.result.fetched += 1
        except UnverifiedFileError as err:
            if wanted.name is None:
                raise
            self.result.rebuilt += 1
            logger.warning("hand-over from %s: %s; it is made again here", self.source, err)

    def import_group(self, items: list[Item]) -> dict[str, int]:
        """Import a group of records in one transaction (`catalog.handover_import`); the
        products' ids here."""
        with self.factory() as session, session.begin():
            move = Move(self.source, self.local, self.now(), self.store, self.holding)
            imported, refs = import_group(session, items, move)
        self.result.imported += imported
        return refs


def _items(manifest: dict[str, Any]) -> list[Item]:
    """The manifest's records in import order: the registry first (a dataset's link names a
    deployment, a deployment its place)."""
    items: list[Item] = [("place", p) for p in manifest.get("places", [])]
    items += [("instrument", i) for i in manifest.get("instruments", [])]
    items += [("dataset", d) for d in manifest["datasets"]]
    items += [("product", p) for p in manifest["products"]]
    items += [("report", r) for r in manifest["reports"]]
    items += [("expected", e) for e in manifest.get("expected", [])]
    return items


def _groups(pull: _Pull, items: list[Item]) -> list[tuple[list[Item], list[Wanted]]]:
    """The records in import groups, each with the files it waits for."""
    groups: list[tuple[list[Item], list[Wanted]]] = []
    records: list[Item] = []
    files: list[Wanted] = []
    for kind, item in items:
        records.append((kind, item))
        files += pull.files(kind, item)
        if len(records) >= GROUP_RECORDS or sum(f.size for f in files) >= GROUP_BYTES:
            groups.append((records, files))
            records, files = [], []
    if records:
        groups.append((records, files))
    return groups


def _start(pull: _Pull, pool: ThreadPoolExecutor, groups: list[tuple[list[Item], list[Wanted]]],
           started: dict[Path, Future[int]]) -> list[Future[None]]:  # fmt: skip
    """Start every file's transfer in the groups' order, each into `started`: a large file
    one to a request, the small ones in bundles (closed at each group's end, so a group's
    files are all asked before the next group's). The bundles' tasks."""
    tasks: list[Future[None]] = []
    bundle: list[tuple[Wanted, Future[int]]] = []

    def send() -> None:
        if bundle:
            tasks.append(pool.submit(pull.fetch_bundle, list(bundle)))
            bundle.clear()

    for _, files in groups:
        for wanted in files:
            if wanted.key in started:
                continue
            if wanted.size > BUNDLE_FILE_MAX:
                started[wanted.key] = pool.submit(pull.fetch, wanted)
                continue
            started[wanted.key] = Future()
            bundle.append((wanted, started[wanted.key]))
            if (len(bundle) >= BUNDLE_FILES
                    or sum(w.size for w, _ in bundle) >= BUNDLE_BYTES):  # fmt: skip
                send()
        send()
    return tasks


def transfer_and_import(pull: _Pull, manifest: dict[str, Any], parallel: int) -> dict[str, int]:
    """Every file not here yet through a pool of `parallel` transfers, each group of records
    imported as soon as its files are in; the products' ids here, by public id."""
    groups = _groups(pull, _items(manifest))
    refs: dict[str, int] = {}
    with ThreadPoolExecutor(parallel, thread_name_prefix="fieldcat-handover-transfer") as pool:
        started: dict[Path, Future[int]] = {}
        tasks = _start(pull, pool, groups, started)
        settled: set[Path] = set()

        def settle(files: list[Wanted]) -> None:
            for wanted in files:
                if wanted.key not in settled:  # a file shared by two groups counts once
                    settled.add(wanted.key)
                    pull.settle(wanted, started[wanted.key])

        def arrived(files: list[Wanted]) -> bool:
            return all(started[wanted.key].done() for wanted in files)

        try:
            at = 0
            while at < len(groups):
                records, files = groups[at]
                settle(files)
                batch, at = list(records), at + 1
                # The groups whose files are all in already join this one: an import that
                # fell behind the bytes catches up in fewer, larger transactions.
                while (at < len(groups) and len(batch) + len(groups[at][0]) <= IMPORT_RECORDS
                       and arrived(groups[at][1])):  # fmt: skip
                    settle(groups[at][1])
                    batch, at = batch + groups[at][0], at + 1
                refs |= pull.import_group(batch)
        except BaseException:
            for future in started.values():
                future.cancel()
            for task in tasks:
                task.cancel()
            raise
    shutil.rmtree(pull.holding, ignore_errors=True)  # every record that needed them is in
    return refs


def _ours(factory: sessionmaker[Session], local: str, manifest: dict[str, Any]) -> set[str]:
    with factory() as session:
        return imported_ids(session, local, [d["row"]["public_id"] for d in manifest["datasets"]])


async def pull_handover(client: PeerClient, factory: sessionmaker[Session], store: ArchiveStore,
                        now: Callable[[], datetime], timeout_s: float,
                        parallel: int = PARALLEL) -> PullResult:  # fmt: skip
    """One run of the hand-over from the client's peer: to the end, or until an error."""
    source, local = client.credentials.peer_code, client.credentials.local_code
    result = PullResult()
    began = time.perf_counter()
    manifest = await client.handover_manifest()
    if manifest.get("center") != source:
        raise PeerProtocolError(f"the manifest is not {source}'s")
    ours = await asyncio.to_thread(_ours, factory, local, manifest)
    connections = Connections(timeout_s)
    pull = _Pull(client, factory, store, now, timeout_s, result, ours, connections)
    fetched = time.perf_counter()
    try:
        refs = await asyncio.to_thread(transfer_and_import, pull, manifest, parallel)
    finally:
        connections.close()
    completed = time.perf_counter()
    products = {k: v for k, v in refs.items() if not k.startswith(CALIBRATION)}
    calibrations = {k.removeprefix(CALIBRATION): v for k, v in refs.items()
                    if k.startswith(CALIBRATION)}  # fmt: skip
    answer = await client.handover_complete(products, calibrations)
    logger.info("hand-over from %s: manifest %.2f s, files and import %.2f s, completion %.2f s",
                source, fetched - began, completed - fetched,
                time.perf_counter() - completed)  # fmt: skip
    result.moved = int(answer["moved"])
    with factory() as session, session.begin():
        job = find_handover(session, source, local)
        if job is not None:
            job.state, job.finished_at = DONE, now()
            job.records = sum(len(manifest.get(k, [])) for k in RECORD_LISTS)
            job.bytes_pulled += result.fetched_bytes
            job.last_error = ""
    logger.info("hand-over from %s done: %d files (%d bytes), %d records imported, %d derived "
                "file(s) to make again", source, result.fetched, result.fetched_bytes,
                result.imported, result.rebuilt)  # fmt: skip
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


RETRY_S = 0.5
"""How soon a paused hand-over (the closing center down, a transfer cut) is tried again."""


def run_pending(factory: sessionmaker[Session], store: ArchiveStore, local: str, api_path: str,
                timeout_s: float) -> int:  # fmt: skip
    """Run every unfinished hand-over to this center once; how many paused (to try again)."""
    with factory() as session:
        sources = [job.from_center for job in pending_pulls(session, local)]
    paused = 0
    for source in sources:
        try:
            with factory() as session:
                creds = credentials_for(session, local, source, api_path, _now())
            asyncio.run(_pull(creds, factory, store, timeout_s))
        except (FederationError, OSError) as err:
            paused += 1
            logger.warning("hand-over from %s paused: %s", source, err)
            with factory() as session, session.begin():
                job = find_handover(session, source, local)
                if job is not None:
                    job.last_error = str(err)[:500]
    return paused


@functools.cache
def _tls() -> ssl.SSLContext:
    """The TLS context of the hand-over's requests, made once (loading the CA certificates
    takes a noticeable part of a second)."""
    return httpx.create_ssl_context()


async def _pull(creds: PeerCredentials, factory: sessionmaker[Session], store: ArchiveStore,
                timeout_s: float) -> PullResult:  # fmt: skip
    async with httpx.AsyncClient(timeout=timeout_s, verify=_tls()) as http:
        return await pull_handover(PeerClient(http, creds), factory, store, _now, timeout_s)


def _now() -> datetime:
    return datetime.now(UTC)


def handover_loop(factory: sessionmaker[Session], store: ArchiveStore, local: str,
                  api_path: str, timeout_s: float, tick_s: float,
                  stop: threading.Event) -> None:  # fmt: skip
    """The worker's hand-over thread: resume unfinished hand-overs until `stop`.

    An accepted offer is a `pulling` row: the thread looks for one every `tick_s` (the
    replicator's tick, the same way a peer's notification reaches it), so a hand-over starts
    at once; a paused one is tried again after `RETRY_S`.
    """
    _tls()
    while not stop.is_set():
        paused = 0
        try:
            paused = run_pending(factory, store, local, api_path, timeout_s)
        except Exception:  # a task boundary: log, keep going
            logger.exception("hand-over step failed")
            paused = 1
        stop.wait(RETRY_S if paused else tick_s)
