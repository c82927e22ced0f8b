"""E-mail intake: one received message becomes a report, products or submissions of a user.

The message is attributed by the secret plus-part of the address it was sent to
(`intake+TOKEN@host`, `catalog.drops`), never by its From line. Without a valid token it is
held for staff, whole, and nothing else happens. With one, the subject says what it is:

- `report YYMMDD.PROJECT-KIND` files the text body as a report (KIND `daily` or `status`);
- `product YYMMDDHHMM.NAME` files each attachment as product `SOURCE.YYMMDDHHMM.NAME.EXT`
  (SOURCE and EXT from the attachment's own file name);
- `data` sends each attachment through the submission pipeline, as an upload would.

Mail whose From line is a registered user's address but came without the personal address
is held all the same; that user gets a signed link at their registered address that files it
(`catalog.held_mail`), so a forger, who does not read the owner's mail, gets nothing filed.

The user gets the validation reports, or the receipt, or why the message was refused (too
many parts or attachments, nested too deep, a subject that says nothing), through the outbox.
"""

from __future__ import annotations

import email.policy
import os
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from email.message import EmailMessage, Message
from email.parser import BytesParser
from email.utils import parseaddr
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from catalog.drops import user_for_drop_token
from catalog.errors import CatalogError
from catalog.field_reports import REPORT_KINDS, add_report
from catalog.held_mail import (
    CONFIRM_KIND,
    hold_mail,
    may_send_confirmation,
    registered_sender,
    sign_confirmation,
)
from catalog.models import User
from catalog.outbox import queue_mail
from catalog.schemas import Principal, Role
from catalog.storage import ArchiveStore
from submissions.acceptance import SubmitOptions
from submissions.errors import SubmissionError
from submissions.names import sanitise_name
from submissions.pipeline import submit_file

RECEIVER = "mail"
REPORT_SUBJECT = re.compile(r"^report\s+(\d{6})\.([A-Za-z0-9_]+)-([A-Za-z]+)$", re.I)
PRODUCT_SUBJECT = re.compile(r"^product\s+(\d{10})\.([A-Za-z0-9_-]+)$", re.I)
DATA_SUBJECT = re.compile(r"^data$", re.I)


@dataclass(frozen=True)
class MailCaps:
    """What one message may hold (the SMTP receiver caps its size before this)."""

    max_parts: int = 50
    max_depth: int = 4
    max_attachments: int = 10


@dataclass(frozen=True)
class MailDesk:
    """Where the intake files what it receives."""

    sessions: sessionmaker[Session]
    store: ArchiveStore
    center_code: str
    campaign_code: str
    reference_year: int
    """The campaign's year, which places two-digit years of subjects in their century."""
    options: SubmitOptions = field(default_factory=SubmitOptions)
    caps: MailCaps = field(default_factory=MailCaps)
    mailbox: str = "intake"
    now: Callable[[], datetime] = field(default=lambda: datetime.now().astimezone())
    secret: bytes = b""
    """The center's key, which signs the confirmation links of held mail."""
    public_url: str = ""
    """Where users reach the center (the links' base)."""
    confirm_ttl: timedelta = timedelta(days=7)
    """How long a confirmation link is valid."""

    @property
    def held_dir(self) -> Path:
        """Where held messages are kept, whole."""
        return self.store.root / "mail" / "held"


@dataclass
class MailOutcome:
    """What one message became: held, refused with a reason, or filed."""

    action: str
    """`held`, `refused`, `report`, `product` or `data`."""
    user_id: int | None = None
    lines: list[str] = field(default_factory=list)
    held_id: str | None = None


class MessageRefused(Exception):
    """The message is not taken (the reason goes back to its attributed sender)."""


def drop_token_of(recipient: str, mailbox: str) -> str | None:
    """The plus-part of `mailbox+TOKEN@host`, or None for any other address."""
    local = parseaddr(recipient)[1].rpartition("@")[0].lower()
    name, plus, token = local.partition("+")
    return token if plus and name == mailbox.lower() and token else None


def parse_message(raw: bytes, caps: MailCaps) -> EmailMessage:
    """The parsed message; MessageRefused for one with too many parts or nested too deep."""
    message = BytesParser(policy=email.policy.default).parsebytes(raw)
    assert isinstance(message, EmailMessage)
    count = 0

    def walk(part: Message, depth: int) -> None:
        nonlocal count
        count += 1
        if count > caps.max_parts:
            raise MessageRefused(f"the message has more than {caps.max_parts} MIME parts")
        if depth > caps.max_depth:
            raise MessageRefused(f"the message nests parts more than {caps.max_depth} deep")
        if part.is_multipart():
            for child in part.get_payload():
                if isinstance(child, Message):
                    walk(child, depth + 1)

    walk(message, 0)
    return message


def attachments(message: EmailMessage, caps: MailCaps) -> list[tuple[str, bytes]]:
    """(file name, bytes) of each attachment; MessageRefused over the attachment cap."""
    found: list[tuple[str, bytes]] = []
    for part in message.iter_attachments():
        name = part.get_filename()
        if not name:
            continue
        payload = part.get_payload(decode=True)
        found.append((name, payload if isinstance(payload, bytes) else b""))
        if len(found) > caps.max_attachments:
            raise MessageRefused(f"the message has more than {caps.max_attachments} attachments")
    return found


def text_body(message: EmailMessage) -> str:
    """The plain-text body (empty if there is none)."""
    part = message.get_body(preferencelist=("plain",))
    return "" if part is None else str(part.get_content()).strip()


def _day(stamp: str, reference_year: int) -> date:
    century = reference_year - reference_year % 100
    year = century + int(stamp[:2])
    year += -100 if year > reference_year + 50 else 100 if year < reference_year - 50 else 0
    try:
        return date(year, int(stamp[2:4]), int(stamp[4:6]))
    except ValueError as err:
        raise MessageRefused(f"{stamp} is not a real date (YYMMDD)") from err


def principal_of(user: User) -> Principal:
    """The user as the services' caller."""
    return Principal(user_id=user.id, username=user.username, role=Role(user.role))


class _Filing:
    """Files one attributed message for its user."""

    def __init__(self, desk: MailDesk, user: Principal, message: EmailMessage) -> None:
        self.desk, self.user, self.message = desk, user, message

    def report(self, match: re.Match[str]) -> list[str]:
        stamp, project, kind = match.group(1), match.group(2), match.group(3).lower()
        if kind not in REPORT_KINDS:
            raise MessageRefused(f"the report kind must be one of: {', '.join(REPORT_KINDS)}")
        day = _day(stamp, self.desk.reference_year)
        body = text_body(self.message)
        title = f"{project} {REPORT_KINDS[kind].lower()} {day.isoformat()}"
        with self.desk.sessions() as session, session.begin():
            try:
                report = add_report(
                    session, campaign_code=self.desk.campaign_code,
                    center_code=self.desk.center_code, kind=kind, report_date=day,
                    title=title, body=body, author=self.user, now=self.desk.now(),
                )  # fmt: skip
            except CatalogError as err:
                raise MessageRefused(str(err)) from err
            return [f"filed {REPORT_KINDS[kind].lower()} {report.public_id}: {title}"]

    def files(self, named: list[tuple[str, bytes]]) -> list[str]:
        if not named:
            raise MessageRefused("the message has no attached file")
        lines: list[str] = []
        for name, content in named:
            lines.append(self._submit(name, content))
        return lines

    def products(self, match: re.Match[str]) -> list[str]:
        stamp, product = match.group(1), match.group(2).replace("-", "_")
        named = []
        for name, content in attachments(self.message, self.desk.caps):
            base = sanitise_name(Path(name).name)
            source, _, rest = base.partition(".")
            ext = rest.rsplit(".", 1)[-1].lower() if rest else ""
            named.append((f"{source}.{stamp}.{product}.{ext}", content))
        return self.files(named)

    def _submit(self, name: str, content: bytes) -> str:
        fd, temp = tempfile.mkstemp(dir=self.desk.store.root, prefix=".mail-", suffix=".part")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(content)
            try:
                result = submit_file(
                    self.desk.sessions, self.desk.store, source=Path(temp), original_name=name,
                    submitter=self.user, center_code=self.desk.center_code,
                    campaign=self.desk.campaign_code, receiver=RECEIVER,
                    options=self.desk.options, now=self.desk.now(),
                )  # fmt: skip
            except SubmissionError as err:
                return f"{name}: refused: {err}"
            return result.report_text
        finally:
            Path(temp).unlink(missing_ok=True)


def _file(desk: MailDesk, user: Principal, message: EmailMessage) -> tuple[str, list[str]]:
    subject = " ".join(str(message.get("Subject", "")).split())
    filing = _Filing(desk, user, message)
    if match := REPORT_SUBJECT.match(subject):
        return "report", filing.report(match)
    if match := PRODUCT_SUBJECT.match(subject):
        return "product", filing.products(match)
    if DATA_SUBJECT.match(subject):
        return "data", filing.files(attachments(message, desk.caps))
    raise MessageRefused(
        "the subject must be `report YYMMDD.PROJECT-KIND`, `product YYMMDDHHMM.NAME` or `data`"
    )


def _hold(desk: MailDesk, raw: bytes, sender: str, recipient: str, reason: str) -> MailOutcome:
    desk.held_dir.mkdir(parents=True, exist_ok=True)
    subject = ""
    try:
        subject = str(BytesParser(policy=email.policy.default).parsebytes(raw, True)["Subject"])
    except Exception:  # a header we cannot read is kept as raw bytes all the same
        subject = ""
    with desk.sessions() as session, session.begin():
        owner = registered_sender(session, sender)
        if owner is not None:
            reason += "; a confirmation link went to the registered address"
        held = hold_mail(session, sender=sender, recipient=recipient, subject=subject or "",
                         reason=reason, path="", size=len(raw), now=desk.now())  # fmt: skip
        target = desk.held_dir / f"{held.public_id}.eml"
        target.write_bytes(raw)
        held.path = str(target.relative_to(desk.store.root))
        if (
            owner is not None
            and desk.secret
            and may_send_confirmation(session, owner.email, desk.now())
        ):
            _ask_confirmation(desk, session, held.public_id, held.subject, owner)
        return MailOutcome("held", held_id=held.public_id)


def _ask_confirmation(
    desk: MailDesk, session: Session, held_id: str, subject: str, owner: User
) -> None:
    """Send the registered owner of the From address a signed link that files the message."""
    signed = sign_confirmation(desk.secret, held_id, owner.id, desk.now() + desk.confirm_ttl)
    link = f"{desk.public_url}/mail/confirm/{held_id}?{signed.query()}"
    hours = int(desk.confirm_ttl.total_seconds() // 3600)
    body = (
        f"A message from your address reached the FieldCat intake of {desk.center_code} "
        f"without your personal address:\n\n  {subject or '(no subject)'}\n\n"
        f"If you sent it, sign in as {owner.username} and confirm it within {hours} hours:\n\n"
        f"  {link}\n\nIf you did not, ignore this mail: nothing is filed without you.\n"
    )
    queue_mail(session, owner.email, f"FieldCat {desk.center_code}: confirm your message",
               body, desk.now(), kind=CONFIRM_KIND)  # fmt: skip


def file_as(desk: MailDesk, raw: bytes, principal: Principal, reply_to: str) -> MailOutcome:
    """File one message for `principal` (its drop address or a confirmation proved it) and
    queue the reply to `reply_to`."""
    try:
        message = parse_message(raw, desk.caps)
        subject = " ".join(str(message.get("Subject", "")).split())
        action, lines = _file(desk, principal, message)
    except MessageRefused as err:
        action, lines, subject = "refused", [f"Your message was not taken: {err}."], "(refused)"
    with desk.sessions() as session, session.begin():
        queue_mail(session, reply_to, f"FieldCat {desk.center_code}: {action}: {subject}",
                   "\n\n".join(lines) + "\n", desk.now(), kind="mail-intake")  # fmt: skip
    return MailOutcome(action, principal.user_id, lines)


def take_message(desk: MailDesk, raw: bytes, sender: str, recipient: str) -> MailOutcome:
    """File one received message for the user its drop address names, or hold it for staff."""
    token = drop_token_of(recipient, desk.mailbox)
    with desk.sessions() as session:
        user = user_for_drop_token(session, token) if token else None
        principal = None if user is None else principal_of(user)
        reply_to = "" if user is None else (user.email or parseaddr(sender)[1])
    if principal is None:
        reason = "no drop address" if token is None else "unknown or revoked drop address"
        return _hold(desk, raw, sender, recipient, f"{reason}: the sender is not proven")
    return file_as(desk, raw, principal, reply_to)
