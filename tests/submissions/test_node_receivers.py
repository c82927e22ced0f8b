"""A real `fieldcat serve` with the FTP drop and the watched directory on (the `drop_node`
fixture), and `fieldcat submit`."""

from __future__ import annotations

import ftplib
import io
import time
from pathlib import Path

import pytest

from tests.archive_center.fieldcat_process import fieldcat
from tests.archive_center.stayup_node import found, sample
from tests.conftest import SAMPLES
from tests.submissions.conftest import DropNode


def test_ftp_upload_is_found_by_search(drop_node: DropNode) -> None:
    ftp = ftplib.FTP()
    ftp.connect("127.0.0.1", drop_node.ftp_port, timeout=10)
    ftp.login()
    ftp.storbinary("STOR kco_ftp.txt", io.BytesIO(sample("kco_surface_hourly.txt", 8101)))
    with pytest.raises(ftplib.error_perm):
        ftp.nlst()
    ftp.quit()
    assert found(drop_node.url, "8101")["origin_center"] == "JOSS"


def test_watched_directory_drop_is_taken_in(drop_node: DropNode) -> None:
    incoming = drop_node.root / "incoming"
    (incoming / "track.txt").write_bytes(sample("c130_rf07_track.txt", 8102))
    found(drop_node.url, "8102")
    deadline = time.monotonic() + 10
    while not (drop_node.root / "done" / "track.txt.report.txt").exists():
        assert time.monotonic() < deadline, "not moved to done/"
        time.sleep(0.1)


def test_fieldcat_submit_prints_reports_and_fails_on_a_rejection(
    drop_node: DropNode, tmp_path: Path
) -> None:
    good = tmp_path / "sounding.txt"
    good.write_bytes(sample("sagar_kanya_sounding.txt", 8103))
    bad = SAMPLES / "invalid" / "no_end_marker.txt"
    result = fieldcat(
        "submit",
        str(good),
        str(bad),
        "--center",
        drop_node.url,
        FIELDCAT_TOKEN=drop_node.tokens["pi"],
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "sounding.txt: registered" in result.stdout
    assert "no_end_marker.txt: rejected" in result.stdout
    assert "HDR008" in result.stdout
    found(drop_node.url, "8103")
    again = fieldcat(
        "submit", str(good), "--center", drop_node.url, "--token", drop_node.tokens["pi"]
    )
    assert again.returncode == 0 and "submitted before" in again.stdout
    anonymous = fieldcat("submit", str(good), "--center", drop_node.url)
    assert anonymous.returncode == 1 and "sign in" in anonymous.stdout.lower()
