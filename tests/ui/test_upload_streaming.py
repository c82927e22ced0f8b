"""The web form's upload streams like the REST route's: the caller is checked before a
byte of the body is read, the size limit holds while streaming, and nothing but the
current chunk is held in memory or spooled to disk outside staging.

The requests go straight into the node's ASGI app (its lifespan run by a TestClient), with
a body generator that counts what the app pulled from it: exact, where a socket's buffers
would blur the figure.
"""

from __future__ import annotations

import tempfile
import tracemalloc
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from archive_center.app import create_app
from catalog.schemas import Principal, Role
from tests.archive_center.conftest import NOW, make_settings
from tests.ui.test_staff_pages import csrf_of

LIMIT = 64 * 2**20
FILE_SIZE = 300 * 2**20
CHUNK = 2**20
BOUNDARY = "fieldcatStreamBoundary7MA4YWxk"
CSRF = "t" * 43
BROWSER = "text/html,application/xhtml+xml,*/*;q=0.8"


@dataclass
class Answer:
    """What the app sent back, and how many body bytes it pulled."""

    status: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    consumed: int = 0


@dataclass
class StreamNode:
    """A node with a 64 MiB upload limit, its TestClient (lifespan running) and root."""

    app: FastAPI
    client: TestClient
    root: Path


@pytest.fixture(scope="module")
def stream_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StreamNode]:

    root = tmp_path_factory.mktemp("stream")
    settings = make_settings(root, None).model_copy(update={"max_upload_bytes": LIMIT})
    app = create_app(settings)
    app.state.clock = lambda: NOW
    with TestClient(app, follow_redirects=False) as client:
        yield StreamNode(app, client, root)


def multipart(fields: list[tuple[str, str]], size: int, *, file_first: bool = False) -> list[Any]:
    """The parts of a form body: text fields, then (or first) a file of `size` bytes."""
    texts = [
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
        for name, value in fields
    ]
    head = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="big.txt"\r\n'
        "Content-Type: text/plain\r\n\r\n"
    )
    file_part = [head.encode(), ("size", size), b"\r\n"]
    text_parts = ["".join(texts).encode()]
    parts = file_part + text_parts if file_first else text_parts + file_part
    return [*parts, f"--{BOUNDARY}--\r\n".encode()]


async def generated(parts: list[Any]) -> AsyncIterator[bytes]:
    """The body, the file's bytes generated chunk by chunk (one chunk object, reused)."""
    line = b"0123456789" * 10 + b"\n"
    chunk = line * (CHUNK // len(line))
    for part in parts:
        if isinstance(part, tuple):
            left = part[1]
            while left > 0:
                piece = chunk if left >= len(chunk) else chunk[:left]
                left -= len(piece)
                yield piece
        else:
            yield part


async def post_upload(
    app: FastAPI, headers: dict[str, str], parts: list[Any], path: str = "/upload"
) -> Answer:
    """POST `path` straight into the ASGI app; the answer and the bytes it consumed."""
    answer = Answer()
    body = generated(parts)
    sent_all = False

    async def receive() -> dict[str, Any]:
        nonlocal sent_all
        if sent_all:
            return {"type": "http.disconnect"}
        try:
            piece = await body.__anext__()
        except StopAsyncIteration:
            sent_all = True
            return {"type": "http.request", "body": b"", "more_body": False}
        answer.consumed += len(piece)
        return {"type": "http.request", "body": piece, "more_body": True}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            answer.status = message["status"]
            answer.headers = {k.decode(): v.decode() for k, v in message["headers"]}
        elif message["type"] == "http.response.body":
            answer.body += message.get("body", b"")

    all_headers = {"content-type": f"multipart/form-data; boundary={BOUNDARY}", **headers}
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
        "root_path": "", "client": ("127.0.0.1", 50000), "server": ("testserver", 80),
        "headers": [(k.lower().encode(), v.encode()) for k, v in all_headers.items()],
    }  # fmt: skip
    await app(scope, receive, send)  # type: ignore[arg-type]
    return answer


def upload(
    node: StreamNode, headers: dict[str, str], parts: list[Any], path: str = "/upload"
) -> Answer:
    """`post_upload` on the event loop that runs the node's lifespan."""
    portal = node.client.portal
    assert portal is not None
    return portal.call(post_upload, node.app, headers, parts, path)


def staged_files(node: StreamNode) -> list[Path]:
    """Whatever is in the node's staging folder now."""
    staging = node.app.state.store.staging_dir
    return [p for p in staging.rglob("*") if p.is_file()] if staging.exists() else []


def signed_in_pi(node: StreamNode) -> tuple[str, str]:
    """A PI's session cookie and its CSRF token."""
    from sqlalchemy import select

    from catalog.models import User
    from catalog.users import create_user
    from tests.ui.test_staff_pages import PASSWORD

    with node.app.state.session_factory() as session, session.begin():
        if session.scalar(select(User.id).where(User.username == "pi_stream")) is None:
            create_user(session, username="pi_stream", password=PASSWORD, role=Role.PI)
    client = TestClient(node.app, follow_redirects=False)
    token = csrf_of(client.get("/signin").text)
    r = client.post(
        "/signin", data={"username": "pi_stream", "password": PASSWORD, "csrf_token": token}
    )
    assert r.status_code == 303
    cookie = r.cookies["fieldcat_session"]
    client.cookies.set("fieldcat_session", cookie)
    return cookie, csrf_of(client.get("/upload").text)


@pytest.mark.parametrize("token_in", ["form", "header"])
@pytest.mark.parametrize(
    ("accept", "status"), [(BROWSER, 303), ("application/json", 401)], ids=["browser", "script"]
)
def test_anonymous_upload_is_refused_before_any_byte_is_read(
    stream_node: StreamNode, accept: str, status: int, token_in: str
) -> None:
    # The anonymous CSRF pair is right, so the refusal is the sign-in check's. A browser
    # sends the token as the form's first field: that is the case that must not read it.
    headers = {"accept": accept, "cookie": f"fieldcat_csrf={CSRF}"}
    if token_in == "header":
        headers["x-csrf-token"] = CSRF
    answer = upload(stream_node, headers, multipart([("csrf_token", CSRF)], FILE_SIZE))
    assert answer.status == status, answer.body[:300]
    assert answer.consumed == 0
    if status == 303:
        assert answer.headers["location"] == "/signin?next=/upload"
    assert staged_files(stream_node) == []


@pytest.mark.parametrize("token_in", ["form", "header"])
def test_a_wrong_role_is_refused_before_any_byte_is_read(
    stream_node: StreamNode, token_in: str
) -> None:
    from web.deps import get_principal

    peer = Principal(user_id=987, username="peer-node", role=Role.PEER)
    stream_node.app.dependency_overrides[get_principal] = lambda: peer
    headers = {"accept": BROWSER, "cookie": f"fieldcat_csrf={CSRF}"}
    if token_in == "header":
        headers["x-csrf-token"] = CSRF
    try:
        answer = upload(stream_node, headers, multipart([("csrf_token", CSRF)], FILE_SIZE))
    finally:
        del stream_node.app.dependency_overrides[get_principal]
    assert answer.status == 403
    assert answer.consumed == 0
    assert b"<h1>" in answer.body  # the browser's error page
    assert staged_files(stream_node) == []


def test_no_csrf_token_is_refused_before_any_byte_is_read(stream_node: StreamNode) -> None:
    answer = upload(stream_node, {"accept": "*/*"}, multipart([], FILE_SIZE))
    assert answer.status == 403 and answer.consumed == 0
    assert b"csrf-failed" in answer.body


def test_a_token_after_the_file_is_refused_before_the_file_is_staged(
    stream_node: StreamNode,
) -> None:
    cookie, token = signed_in_pi(stream_node)
    headers = {"accept": "*/*", "cookie": f"fieldcat_session={cookie}"}
    parts = multipart([("csrf_token", token)], FILE_SIZE, file_first=True)
    answer = upload(stream_node, headers, parts)
    assert answer.status == 403 and b"csrf-failed" in answer.body
    assert answer.consumed < 4 * CHUNK  # refused at the file part's headers
    assert staged_files(stream_node) == []


def test_300_mb_over_the_limit_is_refused_while_streaming_in_constant_memory(
    stream_node: StreamNode, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cookie, token = signed_in_pi(stream_node)
    # Anything spooled outside staging (as Starlette's form parser would) would land here.
    spool = tmp_path / "spool"
    spool.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(spool))
    headers = {"accept": BROWSER, "cookie": f"fieldcat_session={cookie}"}
    parts = multipart([("csrf_token", token), ("access", "")], FILE_SIZE)
    tracemalloc.start()
    try:
        answer = upload(stream_node, headers, parts)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert answer.status == 413, answer.body[:500]
    assert b"Upload a file" in answer.body  # the upload page, with the refusal's message
    assert LIMIT <= answer.consumed < LIMIT + 4 * CHUNK  # stopped just past the limit
    assert peak < 24 * 2**20, f"peak traced memory {peak / 2**20:.1f} MiB"
    assert list(spool.iterdir()) == []
    assert staged_files(stream_node) == []


def test_each_unreadable_option_is_named_on_the_form(stream_node: StreamNode) -> None:
    cookie, token = signed_in_pi(stream_node)
    client = TestClient(stream_node.app, follow_redirects=False)
    client.cookies.set("fieldcat_session", cookie)
    r = client.post(
        "/upload",
        data={"csrf_token": token, "release_at": "next tuesday", "access": "", "category": ""},
        files={"file": ("x.txt", b"hello\n", "text/plain")},
    )
    assert r.status_code == 400
    assert "Release date: give a date and time as YYYY-MM-DDTHH:MM (UTC)." in r.text
    assert "Check the release date." not in r.text
    assert 'value="next tuesday"' in r.text  # the form keeps what was typed
    assert staged_files(stream_node) == []


def test_the_rest_route_takes_a_browser_session_s_token_from_the_form_as_it_streams(
    stream_node: StreamNode,
) -> None:
    cookie, token = signed_in_pi(stream_node)
    headers = {"accept": "application/json", "cookie": f"fieldcat_session={cookie}"}
    without = upload(stream_node, headers, multipart([], 8 * CHUNK), "/api/v1/submissions")
    assert without.status == 403 and b"csrf-failed" in without.body
    assert without.consumed < 4 * CHUNK and staged_files(stream_node) == []
    parts = multipart([("csrf_token", token)], 1000)
    taken = upload(stream_node, headers, parts, "/api/v1/submissions")
    assert taken.status == 422, taken.body[:300]  # into the pipeline: a report, not a refusal
    assert b"submission-rejected" in taken.body
    assert staged_files(stream_node) == []
