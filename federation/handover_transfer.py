"""The bytes of a hand-over: files fetched by a bounded pool of blocking transfers.

Each file is streamed in `TRANSFER_CHUNK` reads straight from the socket into one buffer
(`http.client`'s `readinto`), hashed and written as it arrives, fsynced once, and put in
place only if its SHA-256 and size are the signed manifest's: an original into the archive
(`ArchiveStore.put_original`), a derived file into its target (the hand-over's holding
folder, or a product's thumbnail path). Reading the socket, hashing and writing release the
GIL, so several transfers overlap each other and the records' import
(`federation.handover`). Blocking threads rather than the event loop: one Python step per
4 MiB instead of one per 64 KiB socket read through an HTTP parser.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from http.client import HTTPConnection, HTTPException, HTTPSConnection
from pathlib import Path
from typing import BinaryIO

import httpx

from catalog.handover_files import TRANSFER_CHUNK
from catalog.storage import ArchiveStore, fsync_dir
from federation.errors import PeerProtocolError, PeerUnreachableError


class UnverifiedFileError(PeerProtocolError):
    """A file that did not arrive as the manifest says (other bytes, or not served)."""


@dataclass(frozen=True)
class Wanted:
    """One file to fetch: its SHA-256 and size in the manifest, and where it goes."""

    sha256: str
    size: int
    target: Path
    name: str | None = None
    """A derived file's name in the manifest (None: an original, archived by its SHA-256)."""

    @property
    def key(self) -> tuple[str, str | None]:
        """The same file asked twice (two records sharing bytes) is fetched once."""
        return self.sha256, self.name


def _receive(request: httpx.Request, out: BinaryIO, timeout_s: float) -> tuple[str, int]:
    """Send the signed request; stream the answer's body to `out`: (its SHA-256, its size)."""
    url = request.url
    kind = HTTPSConnection if url.scheme == "https" else HTTPConnection
    connection = kind(url.host, url.port, timeout=timeout_s)
    headers = {k: v for k, v in request.headers.items() if k.lower() != "accept-encoding"}
    try:
        connection.request("GET", url.raw_path.decode("ascii"),
                           headers=headers | {"Accept-Encoding": "identity"})  # fmt: skip
        response = connection.getresponse()
        if response.status != 200:
            raise UnverifiedFileError(f"{url.path}: {response.status}")
        digest, written = hashlib.sha256(), 0
        buffer = memoryview(bytearray(TRANSFER_CHUNK))
        while count := response.readinto(buffer):
            digest.update(buffer[:count])
            out.write(buffer[:count])
            written += count
        return digest.hexdigest(), written
    except (OSError, HTTPException) as err:
        raise PeerUnreachableError(f"{url.host}: transfer cut ({type(err).__name__})") from err
    finally:
        connection.close()


def fetch(request: httpx.Request, wanted: Wanted, store: ArchiveStore, timeout_s: float) -> int:
    """Fetch one file and put it in place if it is the manifest's; its size.

    UnverifiedFileError when other bytes (or no file) came, PeerUnreachableError when the
    transfer was cut: nothing is put in place either way.
    """
    staged = store.new_staging_path()
    try:
        with staged.open("wb") as out:
            sha256, size = _receive(request, out, timeout_s)
            if wanted.name is not None:  # an original is fsynced by `put_original`
                out.flush()
                os.fsync(out.fileno())
        if sha256 != wanted.sha256 or size != wanted.size:
            raise UnverifiedFileError(f"{wanted.name or wanted.sha256} arrived with other bytes")
        if wanted.name is None:
            store.put_original(staged, sha256)
        else:
            wanted.target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(staged, wanted.target)
            fsync_dir(wanted.target.parent)
        return size
    finally:
        staged.unlink(missing_ok=True)
