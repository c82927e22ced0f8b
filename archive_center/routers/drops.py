"""Personal drop addresses (e-mail plus-address, FTP login) and the held-mail queue of staff."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel, Field

from catalog.drops import issue_drop_token, revoke_drop_tokens
from catalog.held_mail import Confirmation, list_held_mail, past_retention
from catalog.intake_models import HeldMail
from submissions.held_release import confirm_held, discard_held, release_held
from submissions.mail_intake import MailOutcome
from web.deps import NowDep, SessionDep, SettingsDep, SignedInDep, StaffDep, forbid_unknown_query
from web.mail_desk import MailDeskDep

router = APIRouter(tags=["drops"])
NO_STORE = {"Cache-Control": "no-store", "Vary": "Cookie, Authorization"}
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Not signed in"},
    403: {"description": "Not a PI or staff"},
}
DECISION_ERRORS: dict[int | str, dict[str, Any]] = {
    **ERRORS,
    404: {"description": "No such held message (or user)"},
    409: {"description": "The message was released or discarded already"},
}
HeldId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,32}$", description="a held message's id")]


class DropAddress(BaseModel):
    """A user's new personal drop: shown once; whatever arrives with it is this user's."""

    token: str
    email: str
    """Mail to this address is filed for the user (subject: `report ...`, `product ...`, `data`)."""
    ftp_user: str
    ftp_password: str
    """The FTP drop's login for the user (the token); anonymous drops stay ownerless."""
    watch_folder: str
    """The user's subfolder of the watched folder: files dropped there are the user's."""


class HeldMailRead(BaseModel):
    """A message the e-mail intake could not attribute, kept for staff."""

    id: str
    sender: str
    recipient: str
    subject: str
    reason: str
    size: int
    received_at: datetime
    state: Literal["held", "released", "discarded"]
    past_retention: bool
    """Held longer than the retention period (`held_retention_days`): still kept, flagged."""


class HeldMailList(BaseModel):
    """Held messages, newest first."""

    items: list[HeldMailRead]


class ConfirmWrite(BaseModel):
    """The confirmation link's parameters (`u`, `e`, `s`)."""

    user: int = Field(ge=1, le=2**31 - 1)
    expires: str = Field(pattern=r"^[0-9]{1,12}$", description="Unix seconds, as in the link")
    """Digits, not an integer: an instant is not a row id, and must not end in 2038."""
    signature: str = Field(pattern=r"^[0-9a-f]{64}$")


class ReleaseWrite(BaseModel):
    """Whose the held message is, and why staff think so."""

    username: str = Field(min_length=1, max_length=100)
    reason: str = Field(default="", max_length=2000)


class DiscardWrite(BaseModel):
    """Why the held message is not taken (told to its sender)."""

    reason: str = Field(min_length=3, max_length=2000)


class Filed(BaseModel):
    """What a released message became (the reply the user gets says the same)."""

    action: str
    """`report`, `product`, `data` or `refused`."""
    lines: list[str]


def _filed(outcome: MailOutcome) -> Filed:
    return Filed(action=outcome.action, lines=outcome.lines)


def held_read(held: HeldMail, now: datetime, retention_days: int) -> HeldMailRead:
    """One held message as the API shows it."""
    return HeldMailRead(
        id=held.public_id, sender=held.sender, recipient=held.recipient, subject=held.subject,
        reason=held.reason, size=held.size, received_at=held.received_at,
        state=held.state,
        past_retention=past_retention(held, now, retention_days),
    )  # fmt: skip


@router.post("/me/drop-address", responses=ERRORS, dependencies=[forbid_unknown_query()])
def create_drop_address(
    response: Response, session: SessionDep, settings: SettingsDep, user: SignedInDep,
    now: NowDep,
) -> DropAddress:  # fmt: skip
    """A new personal drop token (the old one stops working at once)."""
    assert user.user_id is not None
    token = issue_drop_token(session, user.user_id, now)
    mail = settings.submissions.mail
    response.headers.update(NO_STORE)
    return DropAddress(token=token, email=f"{mail.mailbox}+{token}@{mail.domain}",
                       ftp_user="drop", ftp_password=token,
                       watch_folder=f"incoming/{token}/")  # fmt: skip


@router.delete(
    "/me/drop-address", status_code=204, responses=ERRORS, dependencies=[forbid_unknown_query()]
)
def delete_drop_address(session: SessionDep, user: SignedInDep, now: NowDep) -> Response:
    """Revoke the caller's drop token: mail and FTP logins with it are held or refused."""
    assert user.user_id is not None
    revoke_drop_tokens(session, user.user_id, now)
    return Response(status_code=204, headers=NO_STORE)


@router.get("/mail/held", responses=ERRORS, dependencies=[forbid_unknown_query("limit", "state")])
def get_held_mail(
    response: Response, session: SessionDep, settings: SettingsDep, staff: StaffDep,
    now: NowDep, limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    state: Literal["held", "released", "discarded"] = "held",
) -> HeldMailList:  # fmt: skip
    """Staff: mail the intake held (no valid drop address), newest first; or those released
    or discarded."""
    response.headers.update(NO_STORE)
    days = settings.submissions.mail.held_retention_days
    items = [held_read(m, now, days) for m in list_held_mail(session, state=state, limit=limit)]
    return HeldMailList(items=items)


@router.post(
    "/mail/held/{held_id}/confirm", responses=DECISION_ERRORS,
    dependencies=[forbid_unknown_query()],
)  # fmt: skip
def post_confirm_held(
    held_id: HeldId, body: ConfirmWrite, session: SessionDep, user: SignedInDep,
    desk: MailDeskDep,
) -> Filed:  # fmt: skip
    """The sender, signed in, confirms a held message with the signed link mailed to their
    registered address: it is filed as theirs."""
    session.commit()  # the filing writes in its own transactions
    confirmation = Confirmation(held_id, body.user, int(body.expires), body.signature)
    return _filed(confirm_held(desk, confirmation, user))


@router.post(
    "/mail/held/{held_id}/release", responses=DECISION_ERRORS,
    dependencies=[forbid_unknown_query()],
)  # fmt: skip
def post_release_held(
    held_id: HeldId, body: ReleaseWrite, session: SessionDep, staff: StaffDep,
    desk: MailDeskDep,
) -> Filed:  # fmt: skip
    """Staff: file a held message as the chosen user's (audited `mail.release`)."""
    session.commit()
    return _filed(release_held(desk, held_id, body.username, staff, body.reason))


@router.post(
    "/mail/held/{held_id}/discard", status_code=204, responses=DECISION_ERRORS,
    dependencies=[forbid_unknown_query()],
)  # fmt: skip
def post_discard_held(
    held_id: HeldId, body: DiscardWrite, session: SessionDep, staff: StaffDep,
    desk: MailDeskDep,
) -> Response:  # fmt: skip
    """Staff: discard a held message with a reason (audited `mail.discard`); the sender is
    told, the bytes stay."""
    session.commit()
    discard_held(desk, held_id, staff, body.reason)
    return Response(status_code=204, headers=NO_STORE)
