"""Decisions on held mail: a sender's confirmation, a staff release or discard.

Each takes the message out of the queue once (`catalog.held_mail.take_held`) and audits it in
the same transaction; a released or confirmed message is then filed from its kept bytes by
the e-mail intake as the chosen user's (`submissions.mail_intake.file_as`), with the reply
going to that user. Filing that fails unexpectedly puts the message back in the queue, so
nothing is lost. A discard tells the sender the reason.
"""

from __future__ import annotations

import logging
from email.utils import parseaddr

from sqlalchemy import select, update

from catalog.audit import record_event
from catalog.errors import NotFoundError
from catalog.held_mail import Confirmation, check_confirmation, take_held
from catalog.intake_models import HeldMail
from catalog.models import User
from catalog.outbox import queue_mail
from catalog.schemas import Principal
from submissions.mail_intake import MailDesk, MailOutcome, file_as, principal_of

logger = logging.getLogger(__name__)


def _release(desk: MailDesk, held_id: str, owner_id: int, actor: Principal, action: str,
             reason: str) -> MailOutcome:  # fmt: skip
    with desk.sessions() as session, session.begin():
        owner = session.get(User, owner_id)
        if owner is None or not owner.active:
            raise NotFoundError("no such active user")
        held = take_held(session, held_id, "released")
        record_event(
            session, actor=actor, action=action, now=desk.now(), reason=reason,
            before={"held_mail": held_id, "sender": held.sender, "subject": held.subject},
            after={"user": owner.username},
        )  # fmt: skip
        raw_path = desk.store.root / held.path
        principal, reply_to = principal_of(owner), owner.email or parseaddr(held.sender)[1]
    try:
        return file_as(desk, raw_path.read_bytes(), principal, reply_to)
    except Exception:
        logger.exception("held message %s could not be filed; it stays held", held_id)
        with desk.sessions() as session, session.begin():
            session.execute(
                update(HeldMail).where(HeldMail.public_id == held_id).values(state="held")
            )
        raise


def confirm_held(desk: MailDesk, confirmation: Confirmation, signed_in: Principal) -> MailOutcome:
    """The signed-in user confirms their held message with the link they were sent."""
    check_confirmation(desk.secret, confirmation, signed_in.user_id, desk.now())
    return _release(desk, confirmation.held_id, confirmation.user_id, signed_in,
                    "mail.confirm", "confirmed by the sender's signed link")  # fmt: skip


def release_held(
    desk: MailDesk, held_id: str, username: str, staff: Principal, reason: str
) -> MailOutcome:
    """Staff file a held message as the chosen user's."""
    with desk.sessions() as session:
        owner_id = session.scalar(select(User.id).where(User.username == username))
    if owner_id is None:
        raise NotFoundError(f"no user {username!r}")
    return _release(desk, held_id, owner_id, staff, "mail.release",
                    reason.strip() or "released by staff")  # fmt: skip


def discard_held(desk: MailDesk, held_id: str, staff: Principal, reason: str) -> None:
    """Staff discard a held message with a reason; its bytes stay, the sender is told."""
    with desk.sessions() as session, session.begin():
        held = take_held(session, held_id, "discarded")
        record_event(
            session, actor=staff, action="mail.discard", now=desk.now(), reason=reason.strip(),
            before={"held_mail": held_id, "sender": held.sender, "subject": held.subject},
            after=None,
        )  # fmt: skip
        body = (
            f"Your message to the FieldCat intake of {desk.center_code}\n\n"
            f"  {held.subject or '(no subject)'}\n\nwas not taken: {reason.strip()}\n"
        )
        queue_mail(session, parseaddr(held.sender)[1],
                   f"FieldCat {desk.center_code}: not taken: {held.subject}", body,
                   desk.now(), kind="mail-intake")  # fmt: skip
