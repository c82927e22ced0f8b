"""Archive storage: content addressing, atomic placement, read-only, idempotence, staging."""

from __future__ import annotations

import hashlib
import os
import stat
import time
from pathlib import Path

import pytest

from catalog.storage import ArchiveStore


def staged(store: ArchiveStore, data: bytes) -> Path:
    path = store.new_staging_path()
    path.write_bytes(data)
    return path


def test_put_original_is_content_addressed_and_read_only(tmp_path: Path) -> None:
    store = ArchiveStore(tmp_path)
    store.create_dirs()
    data = b"DID = 31\n##END OF HEADER##\n" * 1000
    path = staged(store, data)
    sha, final = store.put_original(path)
    assert sha == hashlib.sha256(data).hexdigest()
    assert final == tmp_path / "archive" / "originals" / sha[:2] / sha
    assert final.read_bytes() == data
    assert not final.stat().st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)
    assert not path.exists()  # staging is emptied
    assert store.original_path(sha) == final


def test_same_bytes_twice_give_one_file(tmp_path: Path) -> None:
    store = ArchiveStore(tmp_path)
    first = store.put_original(staged(store, b"same bytes"))
    second = store.put_original(staged(store, b"same bytes"))
    assert first == second
    assert len(list((tmp_path / "archive" / "originals").rglob("*"))) == 2  # one dir, one file
    assert list(store.staging_dir.iterdir()) == []


def test_no_partial_file_under_a_final_name(tmp_path: Path, monkeypatch) -> None:
    store = ArchiveStore(tmp_path)
    store.create_dirs()
    path = staged(store, b"x" * 10)

    def disk_fails(fd: int) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(os, "fsync", disk_fails)
    with pytest.raises(OSError):
        store.put_original(path)
    assert list(store.originals_dir.rglob("*")) == []
    assert path.exists()  # still staged, for a retry or the clean-up


def test_archive_from_another_file_system_copies_then_renames(tmp_path: Path, monkeypatch) -> None:
    store = ArchiveStore(tmp_path)

    def no_links(src: object, dst: object) -> None:
        raise OSError(18, "Invalid cross-device link")

    monkeypatch.setattr(os, "link", no_links)
    sha, final = store.put_original(staged(store, b"across devices"))
    assert final.read_bytes() == b"across devices"
    assert [p.name for p in final.parent.iterdir()] == [sha]  # no temp file left


@pytest.mark.parametrize("bad", ["", "ABC", "../" + "a" * 61, "g" * 64, "a" * 63])
def test_original_path_refuses_malformed_digests(tmp_path: Path, bad: str) -> None:
    with pytest.raises(ValueError):
        ArchiveStore(tmp_path).original_path(bad)


def test_derived_path(tmp_path: Path) -> None:
    store = ArchiveStore(tmp_path)
    assert store.derived_path("AbC-12_x", 7, ".nc") == tmp_path / "archive/derived/AbC-12_x/7.nc"
    for pid, ext in (("../x", "nc"), ("a/b", "nc"), ("ok", "n/c"), ("ok", "..")):
        with pytest.raises(ValueError):
            store.derived_path(pid, 1, ext)


def test_clean_staging_removes_only_stale_files(tmp_path: Path) -> None:
    store = ArchiveStore(tmp_path)
    old, fresh = staged(store, b"old"), staged(store, b"fresh")
    past = time.time() - 7200
    os.utime(old, (past, past))
    assert store.clean_staging(older_than_s=3600) == 1
    assert not old.exists() and fresh.exists()
    assert ArchiveStore(tmp_path / "nothing").clean_staging() == 0


def test_staging_paths_are_unique(tmp_path: Path) -> None:
    store = ArchiveStore(tmp_path)
    assert len({store.new_staging_path() for _ in range(100)}) == 100
