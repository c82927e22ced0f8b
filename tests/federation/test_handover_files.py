"""The hand-over's files, without a peer: one transfer per target, and identical derived
files of several datasets placed from one held copy.

Two datasets' derived files with the same bytes (the same quick look, an empty QC result)
are held as one `holding/<sha256>`. Fetched once per name, they were renamed over that path
by two transfers while the import linked from it, and Linux refuses to link a file whose last
name a rename has just taken (ENOENT): the run paused and waited to be tried again.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Any, cast

import pytest

from catalog.handover_files import Placed, place_derived
from catalog.storage import ArchiveStore
from federation.handover import GROUP_BYTES, _start, transfer_and_import
from federation.handover_transfer import Wanted
from tests.catalog.conftest import NOW

QUICK_LOOK = b"\x89PNG\r\n\x1a\n the same plot for two datasets"
SHA = hashlib.sha256(QUICK_LOOK).hexdigest()


class Recorder:
    """Stands in for a run's transfers: records what it was asked, in order."""

    def __init__(self) -> None:
        self.asked: list[list[str | None]] = []

    def fetch_bundle(self, members: list[tuple[Wanted, Future[int]]]) -> None:
        self.asked.append([wanted.name for wanted, _ in members])
        for wanted, future in members:
            future.set_result(wanted.size)

    def fetch(self, wanted: Wanted) -> int:
        self.asked.append([wanted.name])
        return wanted.size


def test_the_same_bytes_for_two_records_are_fetched_once(tmp_path: Path) -> None:
    held = tmp_path / "holding" / SHA
    first = Wanted(SHA, len(QUICK_LOOK), held, "DS1/1.png")
    second = Wanted(SHA, len(QUICK_LOOK), held, "DS2/2.png")
    thumbnail = Wanted(SHA, len(QUICK_LOOK), tmp_path / "products" / "p.png", "products/p.png")
    recorder = Recorder()
    started: dict[Path, Future[int]] = {}
    with ThreadPoolExecutor(2) as pool:
        groups = [([], [first]), ([], [second, thumbnail])]
        wait(_start(cast(Any, recorder), pool, groups, started))
    # The second dataset's copy is the first's held file; the thumbnail has a target of its own.
    assert recorder.asked == [["DS1/1.png"], ["products/p.png"]]
    assert set(started) == {held, thumbnail.target}
    assert all(future.result() == len(QUICK_LOOK) for future in started.values())


def test_identical_derived_files_of_two_datasets_come_from_one_held_copy(
    tmp_path: Path,
) -> None:
    store = ArchiveStore(tmp_path / "root")
    holding = tmp_path / "holding"
    holding.mkdir()
    (holding / SHA).write_bytes(QUICK_LOOK)
    entry = {"name": "x/1.png", "sha256": SHA, "size": len(QUICK_LOOK), "format": "png"}
    placed = Placed()
    place_derived(store, holding, "DATASETONE", 11, [entry], NOW, placed)
    place_derived(store, holding, "DATASETTWO", 12, [entry], NOW, placed)
    for public_id, version in (("DATASETONE", 11), ("DATASETTWO", 12)):
        assert store.derived_path(public_id, version, "png").read_bytes() == QUICK_LOOK
    assert [row["version_id"] for row in placed.derived] == [11, 12]
    # The folders are left for the caller to fsync together before it commits the rows.
    assert placed.folders == {store.derived_dir / "DATASETONE", store.derived_dir / "DATASETTWO"}
    assert placed.unverified == []
    # A file left at the target by a run stopped before its commit is replaced, not kept.
    stale = store.derived_path("DATASETONE", 11, "png")
    again = Placed()
    (holding / SHA).unlink()
    (holding / SHA).write_bytes(QUICK_LOOK)  # a new held copy (another inode)
    place_derived(store, holding, "DATASETONE", 11, [entry], NOW, again)
    assert os.path.samefile(stale, holding / SHA)
    assert [row["version_id"] for row in again.derived] == [11]


class Staged:
    """Stands in for a run: each dataset needs one 16 MB file (two datasets a group of
    `GROUP_BYTES`); `slow`: each group's files wait for the import before it; else the first
    file comes last, when every other one is in. The imports are recorded."""

    def __init__(self, tmp_path: Path, count: int, slow: bool) -> None:
        self.holding = tmp_path / "holding"
        self.count, self.slow = count, slow
        self.imports: list[list[str]] = []
        self.changed = threading.Condition()
        self.fetched = 0

    def files(self, kind: str, item: dict[str, Any]) -> list[Wanted]:
        number = int(item["row"]["public_id"].removeprefix("ds"))
        return [Wanted(f"{number:064x}", 16 * 1024 * 1024, self.holding / str(number))]

    def fetch(self, wanted: Wanted) -> int:
        number = int(wanted.sha256, 16)
        with self.changed:
            if self.slow:  # group g's files come once g groups are imported
                assert self.changed.wait_for(lambda: len(self.imports) >= number // 2, timeout=30)
            elif number == 0:
                assert self.changed.wait_for(lambda: self.fetched == self.count - 1, timeout=30)
            self.fetched += 1
            self.changed.notify_all()
        if not self.slow and number == 0:
            time.sleep(0.3)  # and the pool has marked each of the others arrived
        return wanted.size

    def settle(self, wanted: Wanted, future: Future[int]) -> None:
        future.result(timeout=30)

    def import_group(self, items: list[Any]) -> dict[str, int]:
        with self.changed:
            self.imports.append([item["row"]["public_id"] for _, item in items])
            self.changed.notify_all()
        return {}


def _batches(tmp_path: Path, count: int, slow: bool) -> list[int]:
    pull = Staged(tmp_path, count, slow)
    manifest = {"datasets": [{"row": {"public_id": f"ds{i}"}} for i in range(count)],
                "products": [], "reports": []}  # fmt: skip
    transfer_and_import(cast(Any, pull), manifest, parallel=count)
    assert [p for batch in pull.imports for p in batch] == [f"ds{i}" for i in range(count)]
    return [len(batch) for batch in pull.imports]


def test_groups_already_arrived_are_imported_together(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An import that fell behind the bytes takes every group whose files are in at once
    (up to `IMPORT_RECORDS`); one ahead of them takes each group as its files arrive; the
    records are imported once each, in order, either way."""
    assert GROUP_BYTES == 2 * 16 * 1024 * 1024  # two datasets a group
    assert _batches(tmp_path, 11, slow=True) == [2, 2, 2, 2, 2, 1]
    assert _batches(tmp_path, 11, slow=False) == [11]
    monkeypatch.setattr("federation.handover.IMPORT_RECORDS", 4)
    assert _batches(tmp_path, 11, slow=False) == [4, 4, 3]
