"""The bytes of a hand-over: files fetched by a bounded pool of blocking transfers.

Each file is streamed in `TRANSFER_CHUNK` reads straight from the socket into one buffer
(`http.client`'s `readinto`), hashed and written as it arrives (past the page cache,
`catalog.direct_io`), fsynced once, and put in place only if its SHA-256 and size are the
signed manifest's: an original into the archive (`ArchiveStore.put_original`), a derived
file into its target (the hand-over's holding folder, or a product's thumbnail path).
Reading the socket, hashing and writing release the GIL, so several transfers overlap each
other and the records' import (`federation.handover`). Blocking threads rather than the
event loop: one Python step per 4 MiB instead of one per 64 KiB socket read through an HTTP
parser.

Large files come one to a request (`fetch`); the small ones (derived files, short originals)
many to a request (`fetch_bundle`), each framed by its length and checked on its own, so a
hand-over of a few hundred datasets costs a few dozen signed requests rather than one per
file. The requests share a few kept-alive connections (`Connections`).
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.client import HTTPConnection, HTTPException, HTTPResponse, HTTPSConnection
from pathlib import Path

import httpx

from catalog.direct_io import DirectFile, aligned_buffer
from catalog.handover_files import NOT_SERVED, TRANSFER_CHUNK
from catalog.storage import ArchiveStore, fsync_dir, fsync_dirs
from federation.errors import PeerProtocolError, PeerUnreachableError

Sign = Callable[[], httpx.Request]
"""Makes a freshly signed request (a signature's nonce is good for one request only)."""


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
    def key(self) -> Path:
        """A target is written once: the same bytes asked for several records (identical
        derived files of two datasets, all held as `holding/<sha256>`) are fetched once. Two
        transfers renaming over one path while the import links from it would race: Linux
        refuses to link a file whose last name a rename just took (ENOENT)."""
        return self.target


class Connections:
    """Kept-alive HTTP connections to the closing center, shared by the pool's transfers: a
    transfer takes an idle one (or opens one) and gives it back once its answer was read to
    the end, so a hand-over opens about as many connections as it has transfers."""

    def __init__(self, timeout_s: float) -> None:
        self.timeout_s = timeout_s
        self._idle: list[HTTPConnection] = []
        self._lock = threading.Lock()

    def _new(self, url: httpx.URL) -> HTTPConnection:
        kind = HTTPSConnection if url.scheme == "https" else HTTPConnection
        return kind(url.host, url.port, timeout=self.timeout_s)

    @contextmanager
    def exchange(self, sign: Sign) -> Iterator[HTTPResponse]:
        """Send a signed request and yield its answer; a transport failure becomes
        PeerUnreachableError. An idle connection the peer closed meanwhile is replaced, the
        request signed again."""
        request = sign()
        with self._lock:
            idle = self._idle.pop() if self._idle else None
        connection = idle or self._new(request.url)
        try:
            try:
                response = _send(connection, request)
            except (ConnectionError, HTTPException):
                if idle is None:
                    raise
                connection.close()  # closed by the peer while idle: once more, signed anew
                request = sign()
                connection = self._new(request.url)
                response = _send(connection, request)
            yield response
        except (OSError, HTTPException) as err:
            connection.close()
            host = request.url.host
            raise PeerUnreachableError(f"{host}: transfer cut ({type(err).__name__})") from err
        except BaseException:
            connection.close()
            raise
        if response.isclosed() and not response.will_close:
            with self._lock:
                self._idle.append(connection)
        else:
            connection.close()

    def close(self) -> None:
        """Close the idle connections."""
        with self._lock:
            idle, self._idle = self._idle, []
        for connection in idle:
            connection.close()


def _send(connection: HTTPConnection, request: httpx.Request) -> HTTPResponse:
    headers = {k: v for k, v in request.headers.items() if k.lower() != "accept-encoding"}
    connection.request(request.method, request.url.raw_path.decode("ascii"),
                       body=request.content or None,
                       headers=headers | {"Accept-Encoding": "identity"})  # fmt: skip
    return connection.getresponse()


_buffers = threading.local()


def _buffer() -> memoryview:
    """This thread's transfer buffer, made once and aligned for direct writes: a fresh 4 MiB
    buffer for each file (most of a hand-over's files are a few kB) had the kernel find and
    zero 1,024 new pages a file."""
    buffer: memoryview | None = getattr(_buffers, "buffer", None)
    if buffer is None:
        buffer = _buffers.buffer = aligned_buffer(TRANSFER_CHUNK)
    return buffer


def _fill(response: HTTPResponse, buffer: memoryview) -> int:
    """Read the answer into all of `buffer`, or until it ends: how many bytes came."""
    filled = 0
    while filled < len(buffer) and (count := response.readinto(buffer[filled:])):
        filled += count
    return filled


def _copy(response: HTTPResponse, out: DirectFile, length: int | None) -> tuple[str, int]:
    """Stream `length` bytes of the answer (or all of it) to `out`: (their SHA-256, size).
    The buffer is filled whole before it is written, so all but a file's last write are
    whole aligned blocks, which go past the page cache (`catalog.direct_io`)."""
    digest, written = hashlib.sha256(), 0
    buffer = _buffer()
    while length is None or written < length:
        want = TRANSFER_CHUNK if length is None else min(TRANSFER_CHUNK, length - written)
        count = _fill(response, buffer[:want])
        if count < want and (length is not None or response.length):
            # http.client ends a body cut short of its Content-Length quietly
            raise HTTPException("the answer ended inside a file")
        digest.update(buffer[:count])
        out.write(buffer[:count])
        written += count
        if count < want:
            break
    return digest.hexdigest(), written


def _place(wanted: Wanted, staged: Path, sha256: str, size: int, store: ArchiveStore) -> int:
    """Put a staged file in place if it is the manifest's (the folder of a derived file is
    left for the caller to fsync); its size."""
    if sha256 != wanted.sha256 or size != wanted.size:
        raise UnverifiedFileError(f"{wanted.name or wanted.sha256} arrived with other bytes")
    if wanted.name is None:
        store.put_original(staged, sha256)  # fsyncs the file and its folder
    else:
        wanted.target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(staged, wanted.target)
    return size


def _receive(response: HTTPResponse, wanted: Wanted, store: ArchiveStore,
             length: int | None) -> int:  # fmt: skip
    """One file of an answer into staging, then in place if verified; its size."""
    staged = store.new_staging_path()
    try:
        with DirectFile(staged) as out:
            sha256, size = _copy(response, out, length)
            if wanted.name is not None:  # an original is fsynced by `put_original`
                out.fsync()
        return _place(wanted, staged, sha256, size, store)
    finally:
        staged.unlink(missing_ok=True)


def fetch(sign: Sign, wanted: Wanted, store: ArchiveStore, connections: Connections) -> int:
    """Fetch one file and put it in place if it is the manifest's; its size.

    UnverifiedFileError when other bytes (or no file) came, PeerUnreachableError when the
    transfer was cut: nothing is put in place either way.
    """
    with connections.exchange(sign) as response:
        if response.status != 200:
            raise UnverifiedFileError(f"{wanted.name or wanted.sha256}: {response.status}")
        size = _receive(response, wanted, store, None)
    if wanted.name is not None:
        fsync_dir(wanted.target.parent)
    return size


def fetch_bundle(sign: Sign, files: list[Wanted], store: ArchiveStore,
                 connections: Connections) -> list[int | UnverifiedFileError]:  # fmt: skip
    """Fetch several files in one request (`handover_bundle_request`), each put in place if
    it is the manifest's: its size, or the UnverifiedFileError it met, in order.

    PeerUnreachableError when the transfer was cut (the files already in place stay: each
    was verified); the folders of the derived files are fsynced before this returns.
    """
    outcomes: list[int | UnverifiedFileError] = []
    folders: set[Path] = set()
    with connections.exchange(sign) as response:
        if response.status != 200:
            raise UnverifiedFileError(f"a bundle of {len(files)} files: {response.status}")
        for wanted in files:
            head = response.read(8)
            if len(head) != 8:
                raise HTTPException("the answer ended before a file")
            length = int.from_bytes(head, "big")
            if length == NOT_SERVED:
                outcomes.append(UnverifiedFileError(f"{wanted.name or wanted.sha256}: not served"))
                continue
            try:
                outcomes.append(_receive(response, wanted, store, length))
                folders |= {wanted.target.parent} if wanted.name is not None else set()
            except UnverifiedFileError as err:
                outcomes.append(err)
        if response.read(1):
            raise PeerProtocolError("a bundle answered more than was asked")
    fsync_dirs(folders)
    return outcomes
