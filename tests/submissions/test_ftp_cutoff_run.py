"""The FTP drop of a real node: a data connection reset mid-file leaves no dataset and no
staging file; a size declared with ALLO must match; a clean upload still lands in 2 s."""

from __future__ import annotations

import ftplib
import io
import signal
import socket
import struct
import time
from pathlib import Path

import httpx
import pytest

from tests.archive_center.fieldcat_process import stop
from tests.archive_center.stayup_node import prepare_center, sample, serve

pytestmark = [pytest.mark.slow, pytest.mark.solo]  # a clean upload must land within 2 s


def control(port: int) -> ftplib.FTP:
    ftp = ftplib.FTP()
    ftp.connect("127.0.0.1", port, timeout=10)
    ftp.login()
    ftp.voidcmd("TYPE I")
    return ftp


def reset_mid_file(port: int, name: str, part: bytes) -> str:
    """STOR over ftplib's control connection, then send `part` on a raw data socket and
    reset it (SO_LINGER 0 sends RST); returns the server's final reply."""
    ftp = control(port)
    host, data_port = ftplib.parse227(ftp.sendcmd("PASV"))
    data = socket.create_connection((host, data_port), timeout=10)
    ftp.sendcmd(f"STOR {name}")  # 150
    data.sendall(part)
    time.sleep(0.2)  # the bytes reach the server; the reset follows them
    data.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    data.close()
    try:
        reply = ftp.getresp()
    except ftplib.Error as err:
        reply = str(err)
    ftp.close()
    return reply


def datasets(url: str, did: int) -> list[str]:
    items = httpx.get(f"{url}/api/v1/datasets", params={"q": str(did)}).json()["items"]
    return [item["public_id"] for item in items if item["did"] == str(did)]


def staged(root: Path) -> list[Path]:
    """Files an upload may leave behind: the drop directory and staging."""
    places = [root / "incoming" / "ftp", root / "staging"]
    return [p for place in places if place.is_dir() for p in place.rglob("*") if p.is_file()]


def test_a_reset_upload_is_discarded_and_a_clean_one_lands(tmp_path: Path) -> None:
    root = tmp_path / "node"
    prepare_center(root)
    process, url, ftp_port = serve(
        root, FIELDCAT_SUBMISSIONS__FTP__ENABLED="true", FIELDCAT_WORKER_INTERVAL_S="3600"
    )
    try:
        for attempt in range(5):
            did = 4100 + attempt
            content = sample("kco_surface_hourly.txt", did)
            lines = content.splitlines(keepends=True)
            half = b"".join(lines[: len(lines) // 2])  # cut at a line boundary: a valid file
            with pytest.raises(ftplib.Error) as refused:
                reply = reset_mid_file(ftp_port, f"kco_{did}.txt", half)
                if not reply.startswith("226"):
                    raise ftplib.error_temp(reply)
            assert str(refused.value).startswith(("426", "451")), refused.value
        time.sleep(2.0)  # past the ~1 s after which a cut-off file used to be registered
        for attempt in range(5):
            assert datasets(url, 4100 + attempt) == []
        assert staged(root) == []

        did = 4200
        ftp = control(ftp_port)
        content = sample("kco_surface_hourly.txt", did)
        ftp.sendcmd(f"ALLO {len(content) + 10}")
        with pytest.raises(ftplib.Error, match="451"):
            ftp.storbinary(f"STOR kco_{did}.txt", io.BytesIO(content))
        ftp.close()
        ftp = control(ftp_port)
        assert ftp.sendcmd(f"ALLO {len(content)}").startswith("200")
        assert ftp.storbinary(f"STOR kco_{did}b.txt", io.BytesIO(content)).startswith("226")
        landed = time.monotonic()
        assert ftp.size(f"kco_{did}b.txt") == len(content)
        ftp.quit()
        while not datasets(url, did):
            assert time.monotonic() - landed < 2.0, "the clean upload did not land in 2 s"
            time.sleep(0.05)
        assert len(datasets(url, did)) == 1
        time.sleep(0.5)
        assert staged(root) == []
        log = (root / "serve.log").read_text(errors="replace")
        assert "discarded" in log
    finally:
        stop(process, signal.SIGTERM)
