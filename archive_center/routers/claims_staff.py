"""Staff's side of ownership claims beyond approval: the list of pending claims
(`GET /claims`) and declining one (`POST /datasets/{id}/claim/decline`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field

from catalog.claims import decline_claim, pending_claims
from web.deps import NowDep, SessionDep, StaffDep, forbid_unknown_query

router = APIRouter(tags=["access"])
NO_STORE = {"Cache-Control": "no-store", "Vary": "Cookie, Authorization"}
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Not signed in"},
    403: {"description": "Not staff"},
    404: {"description": "No such dataset or pending claim"},
}


class PendingClaim(BaseModel):
    """A claim waiting for staff."""

    public_id: str
    title: str
    claimant: str
    reason: str
    requested_at: datetime


class ClaimDecline(BaseModel):
    """Whose claim staff decline, and why."""

    username: str = Field(min_length=1, max_length=64)
    reason: str = Field(min_length=3, max_length=2000)


@router.get("/claims", responses=ERRORS, dependencies=[forbid_unknown_query()])
def get_pending_claims(
    session: SessionDep, staff: StaffDep, response: Response
) -> list[PendingClaim]:
    """Staff: the claims waiting for an answer, oldest first."""
    response.headers.update(NO_STORE)
    return [
        PendingClaim(
            public_id=d.public_id,
            title=d.title,
            claimant=u.username,
            reason=c.reason,
            requested_at=c.requested_at,
        )
        for c, d, u in pending_claims(session)
    ]


@router.post(
    "/datasets/{public_id}/claim/decline", responses=ERRORS, dependencies=[forbid_unknown_query()]
)
def post_claim_decline(
    public_id: str, body: ClaimDecline, session: SessionDep, staff: StaffDep, now: NowDep,
    response: Response,
) -> list[PendingClaim]:  # fmt: skip
    """Staff: decline a PI's pending claim (audited); the pending claims that remain."""
    decline_claim(
        session, public_id, username=body.username, actor=staff, reason=body.reason, now=now
    )
    return get_pending_claims(session, staff, response)
