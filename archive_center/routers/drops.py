"""Personal drop addresses (e-mail plus-address, FTP login) and the held-mail queue of staff."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel

from catalog.drops import issue_drop_token, list_held_mail, revoke_drop_tokens
from web.deps import NowDep, SessionDep, SettingsDep, SignedInDep, StaffDep, forbid_unknown_query

router = APIRouter(tags=["drops"])
NO_STORE = {"Cache-Control": "no-store", "Vary": "Cookie, Authorization"}
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Not signed in"},
    403: {"description": "Not a PI or staff"},
}


class DropAddress(BaseModel):
    """A user's new personal drop: shown once; whatever arrives with it is this user's."""

    token: str
    email: str
    """Mail to this address is filed for the user (subject: `report ...`, `product ...`, `data`)."""
    ftp_user: str
    ftp_password: str
    """The FTP drop's login for the user (the token); anonymous drops stay ownerless."""


class HeldMailRead(BaseModel):
    """A message the e-mail intake could not attribute, kept for staff."""

    id: str
    sender: str
    recipient: str
    subject: str
    reason: str
    size: int
    received_at: datetime


class HeldMailList(BaseModel):
    """Held messages, newest first."""

    items: list[HeldMailRead]


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
                       ftp_user="drop", ftp_password=token)  # fmt: skip


@router.delete(
    "/me/drop-address", status_code=204, responses=ERRORS, dependencies=[forbid_unknown_query()]
)
def delete_drop_address(session: SessionDep, user: SignedInDep, now: NowDep) -> Response:
    """Revoke the caller's drop token: mail and FTP logins with it are held or refused."""
    assert user.user_id is not None
    revoke_drop_tokens(session, user.user_id, now)
    return Response(status_code=204, headers=NO_STORE)


@router.get("/mail/held", responses=ERRORS, dependencies=[forbid_unknown_query("limit")])
def get_held_mail(
    response: Response, session: SessionDep, staff: StaffDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> HeldMailList:  # fmt: skip
    """Staff: mail the intake held (no valid drop address), newest first."""
    response.headers.update(NO_STORE)
    items = [
        HeldMailRead(id=m.public_id, sender=m.sender, recipient=m.recipient, subject=m.subject,
                     reason=m.reason, size=m.size, received_at=m.received_at)
        for m in list_held_mail(session, limit=limit)
    ]  # fmt: skip
    return HeldMailList(items=items)
