"""Archive storage of one center: content-addressed read-only originals, derived files, staging.

An original is written to staging, hashed while read, fsynced, then linked into
`archive/originals/ab/abcdef...` in one step, so no reader ever sees a partial file under a
final name; the database row pointing at it is committed afterwards by the caller.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import shutil
import stat
import threading
import time
import uuid
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

logger = logging.getLogger(__name__)

CHUNK = 1 << 20
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_SAFE_PART = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_SAFE_EXT = re.compile(r"^[a-z0-9]{1,16}$")
READ_ONLY = stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH


def fsync_dir(path: Path) -> None:
    """Make a folder's new or renamed entries durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


FSYNC_THREADS = 8
"""Folders fsynced at once by `fsync_dirs`."""
_fsync_pool: ThreadPoolExecutor | None = None
_fsync_pool_lock = threading.Lock()


def _fsyncs() -> ThreadPoolExecutor:
    """The process's pool of fsync threads, started on first use (a pool a call would cost
    more in thread starts than the fsyncs it overlaps)."""
    global _fsync_pool
    with _fsync_pool_lock:
        if _fsync_pool is None:
            _fsync_pool = ThreadPoolExecutor(FSYNC_THREADS, thread_name_prefix="fieldcat-fsync")
        return _fsync_pool


def fsync_dirs(paths: Iterable[Path]) -> None:
    """Make several folders' new entries durable, their fsyncs issued together: the file
    system commits them in one journal transaction, where one after another each waits for
    a commit of its own (on ext4, and behind every dirty file in it)."""
    unique = sorted(set(paths))
    if len(unique) <= 1:
        for path in unique:
            fsync_dir(path)
        return
    for done in [_fsyncs().submit(fsync_dir, path) for path in unique]:
        done.result()


class ArchiveStore:
    """The files of one center under `root` (layout in DESIGN.md, "Storage of one center")."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.staging_dir = self.root / "staging"
        self.originals_dir = self.root / "archive" / "originals"
        self.derived_dir = self.root / "archive" / "derived"
        self.incoming_dir = self.root / "incoming"
        self.done_dir = self.root / "done"
        self.rejected_dir = self.root / "rejected"

    def create_dirs(self) -> None:
        """Create every folder of the layout (idempotent)."""
        for path in (
            self.staging_dir,
            self.originals_dir,
            self.derived_dir,
            self.incoming_dir,
            self.done_dir,
            self.rejected_dir,
        ):
            path.mkdir(parents=True, exist_ok=True)

    def new_staging_path(self) -> Path:
        """A fresh, unused path in staging for one upload (the file is not created)."""
        self.staging_dir.mkdir(parents=True, exist_ok=True)
        return self.staging_dir / f"{uuid.uuid4().hex}.part"

    def original_path(self, sha256: str) -> Path:
        """Where the original with this SHA-256 lives (ValueError for a malformed digest)."""
        if not _SHA256.match(sha256):
            raise ValueError("not a lower-case hex SHA-256 digest")
        return self.originals_dir / sha256[:2] / sha256

    def derived_path(self, public_id: str, version_id: int | str, fmt_ext: str) -> Path:
        """Where a derived file of a dataset version lives."""
        ext = fmt_ext.lstrip(".").lower()
        if not _SAFE_PART.match(public_id) or not _SAFE_PART.match(str(version_id)):
            raise ValueError("unsafe dataset or version id")
        if not _SAFE_EXT.match(ext):
            raise ValueError("unsafe file extension")
        return self.derived_dir / public_id / f"{version_id}.{ext}"

    def put_original(self, staged: Path, sha256: str | None = None) -> tuple[str, Path]:
        """Archive a staged file: (sha256, final path). The same bytes twice give one file.

        `sha256`, when the caller computed it while writing the staged file, saves reading
        the file again; the file is still fsynced before it is linked into place.
        """
        if sha256 is None:
            digest = hashlib.sha256()
            with open(staged, "rb") as stream:
                while chunk := stream.read(CHUNK):
                    digest.update(chunk)
                os.fsync(stream.fileno())
            sha256 = digest.hexdigest()
        else:
            with open(staged, "rb") as stream:
                os.fsync(stream.fileno())
        final = self.original_path(sha256)
        final.parent.mkdir(parents=True, exist_ok=True)
        os.chmod(staged, READ_ONLY)
        try:
            os.link(staged, final)
        except FileExistsError:
            logger.info("original %s already archived", sha256)
        except OSError:  # no hard links here (another file system): copy, then rename
            self._copy_into_place(staged, final)
        else:
            fsync_dir(final.parent)
        staged.unlink(missing_ok=True)
        return sha256, final

    def _copy_into_place(self, staged: Path, final: Path) -> None:
        temp = final.parent / f".{final.name}.{uuid.uuid4().hex}.tmp"
        with open(staged, "rb") as src, open(temp, "wb") as dst:
            shutil.copyfileobj(src, dst, CHUNK)
            dst.flush()
            os.fsync(dst.fileno())
        os.chmod(temp, READ_ONLY)
        if final.exists():
            temp.unlink()
            return
        os.replace(temp, final)
        fsync_dir(final.parent)

    def clean_staging(self, older_than_s: float = 3600.0) -> int:
        """Remove staged files left older than `older_than_s` seconds; how many were removed."""
        if not self.staging_dir.is_dir():
            return 0
        cutoff = time.time() - older_than_s
        removed = 0
        for path in self.staging_dir.iterdir():
            try:
                if path.is_file() and path.stat().st_mtime < cutoff:
                    path.unlink()
                    removed += 1
            except FileNotFoundError:
                continue
        if removed:
            logger.info("removed %d stale staging files", removed)
        return removed


def resolve_derived(store: ArchiveStore, stored: str) -> Path:
    """A derived file's path as stored (relative to the storage root, or absolute)."""
    path = Path(stored)
    return path if path.is_absolute() else store.root / path
