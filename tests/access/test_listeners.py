"""The LAN/public listener split as a real process; `X-Forwarded-For` only via trusted proxies."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import httpx
from starlette.requests import Request

from tests.archive_center.fieldcat_process import (
    REPO,
    cli_env,
    free_ports,
    start_fieldcat,
    stop,
    wait_ready,
)
from web.auth import client_address


def _config(folder: Path, port: int) -> Path:
    path = folder / "center.toml"
    path.write_text(
        f'root = "{folder / "root"}"\nport = {port}\n'
        f'[access]\npublic_host = "127.0.0.1"\npublic_port = {port + 1}\n'
    )
    return path


def test_public_listener_is_read_only_and_anonymous(tmp_path: Path) -> None:
    port = free_ports(2)
    config = _config(tmp_path, port)
    made = subprocess.run(
        [sys.executable, "-m", "archive_center", "users", "add", "boss", "--role", "admin",
         "--password-stdin", "-c", str(config)],
        input="boss password\n", capture_output=True, text=True, cwd=REPO, env=cli_env(),
        timeout=120,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    log = tmp_path / "serve.log"
    process = start_fieldcat("serve", "--config", str(config), "--no-worker", log=log)
    lan, public = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{port + 1}"
    try:
        wait_ready(lan + "/api/v1/readyz", process, log)
        wait_ready(public + "/api/v1/readyz", process, log)
        body = {"username": "boss", "password": "boss password"}
        signed = httpx.post(lan + "/api/v1/auth/session", json=body)
        assert signed.status_code == 200 and signed.json()["role"] == "admin"
        refused = httpx.post(public + "/api/v1/auth/session", json=body)
        assert refused.status_code == 403
        assert refused.json()["type"].endswith("read-only-listener")
        cookie = {"fieldcat_session": signed.cookies["fieldcat_session"]}
        assert httpx.get(lan + "/api/v1/auth/me", cookies=cookie).json()["role"] == "admin"
        assert httpx.get(public + "/api/v1/auth/me", cookies=cookie).json()["role"] == "anonymous"
        for method in ("PUT", "DELETE", "PATCH"):
            answer = httpx.request(method, public + "/api/v1/datasets/x", cookies=cookie)
            assert answer.status_code == 403, method
        assert httpx.get(public + "/api/v1/datasets").status_code == 200
    finally:
        code = stop(process, signal.SIGTERM)
    assert code == 0, log.read_text()


def _request(peer: str, forwarded: str | None) -> Request:
    headers = [(b"x-forwarded-for", forwarded.encode())] if forwarded else []
    scope = {"type": "http", "method": "GET", "path": "/", "headers": headers,
             "client": (peer, 1234), "query_string": b""}  # fmt: skip
    return Request(scope)


def test_forwarded_for_is_believed_only_from_trusted_proxies() -> None:
    proxies = ["10.0.0.0/8"]
    assert client_address(_request("203.0.113.9", "10.1.1.1"), proxies) == "203.0.113.9"
    assert client_address(_request("10.0.0.2", "198.51.100.7"), proxies) == "198.51.100.7"
    spoofed = "192.168.9.9, 198.51.100.7, 10.0.0.3"
    assert client_address(_request("10.0.0.2", spoofed), proxies) == "198.51.100.7"
    assert client_address(_request("10.0.0.2", "198.51.100.7"), []) == "10.0.0.2"
