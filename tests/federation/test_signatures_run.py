"""Every signature attack on a real node is refused; key rotation keeps two keys valid."""

from __future__ import annotations

import json
import secrets
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from federation.signing import H_NONCE, H_SENDER, sign_headers
from tests.archive_center.fieldcat_process import fieldcat, free_ports
from tests.federation.cluster import Node, publish
from tests.polling import eventually

CHANGES = "/api/v1/federation/changes"
NOTIFY = "/api/v1/federation/notify"


def send(
    receiver: Node,
    method: str,
    path: str,
    *,
    query: str = "",
    body: bytes = b"",
    key: tuple[str, str],
    sender: str = "JOSS",
    now: datetime | None = None,
    nonce: str | None = None,
    tamper: dict[str, Any] | None = None,
) -> httpx.Response:
    """Sign a request from `sender` to `receiver`, optionally change it after signing, send it."""
    key_id, secret = key
    headers = sign_headers(
        sender=sender, audience=receiver.code, key_id=key_id, secret=secret, method=method,
        path=path, query=query, body=body, now=now or datetime.now(UTC), nonce=nonce,
    )  # fmt: skip
    sent = {"path": path, "query": query, "body": body, **(tamper or {})}
    url = receiver.url + sent["path"] + (f"?{sent['query']}" if sent["query"] else "")
    return httpx.request(method, url, content=sent["body"], headers=headers, timeout=10)


def joss_key(cluster: dict[str, Node]) -> tuple[str, str]:
    """The key JOSS and NPL share."""
    _, key_id, secret = cluster["JOSS"].peers["NPL"]
    return key_id, secret


def refused(response: httpx.Response, why: str) -> None:
    """A 401 problem document naming the reason."""
    assert response.status_code == 401, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert why in response.json()["detail"]


def test_a_signed_request_passes(cluster: dict[str, Node]) -> None:
    response = send(cluster["NPL"], "GET", CHANGES, query="since=0&limit=5", key=joss_key(cluster))
    assert response.status_code == 200, response.text
    assert response.json()["center"] == "NPL"


def test_unsigned_requests_are_refused(cluster: dict[str, Node]) -> None:
    refused(httpx.get(cluster["NPL"].url + CHANGES), "missing header")
    refused(httpx.post(cluster["NPL"].url + NOTIFY, json={"last_seq": 1}), "missing header")
    assert httpx.get(cluster["NPL"].url + "/api/v1/federation/status").status_code == 200


def test_tampered_query_path_and_body_are_refused(cluster: dict[str, Node]) -> None:
    npl, key = cluster["NPL"], joss_key(cluster)
    query = send(npl, "GET", CHANGES, query="since=0", key=key, tamper={"query": "since=5"})
    refused(query, "signature does not match")
    path = send(npl, "GET", CHANGES, key=key, tamper={"path": "/api/v1/federation/digests"})
    refused(path, "signature does not match")
    body = json.dumps({"last_seq": 1}).encode()
    forged = json.dumps({"last_seq": 10**6}).encode()
    refused(send(npl, "POST", NOTIFY, body=body, key=key, tamper={"body": forged}), "digest")


def test_a_replayed_nonce_is_refused(cluster: dict[str, Node]) -> None:
    npl, key, nonce = cluster["NPL"], joss_key(cluster), secrets.token_hex(16)
    assert send(npl, "GET", CHANGES, key=key, nonce=nonce).status_code == 200
    refused(send(npl, "GET", CHANGES, key=key, nonce=nonce), "replay")


def test_stale_and_future_timestamps_are_refused(cluster: dict[str, Node]) -> None:
    npl, key, now = cluster["NPL"], joss_key(cluster), datetime.now(UTC)
    refused(send(npl, "GET", CHANGES, key=key, now=now - timedelta(minutes=6)), "stale")
    refused(send(npl, "GET", CHANGES, key=key, now=now + timedelta(minutes=2)), "future")
    assert send(npl, "GET", CHANGES, key=key, now=now - timedelta(minutes=4)).status_code == 200


def test_unknown_keys_and_senders_are_refused(cluster: dict[str, Node]) -> None:
    npl, (key_id, secret) = cluster["NPL"], joss_key(cluster)
    refused(send(npl, "GET", CHANGES, key=("k-unknown", secret)), "unknown or expired key")
    refused(send(npl, "GET", CHANGES, key=(key_id, "wrong-secret")), "signature does not match")
    refused(send(npl, "GET", CHANGES, key=(key_id, secret), sender="EVE"), "unknown or expired")
    # a key another pair shares is no key between these two
    _, lmd_key_id, lmd_secret = cluster["LMD"].peers["NPL"]
    refused(send(npl, "GET", CHANGES, key=(lmd_key_id, lmd_secret)), "unknown or expired key")


def test_a_disabled_peer_is_refused_until_enabled_again(cluster: dict[str, Node]) -> None:
    npl, key = cluster["NPL"], joss_key(cluster)
    try:
        off = fieldcat("peers", "disable", "JOSS", "--config", str(npl.config))
        assert off.returncode == 0, off.stderr
        assert "peer JOSS disabled" in off.stdout
        refused(send(npl, "GET", CHANGES, key=key), "unknown or expired key")
        listed = fieldcat("peers", "list", "--config", str(npl.config)).stdout
        assert any(line.startswith("JOSS") and "DISABLED" in line for line in listed.splitlines())
    finally:
        on = fieldcat("peers", "enable", "JOSS", "--config", str(npl.config))
    assert on.returncode == 0, on.stderr
    assert send(npl, "GET", CHANGES, key=key).status_code == 200
    unknown = fieldcat("peers", "disable", "NOPE", "--config", str(npl.config))
    assert unknown.returncode == 1 and "no peer 'NOPE'" in unknown.stderr
    assert "Traceback" not in unknown.stderr


def test_rotation_keeps_two_keys_valid_then_refuses_the_old_one(
    cluster: dict[str, Node],
) -> None:
    joss, npl = cluster["JOSS"], cluster["NPL"]
    old, new = joss_key(cluster), ("k-rotated", secrets.token_urlsafe(32))
    rotate = ["peers", "rotate-key", "--key-id", new[0], "--secret", new[1]]
    result = fieldcat(*rotate, "JOSS", "--config", str(npl.config))
    assert result.returncode == 0, result.stderr
    for key in (old, new):
        assert send(npl, "GET", CHANGES, key=key).status_code == 200, "both valid meanwhile"
    result = fieldcat(*rotate, "NPL", "--config", str(joss.config))
    assert result.returncode == 0, result.stderr
    result = fieldcat(*rotate, "--retire-others", "JOSS", "--config", str(npl.config))
    assert result.returncode == 0, result.stderr
    refused(send(npl, "GET", CHANGES, key=old), "unknown or expired key")
    assert send(npl, "GET", CHANGES, key=new).status_code == 200
    listed = fieldcat("peers", "list", "--json", "--config", str(npl.config))
    keys = {p["code"]: [k["key_id"] for k in p["keys"]] for p in json.loads(listed.stdout)}
    assert keys["JOSS"] == [new[0]]
    assert new[1] not in listed.stdout, "secrets are never listed"
    [public_id] = publish(joss, label="after-rotation")
    eventually(lambda: npl.get(f"/datasets/{public_id}").status_code == 200)


def record(public_id: str, origin: str, version: int, title: str) -> dict[str, Any]:
    """A record payload as a feed carries it."""
    return {
        "public_id": public_id, "did": None, "campaign": "INDOEX", "title": title,
        "summary": "", "pi_name": "Mallory", "platform": "Balloon", "instrument": "Sonde",
        "location": "mobile", "project": None, "category": "research",
        "start": "1999-02-01T00:00:00+00:00", "stop": "1999-02-01T06:00:00+00:00",
        "south": 0.0, "north": 1.0, "west": 70.0, "east": 71.0, "min_altitude": None,
        "max_altitude": None, "feature_type": "trajectory", "data_version": "1",
        "access_state": "open", "release_at": None, "origin_center": origin,
        "origin_version": version, "created": "2026-01-01T00:00:00+00:00",
        "updated": "2026-01-01T00:00:00+00:00", "variables": [], "current_version": None,
    }  # fmt: skip


EVIL_KEY = ("k-evil", "s" * 40)


class EvilPeer:
    """A real HTTP server posing as peer EVIL: it serves whatever changes the test lists,
    signing its answers with EVIL's key unless `sign` is off (an impostor without the key)."""

    def __init__(self, code: str = "EVIL") -> None:
        self.code = code
        self.changes: list[dict[str, Any]] = []
        self.sign = True
        self.server = ThreadingHTTPServer(("127.0.0.1", free_ports(1)), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        peer = self

        class Handler(BaseHTTPRequestHandler):
            def answer(self, status: int, content: Any) -> None:
                body = json.dumps(content).encode()
                path, _, query = self.path.partition("?")
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                if peer.sign:
                    signed = sign_headers(
                        sender=peer.code, audience=self.headers[H_SENDER], key_id=EVIL_KEY[0],
                        secret=EVIL_KEY[1], method="ANSWER", path=path, query=query,
                        body=body, now=datetime.now(UTC), nonce=self.headers[H_NONCE],
                    )  # fmt: skip
                    for name, value in signed.items():
                        self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                query = self.path.partition("?")[2]
                since = int(query.split("since=")[1].split("&")[0]) if "since=" in query else 0
                self.answer(200, {
                    "center": peer.code, "last_seq": len(peer.changes),
                    "changes": peer.changes[since:],
                    "centers": {peer.code: {"name": peer.code, "url": "http://evil.invalid"}},
                })  # fmt: skip

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("content-length") or 0))
                self.answer(202, {"accepted": True})

            def log_message(self, *args: Any) -> None:
                pass

        return Handler

    def list_changes(self, payloads: list[dict[str, Any]]) -> None:
        for payload in payloads:
            self.changes.append({
                "seq": len(self.changes) + 1, "public_id": payload["public_id"],
                "kind": "upsert", "origin_center": payload["origin_center"],
                "origin_version": payload["origin_version"], "payload": payload,
            })  # fmt: skip


@pytest.fixture
def evil_peer(request: pytest.FixtureRequest) -> Iterator[EvilPeer]:
    peer = EvilPeer(getattr(request, "param", "EVIL"))
    thread = threading.Thread(target=peer.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield peer
    finally:
        peer.server.shutdown()
        peer.server.server_close()


def add_evil(node: Node, peer: EvilPeer) -> None:
    added = fieldcat("peers", "add", peer.code, peer.url, "--key-id", EVIL_KEY[0], "--secret",
                     EVIL_KEY[1], "--config", str(node.config))  # fmt: skip
    assert added.returncode == 0, added.stderr


def test_a_peer_cannot_change_other_centers_datasets(
    cluster: dict[str, Node], evil_peer: tuple[str, list[dict[str, Any]]]
) -> None:
    joss, npl = cluster["JOSS"], cluster["NPL"]
    [own] = publish(npl, label="npl-own")
    [joss_record] = publish(joss, label="joss-own")
    eventually(lambda: npl.get(f"/datasets/{joss_record}").status_code == 200)
    evil_peer.list_changes([
        record(own, "NPL", 99, "HIJACKED own"),  # a change to NPL's own dataset
        record(joss_record, "JOSS", 99, "HIJACKED relay"),  # JOSS's, relayed by a stranger
        record(joss_record, "EVIL", 99, "HIJACKED origin"),  # JOSS's, claimed as EVIL's
        record("evil-legit-0001", "EVIL", 1, "EVIL's own record"),
    ])  # fmt: skip
    add_evil(npl, evil_peer)
    eventually(lambda: npl.get("/datasets/evil-legit-0001").status_code == 200)
    assert npl.get(f"/datasets/{own}").json()["title"].startswith("npl-own")
    assert npl.get(f"/datasets/{joss_record}").json()["title"].startswith("joss-own")
    assert npl.get(f"/datasets/{joss_record}").json()["origin_center"] == "JOSS"
    status = {p["code"]: p for p in npl.get("/federation/status").json()["peers"]}
    assert status["EVIL"]["last_seq_applied"] == 4
    assert "refused a change of" in npl.log.read_text()


@pytest.mark.parametrize("evil_peer", ["MALLORY"], indirect=True)
def test_an_answer_not_signed_by_the_peer_is_never_applied(
    cluster: dict[str, Node], evil_peer: EvilPeer
) -> None:
    """Whoever answers at a peer's address without its key (spoofed DNS, a man in the
    middle on plain HTTP) feeds nothing in, and the status says why."""
    npl = cluster["NPL"]
    evil_peer.sign = False
    evil_peer.list_changes([record("impostor-0001", "MALLORY", 1, "IMPOSTOR record")])
    add_evil(npl, evil_peer)

    def refused() -> bool:
        peers = {p["code"]: p for p in npl.get("/federation/status").json()["peers"]}
        return "not signed with our key" in (peers.get("MALLORY", {}).get("last_error") or "")

    eventually(refused)
    assert npl.get("/datasets/impostor-0001").status_code == 404
    assert npl.search_ids(q="IMPOSTOR") == set()
    evil_peer.sign = True  # the genuine peer, signing, is heard at its next pull
    eventually(lambda: npl.get("/datasets/impostor-0001").status_code == 200, timeout=30)
