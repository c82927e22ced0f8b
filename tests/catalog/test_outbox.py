"""The outbox: mail queued with its event reaches a real SMTP relay (aiosmtpd), once; a relay
that is down is retried with back-off and the error is kept; dedupe keys hold."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import timedelta

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import Engine, select

from catalog.db import make_session_factory
from catalog.notice_models import OutgoingMail
from catalog.outbox import MailRelay, pending_count, queue_mail, send_due
from tests.catalog.conftest import NOW, wipe
from tests.mail_relay import Inbox


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def relay() -> Iterator[tuple[MailRelay, Inbox]]:
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    try:
        yield MailRelay(host="127.0.0.1", port=controller.port, sender="joss@fieldcat.test"), inbox
    finally:
        controller.stop()


@pytest.fixture
def clean(engine: Engine) -> Iterator[Engine]:
    wipe(engine)
    yield engine
    wipe(engine)


def _queue(engine: Engine, *mails: tuple[str, str, str | None]) -> list[bool]:
    queued = []
    with make_session_factory(engine)() as session, session.begin():
        for recipient, subject, key in mails:
            row = queue_mail(session, recipient, subject, f"body of {subject}", NOW, dedupe_key=key)
            queued.append(row is not None)
    return queued


def test_queued_mail_reaches_the_relay_once(clean: Engine, relay: tuple[MailRelay, Inbox]) -> None:
    smtp, inbox = relay
    queued = _queue(
        clean,
        ("pi@example.org", "Access approved", None),
        ("owner@example.org", "Released: DID 31", "release:31"),
        ("other@example.org", "Released: DID 31", "release:31"),
        ("not an address", "dropped", None),
    )
    assert queued == [True, True, False, False]
    assert send_due(clean, smtp, NOW) == 2
    assert send_due(clean, smtp, NOW + timedelta(hours=1)) == 0
    assert sorted(m["To"] for m in inbox.messages) == ["owner@example.org", "pi@example.org"]
    approved = next(m for m in inbox.messages if m["To"] == "pi@example.org")
    assert approved["Subject"] == "Access approved"
    assert approved["From"] == "joss@fieldcat.test"
    assert "body of Access approved" in approved.get_payload()
    with make_session_factory(clean)() as session:
        assert pending_count(session) == 0


def test_a_relay_that_is_down_is_retried_with_backoff(
    clean: Engine, relay: tuple[MailRelay, Inbox]
) -> None:
    smtp, inbox = relay
    down = MailRelay(host="127.0.0.1", port=_free_port(), backoff_base_s=60, timeout_s=2)
    _queue(clean, ("pi@example.org", "Report", None))
    assert send_due(clean, down, NOW) == 0
    with make_session_factory(clean)() as session:
        mail = session.scalars(select(OutgoingMail)).one()
        assert mail.attempts == 1
        assert mail.sent_at is None
        assert "ConnectionRefusedError" in mail.last_error
        assert mail.next_attempt_at == NOW + timedelta(seconds=60)
    # Not due yet: the working relay sends nothing before the back-off ends, then sends it.
    assert send_due(clean, smtp, NOW + timedelta(seconds=30)) == 0
    assert send_due(clean, smtp, NOW + timedelta(seconds=61)) == 1
    assert [m["Subject"] for m in inbox.messages] == ["Report"]


def test_without_a_relay_mail_waits(clean: Engine) -> None:
    _queue(clean, ("pi@example.org", "Waiting", None))
    assert send_due(clean, None, NOW) == 0
    with make_session_factory(clean)() as session:
        assert pending_count(session) == 1


def test_a_header_injection_in_the_subject_is_flattened(
    clean: Engine, relay: tuple[MailRelay, Inbox]
) -> None:
    smtp, inbox = relay
    _queue(clean, ("pi@example.org", "Hello\r\nBcc: victim@example.org", None))
    assert send_due(clean, smtp, NOW) == 1
    (message,) = inbox.messages
    assert message["Bcc"] is None
    assert message["Subject"] == "Hello Bcc: victim@example.org"
