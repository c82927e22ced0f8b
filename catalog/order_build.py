"""The worker's side of orders: build one queued order's zip, with progress.

Each dataset is classified (`catalog.order_items`) with the orderer's rights at build time:
a readable one goes in with its README (`catalog.bundles`); one held at a peer is fetched
from its origin center's data route (open data answers anyone there) when a fetcher is
given, else listed with the address; the rest are listed with the reason. The manifest gives
every file's SHA-256 and every left-out dataset's reason. Files are streamed into the zip
in chunks and hashed as they go, so memory stays flat whatever the order's size.
"""

from __future__ import annotations

import hashlib
import logging
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from catalog.bundles import BundleEntry, add_dataset, local_center, origin_of
from catalog.citations import citation_for, citation_text
from catalog.db import make_session_factory
from catalog.downloads import DownloadRequest, base_filename, is_public
from catalog.links import ResourceLinks
from catalog.order_items import HeldElsewhere, LeftOut, Readable, classify
from catalog.order_models import Order
from catalog.orders import order_path, ordered_ids, orderer
from catalog.schemas import Principal
from catalog.storage import ArchiveStore

logger = logging.getLogger(__name__)

Fetcher = Callable[[str], Iterable[bytes]]
"""Streams the bytes at a URL (raises on any answer but 200)."""
PROGRESS_EVERY = 25
"""Progress is committed after this many datasets (and at the end)."""
CHUNK = 1 << 20


@dataclass
class _Progress:
    total: int = 0
    included: int = 0
    left_out: list[dict[str, str]] = field(default_factory=list)
    hashes: list[tuple[str, int, str]] = field(default_factory=list)


def _leave_out(progress: _Progress, public_id: str, kind: str, reason: str) -> None:
    progress.left_out.append({"dataset": public_id, "kind": kind, "reason": reason})


def _fetch_to_staging(store: ArchiveStore, chunks: Iterable[bytes]) -> tuple[Path, int, str]:
    """Stream fetched bytes into a staging file, hashing them; nothing is left on failure."""
    path = store.new_staging_path()
    digest, size = hashlib.sha256(), 0
    try:
        with path.open("wb") as out:
            for chunk in chunks:
                out.write(chunk)
                digest.update(chunk)
                size += len(chunk)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path, size, digest.hexdigest()


def _read_member(archive: zipfile.ZipFile, name: str) -> Iterator[bytes]:
    with archive.open(name) as handle:
        while chunk := handle.read(CHUNK):
            yield chunk


def _hash_member(archive: zipfile.ZipFile, name: str) -> tuple[int, str]:
    digest, size = hashlib.sha256(), 0
    for chunk in _read_member(archive, name):
        digest.update(chunk)
        size += len(chunk)
    return size, digest.hexdigest()


def _readme_for_fetched(session: Session, found: HeldElsewhere, url: str, member: str) -> str:
    dataset = found.dataset
    citation = citation_text(citation_for(dataset, origin_of(session, dataset)))
    return "\n".join([
        dataset.title or dataset.public_id, "=" * 72,
        f"Dataset: {dataset.public_id} (DID {dataset.did}), campaign {dataset.campaign.code}",
        f"File: {member}",
        f"Fetched from its origin center: {url}", "",
        "How to cite", "-----------", citation, "",
    ])  # fmt: skip


@dataclass
class _Build:
    session: Session
    store: ArchiveStore
    archive: zipfile.ZipFile
    request: DownloadRequest
    links: ResourceLinks
    fetch: Fetcher | None
    now: datetime
    progress: _Progress
    principal: Principal

    def add(self, public_id: str) -> None:
        found = classify(self.session, public_id, self.principal, self.now)
        if isinstance(found, LeftOut):
            _leave_out(self.progress, public_id, found.kind, found.reason)
        elif isinstance(found, HeldElsewhere):
            self._add_from_origin(public_id, found)
        else:
            self._add_local(public_id, found)

    def _name(self, found: Readable | HeldElsewhere) -> str:
        version = found.version if isinstance(found, Readable) else found.dataset.current_version
        base = base_filename(found.dataset, version) if version else found.dataset.public_id
        return f"{self.progress.included + 1:05d}_{base}"

    def _add_local(self, public_id: str, found: Readable) -> None:
        center = local_center(self.session)
        link = f"{center.base_url.rstrip('/')}{self.links.dataset(public_id)}" if center else ""
        name = self._name(found)
        public = is_public(found.dataset, self.now)
        entry = BundleEntry(found.dataset, found.version, name, public, link)
        entry.origin = origin_of(self.session, found.dataset)
        before = {info.filename for info in self.archive.infolist()}
        why = add_dataset(self.archive, self.store, entry, replace(self.request), center)
        if why is not None:
            _leave_out(self.progress, public_id, "unconvertible", why)
            return
        self.progress.included += 1
        for info in self.archive.infolist():
            if info.filename not in before:
                size, digest = _hash_member(self.archive, info.filename)
                self.progress.hashes.append((info.filename, size, digest))

    def _add_from_origin(self, public_id: str, found: HeldElsewhere) -> None:
        data = self.links.dataset(public_id, "data")
        url = f"{found.origin_url}{data}?format={self.request.format}"
        if self.fetch is None:
            _leave_out(self.progress, public_id, "held-elsewhere", f"held at its origin: {url}")
            return
        name = self._name(found)
        member = (
            f"{name}/{name}.{'dat' if self.request.format == 'original' else self.request.format}"
        )
        try:
            staged, size, digest = _fetch_to_staging(self.store, self.fetch(url))
        except Exception as err:
            reason = f"held at its origin, which did not deliver it ({err}): {url}"
            _leave_out(self.progress, public_id, "held-elsewhere", reason)
            return
        try:  # only a complete file goes in the zip
            self.archive.write(staged, member)
        finally:
            staged.unlink(missing_ok=True)
        readme = _readme_for_fetched(self.session, found, url, member)
        self.archive.writestr(f"{name}/README.txt", readme)
        self.progress.included += 1
        self.progress.hashes.append((member, size, digest))
        readme_bytes = readme.encode()
        self.progress.hashes.append(
            (f"{name}/README.txt", len(readme_bytes), hashlib.sha256(readme_bytes).hexdigest())
        )


def manifest(progress: _Progress) -> str:
    """Every file with its size and SHA-256, then every left-out dataset and why."""
    lines = ["FieldCat order", "", "Files (size, SHA-256):"]
    lines += [f"  {name}  {size} bytes  sha256:{digest}" for name, size, digest in progress.hashes]
    if progress.left_out:
        lines += ["", f"Not in this order ({len(progress.left_out)} dataset(s)):"]
        lines += [f"  {item['dataset']}: {item['reason']}" for item in progress.left_out]
    return "\n".join(lines) + "\n"


def _save_progress(session: Session, order: Order, done: int, progress: _Progress) -> None:
    order.done, order.total = done, max(order.total, done)
    order.included, order.left_out = progress.included, list(progress.left_out)
    session.commit()


def _count(session: Session, order: Order, principal: Principal, now: datetime) -> int:
    listed = order.spec.get("datasets")
    if listed is not None:
        return len(listed)
    return sum(1 for _ in ordered_ids(session, order, principal, now))


def build_order(
    engine: Engine,
    store: ArchiveStore,
    order_id: int,
    links: ResourceLinks,
    now: datetime,
    fetch: Fetcher | None = None,
) -> None:
    """Build one claimed order's zip; the order ends `ready` or `failed` (with the error)."""
    factory = make_session_factory(engine)
    with factory() as session, factory() as reader:
        order = session.get(Order, order_id)
        assert order is not None
        principal = orderer(session, order, now)
        order.total = _count(reader, order, principal, now)
        session.commit()
        path = order_path(store, order.public_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".part")
        request = DownloadRequest(order.spec.get("format", "original"), None, None, None, None)
        progress = _Progress(total=order.total)
        try:
            with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as archive:
                build = _Build(
                    reader, store, archive, request, links, fetch, now, progress, principal
                )
                done = 0
                for done, public_id in enumerate(ordered_ids(reader, order, principal, now), 1):
                    build.add(public_id)
                    reader.expunge_all()  # nothing of a finished dataset stays in memory
                    if done % PROGRESS_EVERY == 0:
                        _save_progress(session, order, done, progress)
                archive.writestr("MANIFEST.txt", manifest(progress))
            partial.replace(path)
        except Exception as err:
            partial.unlink(missing_ok=True)
            logger.exception("order %s failed", order.public_id)
            order.state, order.error, order.finished_at = "failed", str(err)[:2000], now
            session.commit()
            return
        _save_progress(session, order, done, progress)
        order.state, order.size, order.finished_at = "ready", path.stat().st_size, now
        session.commit()


def claim_next(engine: Engine) -> int | None:
    """Take the oldest queued order (one worker gets each); its id, or None."""
    factory = make_session_factory(engine)
    with factory() as session:
        queued = session.scalars(
            select(Order.id).where(Order.state == "queued").order_by(Order.created_at).limit(1)
        ).first()
        if queued is None:
            return None
        taken = session.execute(
            update(Order)
            .where(Order.id == queued, Order.state == "queued")
            .values(state="running")
            .execution_options(synchronize_session=False)
        )
        session.commit()
        return queued if taken.rowcount == 1 else None  # type: ignore[attr-defined]


def build_due_orders(
    engine: Engine,
    store: ArchiveStore,
    links: ResourceLinks,
    now: Callable[[], datetime],
    fetch: Fetcher | None = None,
    limit: int = 1,
) -> int:
    """Build up to `limit` queued orders; how many were taken."""
    built = 0
    while built < limit and (order_id := claim_next(engine)) is not None:
        build_order(engine, store, order_id, links, now(), fetch)
        built += 1
    return built
