"""A hand-over's transfers against a real HTTP server that sends its bodies in uneven
pieces: the bytes put in place are exactly the manifest's, and other bytes, a cut body or a
cut bundle put nothing in place and leave nothing in staging."""

from __future__ import annotations

import hashlib
import os
import random
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from catalog.handover_files import TRANSFER_CHUNK
from catalog.storage import ArchiveStore
from federation.errors import PeerUnreachableError
from federation.handover_transfer import (
    Connections,
    UnverifiedFileError,
    Wanted,
    fetch,
    fetch_bundle,
)

BODIES: dict[str, tuple[bytes, int]] = {}
"""Path -> (the bytes sent, the length announced): sent short, the body is cut."""


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        body, length = BODIES[self.path]
        self.send_response(200)
        self.send_header("Content-Length", str(length))
        self.end_headers()
        rng, at = random.Random(self.path), 0
        while at < len(body):  # uneven pieces: the reader's fills span several reads
            step = rng.choice([1, 7, 4096, 65_537, 1_000_000])
            self.wfile.write(body[at : at + step])
            self.wfile.flush()
            at += step
        if len(body) < length:
            self.close_connection = True

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture
def store(tmp_path: Path) -> ArchiveStore:
    store = ArchiveStore(tmp_path)
    store.create_dirs()
    return store


def serve(name: str, body: bytes, length: int | None = None) -> str:
    BODIES[f"/{name}"] = (body, len(body) if length is None else length)
    return name


def framed(*files: bytes) -> bytes:
    """A bundle's body: each file as its length (8 bytes) then its bytes."""
    return b"".join(len(data).to_bytes(8, "big") + data for data in files)


def original(store: ArchiveStore, data: bytes) -> Wanted:
    sha = hashlib.sha256(data).hexdigest()
    return Wanted(sha, len(data), store.original_path(sha))


def fetch_one(server: str, name: str, wanted: Wanted, store: ArchiveStore) -> int:
    connections = Connections(10.0)
    try:
        return fetch(lambda: httpx.Request("GET", f"{server}/{name}"), wanted, store, connections)
    finally:
        connections.close()


def staging_is_empty(store: ArchiveStore) -> bool:
    return not any(store.staging_dir.iterdir())


@pytest.mark.parametrize("size", [0, 4097, TRANSFER_CHUNK, 2 * TRANSFER_CHUNK + 4097])
def test_a_file_arrives_exactly(server: str, store: ArchiveStore, size: int) -> None:
    data = os.urandom(size)
    wanted = original(store, data)
    assert fetch_one(server, serve(f"ok{size}", data), wanted, store) == size
    assert wanted.target.read_bytes() == data
    assert staging_is_empty(store)


def test_other_bytes_are_not_kept(server: str, store: ArchiveStore) -> None:
    data = os.urandom(TRANSFER_CHUNK + 10)
    wanted = original(store, data)
    forged = bytearray(data)
    forged[-1] ^= 1
    with pytest.raises(UnverifiedFileError, match="other bytes"):
        fetch_one(server, serve("forged", bytes(forged)), wanted, store)
    assert not wanted.target.exists() and staging_is_empty(store)


def test_a_cut_body_is_not_kept(server: str, store: ArchiveStore) -> None:
    data = os.urandom(TRANSFER_CHUNK + 4096)
    wanted = original(store, data)
    with pytest.raises(PeerUnreachableError, match="transfer cut"):
        fetch_one(server, serve("cut", data[:-5000], len(data)), wanted, store)
    assert not wanted.target.exists() and staging_is_empty(store)


def test_a_cut_bundle_keeps_the_files_before_the_cut(server: str, store: ArchiveStore) -> None:
    """Two files arrive whole and verified (an original, a derived file), the third is cut:
    the first two are in place, the third nowhere."""
    first, second, third = os.urandom(300_001), os.urandom(5000), os.urandom(70_000)
    derived = hashlib.sha256(second).hexdigest()
    asked = [original(store, first),
             Wanted(derived, len(second), store.root / "held" / derived, "DS-1/1.nc"),
             original(store, third)]  # fmt: skip
    body = framed(first, second, third)
    name = serve("bundle", body[:-1000], len(body))
    connections = Connections(10.0)
    try:
        with pytest.raises(PeerUnreachableError):
            fetch_bundle(lambda: httpx.Request("GET", f"{server}/{name}"), asked, store,
                         connections)  # fmt: skip
    finally:
        connections.close()
    assert asked[0].target.read_bytes() == first
    assert asked[1].target.read_bytes() == second
    assert not asked[2].target.exists() and staging_is_empty(store)


def test_a_bundle_of_odd_sizes_arrives_exactly(server: str, store: ArchiveStore) -> None:
    files = [os.urandom(size) for size in (1, 4095, 4096, 4097, 1_048_575, 0, 12_345)]
    asked = [original(store, data) for data in files]
    name = serve("odd", framed(*files))
    connections = Connections(10.0)
    try:
        outcomes = fetch_bundle(lambda: httpx.Request("GET", f"{server}/{name}"), asked, store,
                                connections)  # fmt: skip
    finally:
        connections.close()
    assert outcomes == [len(data) for data in files]
    for wanted, data in zip(asked, files, strict=True):
        assert wanted.target.read_bytes() == data
    assert staging_is_empty(store)
