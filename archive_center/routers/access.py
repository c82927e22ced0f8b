"""Staff manage access: `PUT /datasets/{id}/access`, `DELETE /datasets/{id}`, the audit log;
PIs claim ownerless datasets and staff approve (`POST /datasets/{id}/claim[/approve]`)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field

from archive_center.routers.query import as_utc
from catalog.access import AccessState
from catalog.access_admin import AccessRequest, change_access, withdraw_dataset
from catalog.audit import dataset_events
from catalog.claims import approve_claim, request_claim
from catalog.models import AuditEvent, Dataset
from catalog.schemas import Principal, Role
from catalog.search import get_dataset
from web.deps import NowDep, SessionDep, StaffDep, forbid_unknown_query, require_roles

router = APIRouter(tags=["access"])
PiDep = Annotated[Principal, require_roles(Role.PI)]
NO_STORE = {"Cache-Control": "no-store", "Vary": "Cookie, Authorization"}
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Not signed in"},
    403: {"description": "Not staff"},
    404: {"description": "No such dataset"},
    409: {"description": "Held by another center"},
    422: {"description": "Invalid request"},
}


class AccessUpdate(BaseModel):
    """A new access state, with the reason the audit log keeps."""

    state: Literal["open", "embargoed", "password", "campaign", "private"]
    release_at: datetime | None = Field(
        default=None, description="UTC; omitted: the campaign's default release"
    )
    password: str | None = Field(default=None, min_length=8, max_length=1024)
    reason: str = Field(min_length=3, max_length=2000)


class AccessRead(BaseModel):
    """A dataset's stored access facts after a change."""

    public_id: str
    state: str
    release_at: datetime | None
    password_set: bool
    origin_version: int


class AuditRead(BaseModel):
    """One audit event."""

    at: datetime
    actor: str
    action: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    reason: str


def _read(dataset: Dataset) -> AccessRead:
    return AccessRead(
        public_id=dataset.public_id,
        state=dataset.access_state,
        release_at=dataset.release_at,
        password_set=dataset.password_hash is not None,
        origin_version=dataset.origin_version,
    )


def _audit(event: AuditEvent) -> AuditRead:
    return AuditRead(
        at=event.at, actor=event.actor, action=event.action, before=event.before,
        after=event.after, reason=event.reason,
    )  # fmt: skip


@router.put("/datasets/{public_id}/access", responses=ERRORS, dependencies=[forbid_unknown_query()])
def put_access(
    public_id: str,
    body: AccessUpdate,
    response: Response,
    session: SessionDep,
    staff: StaffDep,
    now: NowDep,
) -> AccessRead:
    """Staff: set, extend, lift or re-impose an embargo, password or privacy, with a reason."""
    request = AccessRequest(
        state=AccessState(body.state), reason=body.reason,
        release_at=as_utc(body.release_at), password=body.password,
    )  # fmt: skip
    dataset = change_access(session, public_id, request, actor=staff, now=now)
    response.headers.update(NO_STORE)
    return _read(dataset)


@router.delete(
    "/datasets/{public_id}", responses=ERRORS, dependencies=[forbid_unknown_query("reason")]
)
def delete_dataset(
    public_id: str,
    reason: Annotated[str, Query(min_length=3, max_length=2000)],
    response: Response,
    session: SessionDep,
    staff: StaffDep,
    now: NowDep,
) -> AccessRead:
    """Staff: withdraw a dataset (a tombstone travels to the peers); `reason` is required."""
    dataset = withdraw_dataset(session, public_id, reason=reason, actor=staff, now=now)
    response.headers.update(NO_STORE)
    return _read(dataset)


@router.get(
    "/datasets/{public_id}/audit", responses=ERRORS, dependencies=[forbid_unknown_query("limit")]
)
def read_audit(
    public_id: str,
    response: Response,
    session: SessionDep,
    staff: StaffDep,
    now: NowDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[AuditRead]:
    """Staff: the audit events of one dataset, newest first."""
    get_dataset(session, public_id, staff, now)
    response.headers.update(NO_STORE)
    return [_audit(e) for e in dataset_events(session, public_id, limit=limit)]


class ClaimRequest(BaseModel):
    """Why the PI should own the dataset (kept in the audit log for staff to judge)."""

    reason: str = Field(min_length=3, max_length=2000)


class ClaimApproval(BaseModel):
    """Which PI's claim staff approve, and why."""

    username: str = Field(min_length=1, max_length=100)
    reason: str = Field(min_length=3, max_length=2000)


class ClaimRead(BaseModel):
    """A claim's state after a request or an approval."""

    public_id: str
    claimant: str
    approved: bool


CLAIM_ERRORS: dict[int | str, dict[str, Any]] = {
    **ERRORS,
    403: {"description": "Not a PI (claim) or not staff (approve)"},
    409: {"description": "The dataset has an owner"},
}


@router.post(
    "/datasets/{public_id}/claim", responses=CLAIM_ERRORS, dependencies=[forbid_unknown_query()]
)
def post_claim(
    public_id: str,
    body: ClaimRequest,
    response: Response,
    session: SessionDep,
    pi: PiDep,
    now: NowDep,
) -> ClaimRead:
    """A PI: ask to own a dataset that has no owner; staff approve (audited)."""
    request_claim(session, public_id, actor=pi, reason=body.reason, now=now)
    response.headers.update(NO_STORE)
    return ClaimRead(public_id=public_id, claimant=pi.username or "", approved=False)


@router.post(
    "/datasets/{public_id}/claim/approve",
    responses=CLAIM_ERRORS,
    dependencies=[forbid_unknown_query()],
)
def post_claim_approval(
    public_id: str,
    body: ClaimApproval,
    response: Response,
    session: SessionDep,
    staff: StaffDep,
    now: NowDep,
) -> ClaimRead:
    """Staff: approve a PI's claim; that PI becomes the owner (audited)."""
    approve_claim(
        session, public_id, username=body.username, actor=staff, reason=body.reason, now=now
    )
    response.headers.update(NO_STORE)
    return ClaimRead(public_id=public_id, claimant=body.username.strip().lower(), approved=True)
