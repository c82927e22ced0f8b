"""Staging: bytes streamed to a server-named file, size-limited and hashed on the way."""

from __future__ import annotations

import contextlib
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from catalog.storage import ArchiveStore
from submissions.errors import UploadTooLargeError

CHUNK = 1 << 20


@dataclass(frozen=True)
class StagedFile:
    """A complete upload in staging: its path, size and SHA-256."""

    path: Path
    size: int
    sha256: str


class Stager:
    """Write one upload into staging chunk by chunk; refuse it the moment it passes `limit`.

    Use as a context manager: leaving it without `finish()` (an error, a lost connection)
    removes the partial file, so no half upload survives in staging.
    """

    def __init__(self, store: ArchiveStore, limit: int, path: Path | None = None) -> None:
        self.path = path if path is not None else store.new_staging_path()
        self.limit = limit
        self.size = 0
        self._digest = hashlib.sha256()
        self._handle: BinaryIO | None = open(self.path, "xb")  # noqa: SIM115 - closed in finish
        self._done = False

    def write(self, chunk: bytes) -> None:
        """Append a chunk (UploadTooLargeError, and the file gone, past the limit)."""
        self.admit(len(chunk))
        self.hash_chunk(chunk)
        self.write_chunk(chunk)

    def admit(self, length: int) -> None:
        """Count `length` more bytes; past the limit the file is removed and refused."""
        if self._handle is None:
            raise ValueError("staging file already closed")
        self.size += length
        if self.size > self.limit:
            self.abort()
            raise UploadTooLargeError(self.limit)

    def hash_chunk(self, chunk: bytes | bytearray) -> None:
        """Feed an admitted chunk to the digest (may run beside `write_chunk` of the same)."""
        self._digest.update(chunk)

    def write_chunk(self, chunk: bytes | bytearray) -> None:
        """Write an admitted chunk to the file (may run beside `hash_chunk` of the same)."""
        if self._handle is None:
            raise ValueError("staging file already closed")
        self._handle.write(chunk)

    def finish(self) -> StagedFile:
        """Flush and fsync; the staged file."""
        if self._handle is None:
            raise ValueError("staging file already closed")
        self._handle.flush()
        os.fsync(self._handle.fileno())
        self._handle.close()
        self._handle = None
        self._done = True
        return StagedFile(self.path, self.size, self._digest.hexdigest())

    def abort(self) -> None:
        """Close and remove the partial file."""
        if self._handle is not None:
            with contextlib.suppress(OSError):
                self._handle.close()
            self._handle = None
        self.path.unlink(missing_ok=True)

    def __enter__(self) -> Stager:
        return self

    def __exit__(self, *exc: object) -> None:
        if not self._done:
            self.abort()


def stage_stream(
    store: ArchiveStore, stream: BinaryIO, limit: int, path: Path | None = None
) -> StagedFile:
    """Copy a readable binary stream into staging under the limit."""
    with Stager(store, limit, path) as stager:
        while chunk := stream.read(CHUNK):
            stager.write(chunk)
        return stager.finish()


def stage_path(
    store: ArchiveStore, source: Path, limit: int, path: Path | None = None
) -> StagedFile:
    """Copy a file into staging under the limit."""
    with open(source, "rb") as stream:
        return stage_stream(store, stream, limit, path)
