"""Held mail: what the e-mail intake could not attribute, and what becomes of it.

A message without a valid personal address is kept whole (`HeldMail`), never dropped. It
leaves the queue only by one of three audited decisions, each taken once (the state moves
from `held` in one conditional UPDATE, so two racing decisions cannot both win):

- **confirmed** by its sender: if its From line is a registered user's address, a signed
  link (HMAC-SHA256 with the center's key, bound to the message's id, the user and an expiry)
  goes to that registered address; the user, signed in, follows it and the message is filed
  as theirs (`mail.confirm`);
- **released** by staff to a user they choose (`mail.release`);
- **discarded** by staff with a reason, told to the sender (`mail.discard`).

Messages held longer than the retention period stay listed, flagged; nothing is deleted.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parseaddr
from urllib.parse import urlencode

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from catalog.errors import ConflictError, NotFoundError, RoleRequiredError
from catalog.intake_models import HeldMail
from catalog.models import User
from catalog.notice_models import OutgoingMail
from catalog.schemas import Role

CONFIRM_LABEL = b"fieldcat-held-mail:"
CONFIRM_KIND = "mail-confirm"
SENDING_ROLES = (Role.PI.value, Role.STAFF.value, Role.ADMIN.value)
"""Roles whose mail can be filed (those who may submit)."""
MAX_CONFIRMATIONS_PER_HOUR = 10
"""Confirmation mails one user gets per hour at most (a forger cannot flood the owner)."""


def hold_mail(
    session: Session, *, sender: str, recipient: str, subject: str, reason: str, path: str,
    size: int, now: datetime,
) -> HeldMail:  # fmt: skip
    """Keep an unattributed message for staff (its raw bytes are at `path`)."""
    held = HeldMail(
        sender=sender[:320], recipient=recipient[:320], subject=" ".join(subject.split())[:998],
        reason=reason, path=path, size=size, state="held", received_at=now,
    )  # fmt: skip
    session.add(held)
    session.flush()
    return held


def list_held_mail(session: Session, *, state: str = "held", limit: int = 200) -> list[HeldMail]:
    """Messages in `state`, newest first."""
    query = (
        select(HeldMail)
        .where(HeldMail.state == state)
        .order_by(HeldMail.received_at.desc(), HeldMail.id.desc())
        .limit(max(1, min(limit, 1000)))
    )
    return list(session.scalars(query))


def past_retention(held: HeldMail, now: datetime, retention_days: int) -> bool:
    """Whether a message has waited longer than the retention period (it stays listed)."""
    received = held.received_at
    if received.tzinfo is None and now.tzinfo is not None:
        received = received.replace(tzinfo=now.tzinfo)
    return held.state == "held" and now - received > timedelta(days=retention_days)


def registered_sender(session: Session, sender: str) -> User | None:
    """The one active user whose registered e-mail is this sender's address, else None."""
    address = parseaddr(sender)[1].strip().lower()
    if "@" not in address:
        return None
    users = session.scalars(
        select(User)
        .where(func.lower(User.email) == address, User.active.is_(True))
        .where(User.role.in_(SENDING_ROLES))
        .limit(2)
    ).all()
    return users[0] if len(users) == 1 else None


def may_send_confirmation(session: Session, address: str, now: datetime) -> bool:
    """Whether another confirmation mail may go to `address` this hour."""
    sent = session.scalar(
        select(func.count(OutgoingMail.id)).where(
            OutgoingMail.recipient == address.strip(),
            OutgoingMail.kind == CONFIRM_KIND,
            OutgoingMail.created_at > now - timedelta(hours=1),
        )
    )
    return int(sent or 0) < MAX_CONFIRMATIONS_PER_HOUR


@dataclass(frozen=True)
class Confirmation:
    """A signed confirmation of one held message by one user, valid until `expires`."""

    held_id: str
    user_id: int
    expires: int
    """Unix seconds."""
    signature: str

    def query(self) -> str:
        """The link's query string."""
        return urlencode({"u": self.user_id, "e": self.expires, "s": self.signature})


def _signature(secret: bytes, held_id: str, user_id: int, expires: int) -> str:
    message = CONFIRM_LABEL + f"{held_id}:{user_id}:{expires}".encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def sign_confirmation(
    secret: bytes, held_id: str, user_id: int, expires_at: datetime
) -> Confirmation:
    """The confirmation the user's link carries."""
    expires = int(expires_at.timestamp())
    return Confirmation(held_id, user_id, expires, _signature(secret, held_id, user_id, expires))


def check_confirmation(
    secret: bytes, confirmation: Confirmation, signed_in: int | None, now: datetime
) -> None:
    """Refuse a link that is forged, altered, expired, or followed by another user."""
    wanted = _signature(secret, confirmation.held_id, confirmation.user_id, confirmation.expires)
    if not hmac.compare_digest(wanted, confirmation.signature):
        raise RoleRequiredError("this confirmation link is not valid")
    if signed_in != confirmation.user_id:
        raise RoleRequiredError("this confirmation link is for another user: sign in as them")
    if now.timestamp() > confirmation.expires:
        raise ConflictError("this confirmation link has expired; staff can still release it")


def take_held(session: Session, held_id: str, state: str) -> HeldMail:
    """Move a held message to `state` (`released`, `discarded`) once: ConflictError if it
    was decided already, NotFoundError if there is none."""
    moved = session.execute(
        update(HeldMail)
        .where(HeldMail.public_id == held_id, HeldMail.state == "held")
        .values(state=state)
        .execution_options(synchronize_session=False)
    )
    held = session.scalars(select(HeldMail).where(HeldMail.public_id == held_id)).first()
    if held is None:
        raise NotFoundError("no such held message")
    session.refresh(held)
    if not getattr(moved, "rowcount", 0):
        raise ConflictError(f"this message was {held.state} already")
    return held
