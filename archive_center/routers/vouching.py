"""Sign-in that travels: the home center vouches (`POST /auth/assertions`), a peer exchanges
the assertion once for a short-lived session (`POST /auth/vouched`). See federation.vouching."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field

from catalog.models import User
from catalog.vouched import start_vouched_session
from federation.vouching import Vouched, issue_assertion, verify_assertion
from web.deps import NowDep, SessionDep, SettingsDep, SignedInDep, forbid_unknown_query

router = APIRouter(tags=["auth"])
NO_STORE = {"Cache-Control": "no-store", "Vary": "Cookie, Authorization"}
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Not signed in, or the assertion is refused"},
    404: {"description": "No such enabled peer"},
}


class AssertionAsk(BaseModel):
    """The peer center (its code) the assertion is for."""

    audience: str = Field(min_length=1, max_length=16)


class AssertionRead(BaseModel):
    """A signed assertion: give it to the peer's `POST /auth/vouched` before `expires_at`."""

    assertion: str
    audience: str
    expires_at: datetime


class VouchedAsk(BaseModel):
    """An assertion from the caller's home center."""

    assertion: str = Field(min_length=1, max_length=8192)


class VouchedRead(BaseModel):
    """A session here: send `token` as `Authorization: Bearer` until `expires_at`."""

    token: str
    username: str
    center: str
    campaigns: list[str]
    expires_at: datetime


@router.post("/auth/assertions", responses=ERRORS, dependencies=[forbid_unknown_query()])
def create_assertion(
    body: AssertionAsk,
    caller: SignedInDep,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    response: Response,
) -> AssertionRead:
    """Vouch for the signed-in user to one peer: who they are and their campaigns."""
    user = session.get(User, caller.user_id)
    assert user is not None  # a signed-in caller's row exists in its transaction
    expires = now + timedelta(seconds=settings.access.vouched_lifetime_s)
    vouched = Vouched(
        center=settings.center_code, username=user.username, display_name=user.display_name,
        email=user.email, campaigns=(settings.campaign.code,), expires_at=expires,
    )  # fmt: skip
    token = issue_assertion(
        session, issuer=settings.center_code, audience=body.audience, user=vouched, now=now
    )
    response.headers.update(NO_STORE)
    return AssertionRead(assertion=token, audience=body.audience.upper(), expires_at=expires)


@router.post("/auth/vouched", responses=ERRORS, dependencies=[forbid_unknown_query()])
def create_vouched_session(
    body: VouchedAsk,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    response: Response,
) -> VouchedRead:
    """Exchange a peer's assertion (once) for a session as that center's PI."""
    factory = request.app.state.session_factory
    who = verify_assertion(session, factory, body.assertion, audience=settings.center_code, now=now)
    token = start_vouched_session(
        session, center=who.center, username=who.username, display_name=who.display_name,
        email=who.email, campaigns=who.campaigns, now=now, expires_at=who.expires_at,
    )  # fmt: skip
    response.headers.update(NO_STORE)
    return VouchedRead(
        token=token, username=who.username, center=who.center, campaigns=list(who.campaigns),
        expires_at=who.expires_at,
    )  # fmt: skip
