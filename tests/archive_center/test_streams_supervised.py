"""Supervised receivers in one process over a real center (SQLite, the real intake): a TCP
stream whose thread is killed comes back and loses or doubles no line; stop then start keeps
the day's dataset continuous; senders outside the sources or without the token are refused;
a serial stream (pty pair) resumes after its port is yanked; the FTP drop killed by an
injected error serves again; a receiver that keeps dying backs off."""

from __future__ import annotations

import ftplib
import os
import pty
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from archive_center.app import prepare_node
from archive_center.receivers import FtpReceiver, build_receivers
from catalog.db import make_engine, make_session_factory
from catalog.receiver_control import control, seen_all
from catalog.schemas import Principal, Role
from submissions.day_stream import day_did
from submissions.stream_receivers import SerialLineReceiver, TcpLineReceiver
from submissions.supervisor import Supervisor
from tests.archive_center.fieldcat_process import free_ports
from tests.archive_center.stream_feed import START, LineSender, day_version, met_line
from web.settings import Settings

PROFILES = Path(__file__).resolve().parents[1] / "fixtures" / "profiles"
STAFF = Principal(username="staff", role=Role.STAFF)
DID = str(day_did(710, START.date()))


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    root = tmp_path_factory.mktemp("streams")
    master, slave = pty.openpty()
    base = free_ports(5)
    settings = Settings(
        root=root, profiles_dir=PROFILES,
        streams=[
            {"name": "met", "kind": "tcp", "profile": "kco_cr1000_met", "port": base,
             "version_every_s": 0.3},
            {"name": "locked", "kind": "tcp", "profile": "kco_cr1000_met", "port": base + 1,
             "sources": ["10.9.9.9"], "did": 711},
            {"name": "tokened", "kind": "tcp", "profile": "kco_cr1000_met", "port": base + 2,
             "token": "s3cret", "did": 712},
            {"name": "serial", "kind": "serial", "profile": "kco_cr1000_met", "did": 713,
             "device": os.ttyname(slave), "baudrate": 19200, "version_every_s": 0.3},
            {"name": "pushed", "kind": "http", "profile": "kco_cr1000_met", "port": base + 4,
             "token": "push-token", "did": 714, "version_every_s": 0.3,
             "header": {"location": "Hanimaadhoo; 6.776N 73.183E", "platform": "HAN"}},
            {"name": "gps-files", "kind": "folder", "profile": "rhb_gps_nmea"},
        ],
        submissions={"ftp": {"enabled": True, "port": base + 3},
                     "watch": {"poll_interval_s": 0.1, "stable_polls": 1}},
    )  # fmt: skip
    prepare_node(settings)
    engine = make_engine(settings.effective_database_url)
    sessions = make_session_factory(engine)
    supervisor = Supervisor(build_receivers(settings, engine), sessions, poll_s=0.05)
    stop = threading.Event()
    thread = threading.Thread(target=supervisor.run, args=(stop,), daemon=True)
    thread.start()
    for port in (base, base + 1, base + 2, base + 4):  # every network stream listening
        _wait(lambda port=port: _listening(port))
    try:
        yield {"supervisor": supervisor, "sessions": sessions, "base": base, "pty": master,
               "root": root}  # fmt: skip
    finally:
        stop.set()
        thread.join(timeout=30)
        os.close(master)
        os.close(slave)
        engine.dispose()


def _listening(port: int) -> bool:
    """Whether something accepts connections on this loopback port (a receiver binds its
    socket in its own thread, a moment after the supervisor starts it)."""
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return False
    return True


def _receiver(node: dict[str, Any], name: str) -> Any:
    return node["supervisor"].slots[name].receiver


def _wait(condition: Any, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def _rows(node: dict[str, Any], stream: str) -> list[str]:
    path = node["root"] / "streams" / stream / f"{START.date().isoformat()}.rows"
    return path.read_text().splitlines() if path.exists() else []


def _version(sessions: sessionmaker[Session], did: str) -> str | None:
    with sessions() as session:
        return day_version(session, did)


def test_a_killed_tcp_receiver_comes_back_without_losing_or_doubling_a_line(
    node: dict[str, Any],
) -> None:
    receiver: TcpLineReceiver = _receiver(node, "met")
    _wait(receiver.alive)
    sender = LineSender("127.0.0.1", node["base"])
    answers = []
    for i in range(40):
        if i in (12, 27):
            receiver.interrupt()  # its listening socket and connections vanish: the thread dies
        answers.append(sender.send(met_line(i)))
    sender.close()
    assert answers == ["ok"] * 40
    assert sender.reconnects >= 2
    rows = _rows(node, "met")
    assert [r.split()[0] for r in rows] == [f"1999-03-01T00:00:{i:02d}Z" for i in range(40)], (
        "every line once, in order"
    )
    assert node["supervisor"].slots["met"].restarts >= 2
    _wait(lambda: _version(node["sessions"], DID) == "1.0.40")
    with node["sessions"]() as session:
        seen = {s.name: s for s in seen_all(session)}
    assert seen["met"].restarts >= 2 and seen["met"].state == "running"


def test_stop_then_start_keeps_the_days_dataset_continuous(node: dict[str, Any]) -> None:
    sessions = node["sessions"]
    sender = LineSender("127.0.0.1", node["base"], deadline_s=2)
    assert sender.send(met_line(40)) == "ok"
    sender.close()
    with sessions() as session, session.begin():
        control(session, "met", "stop", actor=STAFF, label="staff", now=datetime.now(UTC))
    _wait(lambda: node["supervisor"].slots["met"].state == "stopped")
    with pytest.raises(OSError):
        LineSender("127.0.0.1", node["base"], deadline_s=0.3).send(met_line(41))
    _wait(lambda: _version(sessions, DID) == "1.0.41")  # what came before the stop is kept
    with sessions() as session, session.begin():
        control(session, "met", "start", actor=STAFF, label="staff", now=datetime.now(UTC))
    sender = LineSender("127.0.0.1", node["base"])
    assert [sender.send(met_line(i)) for i in range(41, 45)] == ["ok"] * 4
    sender.close()
    _wait(lambda: _version(sessions, DID) == "1.0.45")
    assert len(_rows(node, "met")) == 45


def test_an_unknown_column_or_a_backward_time_is_refused_with_the_line(
    node: dict[str, Any],
) -> None:
    sender = LineSender("127.0.0.1", node["base"])
    extra = met_line(45) + ",812.5"
    backwards = met_line(3)
    first = sender.send(extra)
    second = sender.send(backwards)
    sender.close()
    assert first.startswith("refused PRF001") and extra in first
    assert second.startswith("refused PRF003") and backwards in second
    refused = (node["root"] / "streams" / "met").glob("*.refused.txt")
    text = "".join(path.read_text() for path in refused)
    assert extra in text and backwards in text
    assert len(_rows(node, "met")) == 45, "never appended"


def test_senders_outside_the_sources_or_without_the_token_are_refused(
    node: dict[str, Any],
) -> None:
    with socket.create_connection(("127.0.0.1", node["base"] + 1), timeout=5) as conn:
        try:
            conn.sendall(met_line(0).encode() + b"\n")
            answer = conn.recv(100)
        except ConnectionResetError:
            answer = b""
        assert answer == b"", "closed without an answer"
    with socket.create_connection(("127.0.0.1", node["base"] + 2), timeout=5) as conn:
        conn.sendall(met_line(0).encode() + b"\n")
        assert conn.recv(100).startswith(b"refused token")
    tokened = LineSender("127.0.0.1", node["base"] + 2, token="s3cret")
    assert tokened.send(met_line(0)) == "ok"
    tokened.close()
    assert _rows(node, "locked") == []
    assert len(_rows(node, "tokened")) == 1


def test_a_serial_stream_resumes_after_its_port_is_yanked(node: dict[str, Any]) -> None:
    receiver: SerialLineReceiver = _receiver(node, "serial")
    _wait(receiver.alive)
    master = node["pty"]
    for i in range(10):
        os.write(master, (met_line(i) + "\r\n").encode())
    _wait(lambda: len(_rows(node, "serial")) == 10)
    restarts = node["supervisor"].slots["serial"].restarts
    port = receiver._port
    assert port is not None
    port.close()  # type: ignore[attr-defined]  # the device goes away under the reader
    slot = node["supervisor"].slots["serial"]
    _wait(lambda: slot.restarts == restarts + 1 and receiver._port is not port)
    # A serial line keeps nothing while its port is closed (pyserial flushes on open, a UART
    # drops what nobody reads): the logger goes on once the port is open again.
    for i in range(10, 20):
        os.write(master, (met_line(i) + "\r\n").encode())
    _wait(lambda: len(_rows(node, "serial")) == 20)
    assert node["supervisor"].slots["serial"].restarts == restarts + 1
    assert [r.split()[0][-3:-1] for r in _rows(node, "serial")] == [f"{i:02d}" for i in range(20)]
    _wait(lambda: _version(node["sessions"], str(day_did(713, START.date()))) == "1.0.20")


def test_the_ftp_drop_killed_by_an_injected_error_comes_back(node: dict[str, Any]) -> None:
    receiver: FtpReceiver = _receiver(node, "ftp")
    _wait(receiver.alive)
    drop = receiver.drop
    assert drop is not None

    def broken(*_args: object, **_kw: object) -> None:
        raise RuntimeError("injected")

    drop.server.ioloop.loop = broken  # type: ignore[method-assign]
    _wait(lambda: receiver.drop is not drop and receiver.alive())
    assert node["supervisor"].slots["ftp"].restarts >= 1
    with ftplib.FTP() as ftp:
        ftp.connect("127.0.0.1", node["base"] + 3, timeout=5)
        assert ftp.login().startswith("230")


def test_a_day_closes_when_the_next_begins_and_a_restart_resumes_it(tmp_path: Path) -> None:
    from formats.profiles import load_profile
    from submissions.day_stream import DayStream

    taken: list[tuple[str, str]] = []

    def take(path: Path, name: str) -> Any:
        taken.append((name, path.read_text()))
        return type("Result", (), {"accepted": True, "report_text": ""})()

    profile = load_profile(PROFILES / "campbell_met.toml")
    day = DayStream("met", profile, tmp_path, take, did=710, every_s=0)
    late = datetime(1999, 3, 1, 23, 59, 58, tzinfo=UTC)
    for i in range(2):
        assert day.append(met_line(i, start=late)) is None
    day.publish_due()
    restarted = DayStream("met", profile, tmp_path, take, did=710, every_s=0)
    assert restarted.append(met_line(1, start=late)) is None, "a resend is dropped"
    assert restarted.append(met_line(2, start=late)) is None  # 00:00:00 the next day
    restarted.publish_due()
    _wait(lambda: len(taken) == 2)
    names = [name for name, _ in taken]
    assert names == ["met_19990301.txt", "met_19990302.txt"]
    first_day, next_day = taken[0][1], taken[1][1]
    assert "DID = 71019990301" in first_day and "DATA VERSION = 1.0.2" in first_day
    assert "DID = 71019990302" in next_day and "DATA VERSION = 1.0.1" in next_day
    assert (tmp_path / "1999-03-01.rows").read_text().count("\n") == 2


def test_a_receiver_that_keeps_dying_backs_off(tmp_path: Path) -> None:
    from formats.profiles import load_profile
    from submissions.day_stream import DayStream

    profile = load_profile(PROFILES / "campbell_met.toml")
    day = DayStream("gone", profile, tmp_path, lambda p, n: None, did=1, every_s=1)  # type: ignore[arg-type, return-value]
    receiver = SerialLineReceiver("gone", day, str(tmp_path / "no-such-tty"), 9600)
    supervisor = Supervisor([(receiver, True)], None, poll_s=0.02)
    stop = threading.Event()
    thread = threading.Thread(target=supervisor.run, args=(stop,), daemon=True)
    thread.start()
    time.sleep(1.6)  # back-offs of 0.2, 0.4, 0.8 s: three or four restarts, not dozens
    stop.set()
    thread.join(timeout=10)
    slot = supervisor.slots["gone"]
    assert 2 <= slot.restarts <= 5
    assert "no-such-tty" in receiver.detail()


def test_http_push_takes_lines_only_with_the_token(node: dict[str, Any]) -> None:
    import httpx

    url = f"http://127.0.0.1:{node['base'] + 4}/lines"
    _wait(_receiver(node, "pushed").alive)
    body = "\n".join(met_line(i) for i in range(5)) + "\n"
    refused = httpx.post(url, content=body, headers={"Authorization": "Bearer wrong"})
    assert refused.status_code == 403 and _rows(node, "pushed") == []
    bad = met_line(5) + ",1"
    taken = httpx.post(url, content=body + bad, headers={"Authorization": "Bearer push-token"})
    assert taken.status_code == 200
    assert [r["code"] for r in taken.json()["refused"]] == ["PRF001"]
    assert len(_rows(node, "pushed")) == 5
    did = str(day_did(714, START.date()))
    _wait(lambda: _version(node["sessions"], did) == "1.0.5")
    from sqlalchemy import select

    from catalog.models import Dataset

    with node["sessions"]() as session:
        dataset = session.scalars(select(Dataset).where(Dataset.did == did)).one()
        assert (dataset.platform, dataset.location) == ("HAN", "Hanimaadhoo; 6.776N 73.183E")


def test_a_folder_stream_takes_raw_files_by_its_profile(node: dict[str, Any]) -> None:
    raw = PROFILES.parent / "raw" / "rhb_19990305.nmea"
    folder = node["root"] / "streams" / "gps-files"
    _wait(_receiver(node, "gps-files").alive)
    (folder / raw.name).write_bytes(raw.read_bytes())
    lines = raw.read_text().splitlines()
    lines[3] = lines[3].replace("120010.00", "115950.00")  # a time going backwards
    (folder / "broken.nmea").write_text("\n".join(lines) + "\n")
    _wait(lambda: (folder / "done" / raw.name).exists(), timeout=20)
    _wait(lambda: (folder / "rejected" / "broken.nmea").exists(), timeout=20)
    report = (folder / "rejected" / "broken.nmea.report.txt").read_text()
    assert "broken.nmea:4:" in report and "PRF003" in report and "115950.00" in report
    assert _version(node["sessions"], "720") == "1.0"
