"""Brute-force limits key on the socket peer, on a real `fieldcat serve` (uvicorn included):
a made-up `X-Forwarded-For` changes nothing unless the peer is a configured trusted proxy
(SECURITY.md rows 19 and 22)."""

from __future__ import annotations

import json
import signal
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.archive_center.fieldcat_process import free_ports, start_fieldcat, stop, wait_ready

pytestmark = pytest.mark.timeout(180)
ATTEMPTS = 3


def _serve(root: Path, **env: str) -> Iterator[str]:
    port = free_ports(1)
    settings = {
        "FIELDCAT_ROOT": str(root),
        "FIELDCAT_PORT": str(port),
        "FIELDCAT_FEDERATION__ENABLED": "false",
        "FIELDCAT_ACCESS__PASSWORD_ATTEMPTS": str(ATTEMPTS),
    }
    log = root / "serve.log"
    process = start_fieldcat("serve", "--no-worker", log=log, **(settings | env))
    base = f"http://127.0.0.1:{port}"
    try:
        wait_ready(f"{base}/api/v1/readyz", process, log)
        yield base
    finally:
        stop(process, signal.SIGTERM)


@pytest.fixture(scope="module")
def direct(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A node with no trusted proxy."""
    yield from _serve(tmp_path_factory.mktemp("direct"))


@pytest.fixture(scope="module")
def proxied(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A node behind a trusted proxy on loopback."""
    proxies = json.dumps(["127.0.0.1/32"])
    yield from _serve(tmp_path_factory.mktemp("proxied"), FIELDCAT_ACCESS__TRUSTED_PROXIES=proxies)


def _sign_in(base: str, username: str, forwarded: str | None = None) -> int:
    headers = {"x-forwarded-for": forwarded} if forwarded else {}
    body = {"username": username, "password": "wrong password"}
    return httpx.post(f"{base}/api/v1/auth/session", json=body, headers=headers).status_code


def test_forged_forwarded_for_does_not_reset_the_limit(direct: str) -> None:
    statuses = [_sign_in(direct, "alice") for _ in range(ATTEMPTS)]
    assert statuses == [401] * ATTEMPTS
    assert _sign_in(direct, "alice") == 429
    forged = ["203.0.113.7", "198.51.100.1, 203.0.113.8", "127.0.0.2", "::1"]
    assert [_sign_in(direct, "alice", f) for f in forged] == [429] * len(forged)


def test_a_trusted_proxy_names_the_client_by_its_rightmost_untrusted_hop(proxied: str) -> None:
    """Rule: from a trusted proxy, the client is the last `X-Forwarded-For` hop that is not a
    trusted proxy; what a client prepends to the header is ignored."""
    for _ in range(ATTEMPTS):
        assert _sign_in(proxied, "bob", "198.51.100.7") == 401
    assert _sign_in(proxied, "bob", "198.51.100.7") == 429
    # The same client prepending a made-up hop is still the same client.
    assert _sign_in(proxied, "bob", "203.0.113.9, 198.51.100.7") == 429
    # Another client behind the proxy has its own count.
    assert _sign_in(proxied, "bob", "198.51.100.8") == 401
    # No header from the trusted proxy: the proxy itself is the client.
    assert _sign_in(proxied, "bob") == 401
