"""A real `fieldcat serve` with the e-mail intake and the FTP drop on: mail sent with smtplib
files a report, products and a data file for the user its secret address names, and the reply
reaches a second real SMTP server (the relay); unknown senders and forged From lines are held,
adding nothing; a PI's personal FTP login drops files the PI owns and sees."""

from __future__ import annotations

import ftplib
import io
import signal
import smtplib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import message_from_bytes
from email.message import EmailMessage, Message
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import func, select

from archive_center.cli_node import prepare
from catalog.db import make_engine, make_session_factory
from catalog.models import Dataset
from catalog.schemas import Role
from catalog.users import create_user, issue_api_token
from tests.archive_center.fieldcat_process import free_ports, start_fieldcat, stop, wait_ready
from tests.conftest import SAMPLES
from web.settings import Settings

T = TypeVar("T")
PI_MAIL = "ramanathan@ucsd.example"


class Inbox:
    """The relay: every message it accepts."""

    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.original_content))
        return "250 OK"

    def to(self, address: str) -> list[Message]:
        return [m for m in self.messages if m["To"] == address]


@dataclass
class Served:
    url: str
    smtp_port: int
    ftp_port: int
    root: Path
    inbox: Inbox
    headers: dict[str, dict[str, str]] = field(default_factory=dict)
    user_ids: dict[str, int] = field(default_factory=dict)

    def api(self, method: str, path: str, who: str | None = None, **kw: Any) -> httpx.Response:
        headers = self.headers.get(who or "", {})
        return httpx.request(method, self.url + "/api/v1" + path, headers=headers, timeout=30,
                             **kw)  # fmt: skip


def eventually(check: Callable[[], T | None], timeout: float = 20.0) -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if got := check():
            return got
        time.sleep(0.1)
    raise AssertionError("condition not met in time")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    root = tmp_path_factory.mktemp("mailnode")
    settings = Settings(root=root, center_code="JOSS", center_name="JOSS")
    prepare(settings)
    engine = make_engine(settings.effective_database_url)
    served = Served("", 0, 0, root, Inbox())
    with make_session_factory(engine)() as session, session.begin():
        now = datetime.now(UTC)
        for name, role in (("pi", Role.PI), ("staff", Role.STAFF), ("pi2", Role.PI)):
            user = create_user(session, username=name, password="pw-pw-pw-pw", role=role, now=now)
            user.email = PI_MAIL if name == "pi" else f"{name}@joss.example"
            token = issue_api_token(session, user, name="test", now=now)
            served.headers[name] = {"Authorization": f"Bearer {token}"}
            served.user_ids[name] = user.id
    engine.dispose()
    base = free_ports(4)
    relay = Controller(served.inbox, hostname="127.0.0.1", port=base + 2)
    relay.start()
    log = root / "serve.log"
    process = start_fieldcat(
        "serve", log=log, FIELDCAT_ROOT=str(root), FIELDCAT_PORT=str(base),
        FIELDCAT_CENTER_CODE="JOSS", FIELDCAT_CENTER_NAME="JOSS",
        FIELDCAT_SUBMISSIONS__MAIL__ENABLED="true",
        FIELDCAT_SUBMISSIONS__MAIL__PORT=str(base + 1),
        FIELDCAT_SUBMISSIONS__MAIL__DOMAIN="joss.example",
        FIELDCAT_SUBMISSIONS__MAIL__MAX_MESSAGE_BYTES=str(2 << 20),
        FIELDCAT_SUBMISSIONS__MAIL__MAX_ATTACHMENTS="3",
        FIELDCAT_MAIL__RELAY_HOST="127.0.0.1", FIELDCAT_MAIL__RELAY_PORT=str(base + 2),
        FIELDCAT_MAIL__FROM_ADDRESS="fieldcat@joss.example",
        FIELDCAT_SUBMISSIONS__FTP__ENABLED="true", FIELDCAT_SUBMISSIONS__FTP__PORT=str(base + 3),
    )  # fmt: skip
    try:
        served.url, served.smtp_port = f"http://127.0.0.1:{base}", base + 1
        served.ftp_port = base + 3
        wait_ready(f"{served.url}/api/v1/readyz", process, log)
        yield served
    finally:
        stop(process, signal.SIGTERM)
        relay.stop()


def with_did(name: str, did: int) -> bytes:
    text = (SAMPLES / "valid" / name).read_text()
    lines = [f"DID = {did}" if ln.upper().startswith("DID") else ln for ln in text.splitlines()]
    return ("\n".join(lines) + "\n").encode()


def png_bytes() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (300, 200), (30, 90, 160)).save(buffer, format="PNG")
    return buffer.getvalue()


def send(served: Served, to: str, subject: str, body: str = "",
         files: tuple[tuple[str, bytes], ...] = (), sender: str = PI_MAIL) -> None:  # fmt: skip
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender, to, subject
    message.set_content(body or "see attached")
    for name, content in files:
        message.add_attachment(content, maintype="application", subtype="octet-stream",
                               filename=name)  # fmt: skip
    with smtplib.SMTP("127.0.0.1", served.smtp_port, timeout=30) as smtp:
        smtp.send_message(message)


def versions_of(served: Served, did: str) -> int:
    engine = make_engine(Settings(root=served.root).effective_database_url)
    try:
        with make_session_factory(engine)() as session:
            from catalog.models import DatasetVersion

            return int(
                session.scalar(
                    select(func.count(DatasetVersion.id))
                    .join(Dataset, Dataset.id == DatasetVersion.dataset_id)
                    .where(Dataset.did == did)
                )
                or 0
            )
    finally:
        engine.dispose()


def owner_of(served: Served, did: str) -> int | None:
    engine = make_engine(Settings(root=served.root).effective_database_url)
    try:
        with make_session_factory(engine)() as session:
            return session.scalar(select(Dataset.owner_user_id).where(Dataset.did == did))
    finally:
        engine.dispose()


def replied(served: Served, text: str) -> bool:
    """Whether a reply to the PI saying `text` reached the relay."""
    return any(text in str(m.get_payload()) for m in served.inbox.to(PI_MAIL))


@pytest.fixture(scope="module")
def address(served: Served) -> str:
    made = served.api("POST", "/me/drop-address", "pi")
    assert made.status_code == 200, made.text
    assert made.headers["cache-control"] == "no-store"
    return str(made.json()["email"])


def test_a_report_by_mail_is_filed_and_the_receipt_reaches_the_relay(
    served: Served, address: str
) -> None:
    assert address.startswith("intake+") and address.endswith("@joss.example")
    send(served, address, "report 990307.INDOEX-daily", "C-130 RF07 to 8S; Citation at Male.")
    title = "INDOEX daily summary 1999-03-07"

    def filed() -> dict[str, Any] | None:
        items = served.api("GET", "/reports").json()["items"]
        return next((r for r in items if r["title"] == title), None)

    report = eventually(filed)
    assert report["body"] == "C-130 RF07 to 8S; Citation at Male." and report["center"] == "JOSS"
    reply = eventually(lambda: served.inbox.to(PI_MAIL) or None)
    assert any(report["public_id"] in m.get_payload() for m in reply)  # type: ignore[operator]


def test_products_and_data_by_mail_belong_to_the_pi(served: Served, address: str) -> None:
    send(served, address, "product 9903070400.flight-track", files=(("c130.png", png_bytes()),))
    wanted = "c130.9903070400.flight_track.png"

    def listed() -> dict[str, Any] | None:
        items = served.api("GET", "/products", params={"source": "c130"}).json()["items"]
        return next((p for p in items if p["filename"] == wanted), None)

    product = eventually(listed)
    assert httpx.get(served.url + product["links"]["file"]).content == png_bytes()
    send(served, address, "data", files=(("kco.txt", with_did("kco_surface_hourly.txt", 9161)),))
    eventually(lambda: versions_of(served, "9161") == 1)
    assert owner_of(served, "9161") == served.user_ids["pi"]
    mine = served.api("GET", "/submissions", "pi").json()["items"]
    assert any(s["original_name"] == "kco.txt" and s["state"] == "registered" for s in mine)
    eventually(lambda: replied(served, "kco.txt: registered"))


def test_unknown_and_forged_senders_are_held_and_add_nothing(served: Served, address: str) -> None:
    send(served, address, "data", files=(("sk.txt", with_did("sagar_kanya_sounding.txt", 9171)),))
    eventually(lambda: versions_of(served, "9171") == 1)
    forged = with_did("sagar_kanya_sounding.txt", 9171).replace(
        b"DATA VERSION = 1.0", b"DATA VERSION = 2.0"
    )  # a next version the PI's own address would add (checked below)
    # the PI's From line without the secret address, then a guessed token
    send(served, "intake@joss.example", "data", files=(("sk.txt", forged),), sender=PI_MAIL)
    send(served, "intake+0123456789abcdef01234567@joss.example", "data",
         files=(("sk.txt", forged),), sender=PI_MAIL)  # fmt: skip
    held = eventually(
        lambda: (
            (items := served.api("GET", "/mail/held", "staff").json()["items"])
            and len(items) >= 2
            and items
        )
    )
    assert {h["recipient"] for h in held} >= {
        "intake@joss.example", "intake+0123456789abcdef01234567@joss.example"
    }  # fmt: skip
    assert all(h["sender"] == PI_MAIL for h in held)
    page = httpx.get(served.url + "/staff/mail", headers=served.headers["staff"])
    assert page.status_code == 200 and "intake+0123456789abcdef01234567@joss.example" in page.text
    time.sleep(1.0)  # a wrongly filed version would have registered by now
    assert versions_of(served, "9171") == 1
    assert served.api("GET", "/mail/held", "pi").status_code == 403
    assert served.api("GET", "/mail/held").status_code == 401
    send(served, address, "data", files=(("sk.txt", forged),))  # the same file, attributed
    eventually(lambda: versions_of(served, "9171") == 2)


def test_revoked_address_is_held_and_new_one_works(served: Served) -> None:
    first = served.api("POST", "/me/drop-address", "pi2").json()["email"]
    assert served.api("DELETE", "/me/drop-address", "pi2").status_code == 204
    send(served, first, "report 990308.INDOEX-status", "lidar down", sender="pi2@joss.example")
    eventually(
        lambda: any(h["recipient"] == first
                    for h in served.api("GET", "/mail/held", "staff").json()["items"])
    )  # fmt: skip


def test_too_many_attachments_and_oversize_mail_are_refused(served: Served, address: str) -> None:
    files = tuple((f"x{i}.txt", b"x") for i in range(5))
    send(served, address, "data", files=files)
    eventually(lambda: replied(served, "more than 3 attachments"))
    mine = served.api("GET", "/submissions", "pi").json()["items"]
    assert not any(s["original_name"].startswith("x0") for s in mine)
    with pytest.raises(smtplib.SMTPException):
        send(served, address, "data", files=(("big.txt", b"0" * (3 << 20)),))


def ftp_put(served: Served, name: str, content: bytes, user: str = "", password: str = "") -> None:
    ftp = ftplib.FTP()
    ftp.connect("127.0.0.1", served.ftp_port, timeout=10)
    ftp.login(user, password) if user else ftp.login()
    ftp.storbinary(f"STOR {name}", io.BytesIO(content))
    ftp.quit()


def test_a_pis_ftp_drop_is_owned_by_the_pi_and_on_their_submissions_page(
    served: Served, address: str
) -> None:
    token = address.split("+", 1)[1].split("@", 1)[0]
    ftp_put(served, "rhb.txt", with_did("sagar_kanya_sounding.txt", 9181), "drop", token)
    eventually(lambda: versions_of(served, "9181") == 1)
    assert owner_of(served, "9181") == served.user_ids["pi"]
    page = httpx.get(served.url + "/submissions", headers=served.headers["pi"])
    assert page.status_code == 200 and "rhb.txt" in page.text
    other = httpx.get(served.url + "/submissions", headers=served.headers["pi2"])
    assert "rhb.txt" not in other.text
    ftp_put(served, "anon.txt", with_did("sagar_kanya_sounding.txt", 9182))  # anonymous
    eventually(lambda: versions_of(served, "9182") == 1)
    assert owner_of(served, "9182") is None
    with pytest.raises(ftplib.error_perm, match="530"):
        ftp_put(served, "x.txt", b"x", "drop", "0" * 24)
