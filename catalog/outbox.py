"""The outbox: e-mail queued with the event it reports, handed to the relay by the worker.

`queue_mail` adds a message inside the caller's transaction. `send_due` (the worker, every
poll) sends what is due through `MailRelay`, one message per transaction, and backs off
exponentially on a relay error (`mail.backoff_base_s`, doubling, capped at one day) up to
`mail.max_attempts`; a message is never sent twice by one worker, and a crash between the
relay's acceptance and the commit can at worst send it once more (at-least-once delivery,
as every mail system). Without a relay (`mail.relay_host` empty) messages wait in the outbox.
"""

from __future__ import annotations

import logging
import smtplib
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import make_msgid

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from catalog.db import make_session_factory
from catalog.notice_models import OutgoingMail

logger = logging.getLogger(__name__)

MAX_BACKOFF = timedelta(days=1)


@dataclass(frozen=True)
class MailRelay:
    """Where and how mail leaves this center (from the `[mail]` settings)."""

    host: str
    port: int = 25
    sender: str = "fieldcat@localhost"
    username: str = ""
    password: str = ""
    starttls: bool = False
    timeout_s: float = 10.0
    max_attempts: int = 8
    backoff_base_s: float = 30.0

    def send(self, message: EmailMessage) -> None:
        """Hand one message to the relay (raises `smtplib.SMTPException` or `OSError`)."""
        with smtplib.SMTP(self.host, self.port, timeout=self.timeout_s) as smtp:
            if self.starttls:
                smtp.starttls()
            if self.username:
                smtp.login(self.username, self.password)
            smtp.send_message(message)


def queue_mail(
    session: Session,
    recipient: str,
    subject: str,
    body: str,
    now: datetime,
    *,
    kind: str = "",
    dedupe_key: str | None = None,
) -> OutgoingMail | None:
    """Queue one message in the caller's transaction; None when `dedupe_key` was queued before
    or the recipient has no address."""
    recipient = recipient.strip()
    if "@" not in recipient or any(c in recipient for c in "\r\n,;<>"):
        return None
    if dedupe_key is not None and session.scalar(
        select(OutgoingMail.id).where(OutgoingMail.dedupe_key == dedupe_key)
    ):
        return None
    mail = OutgoingMail(
        recipient=recipient,
        subject=" ".join(subject.split())[:998],
        body=body,
        kind=kind,
        dedupe_key=dedupe_key,
        created_at=now,
        next_attempt_at=now,
    )
    session.add(mail)
    session.flush()
    return mail


def build_message(mail: OutgoingMail, sender: str) -> EmailMessage:
    """The RFC 5322 message of one outbox row (Message-ID stable per row and sender)."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = mail.recipient
    message["Subject"] = mail.subject
    domain = sender.rpartition("@")[2] or "localhost"
    message["Message-ID"] = make_msgid(idstring=f"outbox{mail.id}", domain=domain)
    message.set_content(mail.body)
    return message


def send_due(engine: Engine, relay: MailRelay | None, now: datetime, limit: int = 50) -> int:
    """Send up to `limit` due messages; return how many the relay accepted."""
    if relay is None:
        return 0
    factory = make_session_factory(engine)
    with factory() as session:
        ids = session.scalars(
            select(OutgoingMail.id)
            .where(
                OutgoingMail.sent_at.is_(None),
                OutgoingMail.next_attempt_at <= now,
                OutgoingMail.attempts < relay.max_attempts,
            )
            .order_by(OutgoingMail.id)
            .limit(limit)
        ).all()
    sent = 0
    for mail_id in ids:
        with factory() as session, session.begin():
            mail = session.get(OutgoingMail, mail_id, with_for_update=True)
            if mail is None or mail.sent_at is not None:
                continue
            mail.attempts += 1
            try:
                relay.send(build_message(mail, relay.sender))
            except (smtplib.SMTPException, OSError) as error:
                delay = timedelta(seconds=relay.backoff_base_s * 2 ** (mail.attempts - 1))
                mail.next_attempt_at = now + min(delay, MAX_BACKOFF)
                mail.last_error = f"{type(error).__name__}: {error}"[:2000]
                logger.warning("mail %s to %s not sent: %s", mail.id, mail.recipient, error)
                continue
            mail.sent_at = now
            mail.last_error = ""
            sent += 1
    return sent


def pending_count(session: Session) -> int:
    """Messages not yet accepted by the relay."""
    from sqlalchemy import func

    return int(
        session.scalar(select(func.count(OutgoingMail.id)).where(OutgoingMail.sent_at.is_(None)))
        or 0
    )
