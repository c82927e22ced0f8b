"""A real `fieldcat serve` for the robustness tests: users with tokens, uploads, downloads,
search."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from tests.archive_center.fieldcat_process import free_ports, start_fieldcat, wait_ready
from tests.conftest import SAMPLES

if TYPE_CHECKING:
    from catalog.schemas import Role


def prepare_center(root: Path) -> str:
    """A migrated center at `root` with a PI; returns the PI's API token."""
    from catalog.schemas import Role

    return prepare_center_with(root, {"pi": Role.PI}, password="robust-pass")["pi"]


def prepare_center_with(
    root: Path, users: Mapping[str, Role], password: str = "pw-pw-pw-pw"
) -> dict[str, str]:
    """A migrated center at `root` with these users (name: role); each one's API token."""
    from archive_center.cli_node import prepare
    from catalog.db import make_engine, make_session_factory
    from catalog.users import create_user, issue_api_token
    from web.settings import Settings

    settings = Settings(root=root, center_code="JOSS", center_name="JOSS")
    prepare(settings)
    engine = make_engine(settings.effective_database_url)
    tokens = {}
    with make_session_factory(engine)() as session, session.begin():
        now = datetime.now(UTC)
        for name, role in users.items():
            user = create_user(session, username=name, password=password, role=role, now=now)
            tokens[name] = issue_api_token(session, user, name="tests", now=now)
    engine.dispose()
    return tokens


def serve(root: Path, *args: str, **env: str) -> tuple[subprocess.Popen[bytes], str, int]:
    """`fieldcat serve` on free loopback ports, ready; returns (process, URL, FTP port)."""
    base = free_ports(2)
    port, ftp_port = base, base + 1
    settings = {
        "FIELDCAT_ROOT": str(root), "FIELDCAT_PORT": str(port), "FIELDCAT_CENTER_CODE": "JOSS",
        "FIELDCAT_CENTER_NAME": "JOSS", "FIELDCAT_SUBMISSIONS__FTP__PORT": str(ftp_port),
    }  # fmt: skip
    log = root / "serve.log"
    process = start_fieldcat("serve", *args, log=log, **(settings | env))
    url = f"http://127.0.0.1:{port}"
    wait_ready(f"{url}/api/v1/readyz", process, log)
    return process, url, ftp_port


def found(url: str, did: str, timeout: float = 15) -> dict[str, Any]:
    """The search hit of DID `did` at the center `url`, polled until it appears."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        items = httpx.get(f"{url}/api/v1/datasets", params={"q": did}).json()["items"]
        hits = [i for i in items if i["did"] == did]
        if hits:
            return dict(hits[0])
        time.sleep(0.1)
    pytest.fail(f"DID {did} not found by search")


def sample(name: str, did: int) -> bytes:
    """A valid sample under another DID (a distinct dataset)."""
    lines = (SAMPLES / "valid" / name).read_text().splitlines()
    lines = [f"DID = {did}" if ln.upper().startswith("DID") else ln for ln in lines]
    return ("\n".join(lines) + "\n").encode()


def upload(client: httpx.Client, name: str, content: bytes) -> str:
    """Submit over HTTP; the registered dataset's public id."""
    resp = client.post("/api/v1/submissions", files={"file": (name, content, "text/plain")})
    assert resp.status_code == 201, resp.text
    dataset: str = resp.json()["dataset"]
    return dataset


def minute_series(did: int, rows: int) -> tuple[bytes, list[float]]:
    """A valid KCO-style header file of `rows` one-minute rows (from 1999-02-01) and its O3
    column: a larger, distinct dataset whose converted values can be checked."""
    from datetime import timedelta

    start = datetime(1999, 2, 1, tzinfo=UTC)
    stop = start + timedelta(minutes=rows - 1)
    ozone = [round(10 + (did % 17) + (i % 600) / 40, 2) for i in range(rows)]
    head = [
        f"DID = {did}",
        f"FILE START TIME (UTC) = {start:%Y-%m-%dT%H:%M:%SZ}",
        f"FILE STOP TIME (UTC) = {stop:%Y-%m-%dT%H:%M:%SZ}",
        "PI NAME = Lobert, Jurgen (SIO)",
        "PLATFORM = KCO",
        "INSTRUMENT = Kaashidhoo Climate Observatory surface package",
        "LOCATION = Kaashidhoo, Maldives; 4.965N 73.466E",
        "DATA VERSION = 1",
        "REMARKS = one-minute means; missing data = -9999",
        "##END OF HEADER##",
        "DATE/TIME O3 RH",
        "UTC ppbv %",
    ]
    body = [
        f"{start + timedelta(minutes=i):%Y-%m-%dT%H:%M:%SZ} {o3:.2f} {60 + i % 30}.0"
        for i, o3 in enumerate(ozone)
    ]
    return ("\n".join(head + body) + "\n").encode(), ozone
