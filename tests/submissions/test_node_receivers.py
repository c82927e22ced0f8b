"""A real `fieldcat serve` with the FTP drop and the watched directory on, and `fieldcat submit`."""

from __future__ import annotations

import ftplib
import io
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from archive_center.cli_node import prepare
from catalog.db import make_engine, make_session_factory
from catalog.schemas import Role
from catalog.users import create_user, issue_api_token
from tests.archive_center.fieldcat_process import (
    fieldcat,
    free_ports,
    start_fieldcat,
    stop,
    wait_ready,
)
from tests.conftest import SAMPLES
from web.settings import Settings


@dataclass
class Served:
    url: str
    ftp_port: int
    root: Path
    token: str


def with_did(name: str, did: int) -> bytes:
    text = (SAMPLES / "valid" / name).read_text()
    lines = [f"DID = {did}" if ln.upper().startswith("DID") else ln for ln in text.splitlines()]
    return ("\n".join(lines) + "\n").encode()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    root = tmp_path_factory.mktemp("served")
    settings = Settings(root=root, center_code="JOSS", center_name="JOSS")
    prepare(settings)
    engine = make_engine(settings.effective_database_url)
    with make_session_factory(engine)() as session, session.begin():
        now = datetime.now(UTC)
        user = create_user(session, username="pi", password="pw-pw-pw-pw", role=Role.PI, now=now)
        token = issue_api_token(session, user, name="cli", now=now)
    engine.dispose()
    base = free_ports(2)
    log = root / "serve.log"
    process = start_fieldcat(
        "serve", log=log, FIELDCAT_ROOT=str(root), FIELDCAT_PORT=str(base),
        FIELDCAT_CENTER_CODE="JOSS", FIELDCAT_CENTER_NAME="JOSS",
        FIELDCAT_SUBMISSIONS__FTP__ENABLED="true", FIELDCAT_SUBMISSIONS__FTP__PORT=str(base + 1),
        FIELDCAT_SUBMISSIONS__WATCH__ENABLED="true",
        FIELDCAT_SUBMISSIONS__WATCH__POLL_INTERVAL_S="0.2",
    )  # fmt: skip
    try:
        wait_ready(f"http://127.0.0.1:{base}/api/v1/readyz", process, log)
        yield Served(f"http://127.0.0.1:{base}", base + 1, root, token)
    finally:
        stop(process, signal.SIGTERM)


def found(url: str, did: str, timeout: float = 15) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        items = httpx.get(f"{url}/api/v1/datasets", params={"q": did}).json()["items"]
        hits = [i for i in items if i["did"] == did]
        if hits:
            return hits[0]
        time.sleep(0.1)
    pytest.fail(f"DID {did} not found by search")


def test_ftp_upload_is_found_by_search(served: Served) -> None:
    ftp = ftplib.FTP()
    ftp.connect("127.0.0.1", served.ftp_port, timeout=10)
    ftp.login()
    ftp.storbinary("STOR kco_ftp.txt", io.BytesIO(with_did("kco_surface_hourly.txt", 8101)))
    with pytest.raises(ftplib.error_perm):
        ftp.nlst()
    ftp.quit()
    assert found(served.url, "8101")["origin_center"] == "JOSS"


def test_watched_directory_drop_is_taken_in(served: Served) -> None:
    incoming = served.root / "incoming"
    (incoming / "track.txt").write_bytes(with_did("c130_rf07_track.txt", 8102))
    found(served.url, "8102")
    deadline = time.monotonic() + 10
    while not (served.root / "done" / "track.txt.report.txt").exists():
        assert time.monotonic() < deadline, "not moved to done/"
        time.sleep(0.1)


def test_fieldcat_submit_prints_reports_and_fails_on_a_rejection(
    served: Served, tmp_path: Path
) -> None:
    good = tmp_path / "sounding.txt"
    good.write_bytes(with_did("sagar_kanya_sounding.txt", 8103))
    bad = SAMPLES / "invalid" / "no_end_marker.txt"
    result = fieldcat(
        "submit", str(good), str(bad), "--center", served.url, FIELDCAT_TOKEN=served.token
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "sounding.txt: registered" in result.stdout
    assert "no_end_marker.txt: rejected" in result.stdout
    assert "HDR008" in result.stdout
    found(served.url, "8103")
    again = fieldcat("submit", str(good), "--center", served.url, "--token", served.token)
    assert again.returncode == 0 and "submitted before" in again.stdout
    anonymous = fieldcat("submit", str(good), "--center", served.url)
    assert anonymous.returncode == 1 and "sign in" in anonymous.stdout.lower()
