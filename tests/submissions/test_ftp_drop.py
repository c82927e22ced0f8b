"""The FTP drop, driven with ftplib: files land and are taken in; every attack is refused."""

from __future__ import annotations

import ftplib
import io
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from catalog.schemas import Principal
from catalog.storage import ArchiveStore
from catalog.submission_models import Submission
from submissions.acceptance import SubmitOptions
from submissions.ftp_drop import FtpDrop, FtpDropConfig
from submissions.pipeline import SubmissionResult, submit_file
from tests.submissions.conftest import NOW

CAP = 64 * 1024


@pytest.fixture
def drop(
    session_factory: sessionmaker[Session], store: ArchiveStore
) -> Iterator[tuple[FtpDrop, list[SubmissionResult]]]:
    results: list[SubmissionResult] = []
    used = [0]

    def take(path: Path) -> None:
        used[0] += path.stat().st_size
        results.append(
            submit_file(
                session_factory, store, source=path, original_name=path.name,
                submitter=Principal(username="ftp-drop"), center_code="JOSS",
                campaign="INDOEX", receiver="ftp", options=SubmitOptions(), now=NOW,
            )
        )  # fmt: skip

    config = FtpDropConfig(
        directory=store.incoming_dir / "ftp", port=0, max_file_bytes=CAP,
        daily_quota_bytes=CAP * 3,
    )  # fmt: skip
    server = FtpDrop(config, take, lambda: used[0])
    server.start()
    try:
        yield server, results
    finally:
        server.stop()


def connect(server: FtpDrop) -> ftplib.FTP:
    ftp = ftplib.FTP()
    host, port = server.address
    ftp.connect(host, port, timeout=10)
    ftp.login()  # anonymous
    return ftp


def wait_for(results: list[SubmissionResult], count: int, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while len(results) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(results) >= count, "the upload was not taken in"


def test_an_uploaded_file_is_taken_in(drop, samples: Path, db: Session) -> None:  # type: ignore[no-untyped-def]
    server, results = drop
    ftp = connect(server)
    content = (samples / "valid" / "kco_surface_hourly.txt").read_bytes()
    assert ftp.storbinary("STOR kco.txt", io.BytesIO(content)).startswith("226")
    ftp.quit()
    wait_for(results, 1)
    assert results[0].state == "registered", results[0].report_text
    row = db.scalars(select(Submission)).one()
    assert row.receiver == "ftp" and row.state == "registered"
    deadline = time.monotonic() + 5
    while list(server.directory.iterdir()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert list(server.directory.iterdir()) == []


def test_listing_retrieving_and_climbing_out_are_refused(drop, samples: Path) -> None:  # type: ignore[no-untyped-def]
    server, _ = drop
    (server.directory / "secret.txt").write_text("someone else's upload")
    ftp = connect(server)
    for label, attempt in enumerate(
        (
            lambda: ftp.nlst(),
            lambda: ftp.retrlines("LIST"),
            lambda: ftp.retrbinary("RETR secret.txt", lambda b: None),
            lambda: ftp.cwd(".."),
            lambda: ftp.cwd("/"),
            lambda: ftp.size("secret.txt"),
            lambda: ftp.mkd("sub"),
            lambda: ftp.delete("secret.txt"),
            lambda: ftp.rename("secret.txt", "x.txt"),
            lambda: ftp.storbinary("STOR ../../escape.txt", io.BytesIO(b"x")),
            lambda: ftp.storbinary("STOR sub/x.txt", io.BytesIO(b"x")),
            lambda: ftp.storbinary("APPE secret.txt", io.BytesIO(b"more")),
            lambda: ftp.storbinary("STOU", io.BytesIO(b"x")),
        )
    ):
        with pytest.raises(ftplib.error_perm):
            attempt()
            print("not refused:", label)
    ftp.quit()
    root = server.directory.parent.parent
    assert not (root / "escape.txt").exists() and not (root.parent / "escape.txt").exists()
    assert (server.directory / "secret.txt").read_text() == "someone else's upload"


def test_overwrite_and_resume_are_refused(drop) -> None:  # type: ignore[no-untyped-def]
    server, _ = drop
    (server.directory / "waiting.txt").write_text("first")
    ftp = connect(server)
    with pytest.raises(ftplib.error_perm):
        ftp.storbinary("STOR waiting.txt", io.BytesIO(b"second"))
    with pytest.raises(ftplib.error_perm):
        ftp.storbinary("STOR other.txt", io.BytesIO(b"tail"), rest=3)
    ftp.quit()
    assert (server.directory / "waiting.txt").read_text() == "first"
    assert not (server.directory / "other.txt").exists()


def refused(ftp: ftplib.FTP, name: str, data: bytes) -> str | None:
    """None when stored; else why (552 reply, or the data connection cut while sending)."""
    try:
        ftp.storbinary(f"STOR {name}", io.BytesIO(data))
    except ftplib.error_perm as err:
        return str(err)
    except (ConnectionResetError, BrokenPipeError, ftplib.error_temp) as err:
        return f"cut off: {err}"
    return None


def test_per_file_cap_and_daily_quota(drop, samples: Path) -> None:  # type: ignore[no-untyped-def]
    server, results = drop
    ftp = connect(server)
    why = refused(ftp, "big.txt", b"x" * (CAP * 4))
    assert why is not None and ("limit" in why or "cut off" in why), why
    time.sleep(0.3)
    assert [p.name for p in server.directory.iterdir()] == [], "partial bytes vanish"
    content = (samples / "valid" / "kco_surface_hourly.txt").read_bytes()
    sent = 0
    for i in range(10):
        ftp = connect(server)  # a cut data connection may leave the control one unusable
        data = content + b"\n" * (CAP // 2 - len(content) + i)
        why = refused(ftp, f"k{i}.txt", data)
        if why is None:
            sent += 1
            wait_for(results, sent)
            continue
        used = sum(r.size for r in results)
        assert used + len(data) > CAP * 3, f"refused within the quota: {why}"
        break
    else:
        pytest.fail("the daily quota never applied")
    assert sent * (CAP // 2) <= CAP * 3
    time.sleep(0.3)
    assert [p.name for p in server.directory.iterdir()] == []


def test_every_invalid_sample_over_ftp_is_rejected_and_changes_nothing(  # type: ignore[no-untyped-def]
    drop, samples: Path, db: Session
) -> None:
    from sqlalchemy import func

    from catalog.models import Dataset

    server, results = drop
    server.config = FtpDropConfig(directory=server.directory, port=0)  # no cap for this one
    names = sorted(p.name for p in (samples / "invalid").iterdir())
    ftp = connect(server)
    for name in names:
        ftp.storbinary(f"STOR {name}", io.BytesIO((samples / "invalid" / name).read_bytes()))
    ftp.quit()
    wait_for(results, len(names))
    assert {r.state for r in results} == {"rejected"}
    assert all(r.report["diagnostics"] for r in results)
    assert db.scalar(select(func.count()).select_from(Dataset)) == 0


def test_allo_declares_the_size_and_size_answers_own_uploads(drop, samples: Path) -> None:  # type: ignore[no-untyped-def]
    server, results = drop
    content = (samples / "valid" / "kco_surface_hourly.txt").read_bytes()
    ftp = connect(server)
    with pytest.raises(ftplib.error_perm, match="501"):
        ftp.sendcmd("ALLO lots")
    with pytest.raises(ftplib.error_perm, match="552"):
        ftp.sendcmd(f"ALLO {CAP + 1}")  # more than the drop takes: refused before any byte
    ftp.sendcmd(f"ALLO {len(content) - 1}")
    with pytest.raises(ftplib.error_temp, match="451"):
        ftp.storbinary("STOR short.txt", io.BytesIO(content))
    ftp.quit()
    ftp = connect(server)
    ftp.voidcmd("TYPE I")
    assert ftp.sendcmd(f"ALLO {len(content)}").startswith("200")
    assert ftp.storbinary("STOR exact.txt", io.BytesIO(content)).startswith("226")
    assert ftp.size("exact.txt") == len(content)
    with pytest.raises(ftplib.error_perm):
        ftp.size("short.txt")  # discarded: nothing to answer for
    ftp.quit()
    wait_for(results, 1)
    time.sleep(0.3)
    assert [r.state for r in results] == ["registered"]
    assert list(server.directory.iterdir()) == []
