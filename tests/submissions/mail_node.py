"""The e-mail intake's test node: a real `fieldcat serve` with the mail intake, the FTP drop
and the watched folder on, its replies relayed to a real SMTP server (aiosmtpd) whose inbox
the tests read; users `pi`, `pi2` (PIs) and `staff`, each with an API token."""

from __future__ import annotations

import ftplib
import io
import signal
import smtplib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

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
from tests.mail_relay import Inbox
from web.settings import Settings

PI_MAIL = "ramanathan@ucsd.example"


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


def serve_mail_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
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
        FIELDCAT_SUBMISSIONS__MAIL__MAX_PARTS="12", FIELDCAT_SUBMISSIONS__MAIL__MAX_DEPTH="3",
        FIELDCAT_SUBMISSIONS__WATCH__ENABLED="true",
        FIELDCAT_SUBMISSIONS__WATCH__POLL_INTERVAL_S="0.2",
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


def ftp_put(served: Served, name: str, content: bytes, user: str = "", password: str = "") -> None:
    ftp = ftplib.FTP()
    ftp.connect("127.0.0.1", served.ftp_port, timeout=10)
    ftp.login(user, password) if user else ftp.login()
    ftp.storbinary(f"STOR {name}", io.BytesIO(content))
    ftp.quit()
