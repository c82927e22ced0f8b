"""Scheduled jobs: `GET /jobs` (definitions, runs, durations, results, errors) and
`POST /jobs` (PIs and staff define one); transfer sources (`/transfers`, staff)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field

from archive_center.routers.query import as_utc
from catalog.jobs import define_job, list_jobs
from catalog.schemas import Principal, Role
from catalog.transfer_sources import add_transfer_source, list_transfer_sources
from web.deps import NowDep, SessionDep, StaffDep, forbid_unknown_query, require_roles

router = APIRouter(tags=["jobs"])
MemberDep = Annotated[Principal, require_roles(Role.PI, Role.STAFF, Role.ADMIN)]
NO_STORE = {"Cache-Control": "no-store", "Vary": "Cookie, Authorization"}
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Not signed in"},
    403: {"description": "Not a PI or staff"},
    404: {"description": "No such instrument"},
    422: {"description": "Invalid request"},
}


class JobBody(BaseModel):
    """A job: its kind and parameters, how often, and when it is first due."""

    name: str = Field(min_length=1, max_length=200)
    kind: Literal["rerun-qc", "daily-digest", "pull-transfer", "build-merge"]
    params: dict[str, int | str] = Field(default_factory=dict, max_length=20)
    period: Literal["hourly", "daily", "weekly"]
    first_due: datetime | None = Field(default=None, description="UTC; default: now")


@router.get("/jobs", responses=ERRORS, dependencies=[forbid_unknown_query()])
def get_jobs(response: Response, session: SessionDep, member: MemberDep) -> list[dict[str, Any]]:
    """The caller's jobs (staff: every job) with their latest runs."""
    response.headers.update(NO_STORE)
    return list_jobs(session, member)


@router.post("/jobs", status_code=201, responses=ERRORS, dependencies=[forbid_unknown_query()])
def post_job(body: JobBody, session: SessionDep, member: MemberDep, now: NowDep) -> dict[str, Any]:
    """A PI or staff: define a job; the worker runs it when due, then every period."""
    definition = define_job(
        session, name=body.name, kind=body.kind, params=dict(body.params), period=body.period,
        first_due=as_utc(body.first_due) or now, owner=member, now=now,
    )  # fmt: skip
    return {"id": definition.id, "name": definition.name, "next_due": definition.next_due}


class TransferBody(BaseModel):
    """A remote API listing new files, the PI its files are submitted under, and defaults."""

    name: str = Field(min_length=1, max_length=200)
    url: str = Field(min_length=8, max_length=1000)
    auth: Literal["token", "hmac"]
    key_id: str = Field(default="", max_length=100)
    secret: str = Field(min_length=16, max_length=500)
    owner_user_id: int = Field(ge=1, le=2**31 - 1)
    campaign: str = Field(min_length=1, max_length=32)
    category: Literal["research", "operational"] | None = None
    access: Literal["open", "embargoed", "private"] | None = None
    period: Literal["hourly", "daily", "weekly"] | None = Field(
        default=None, description="how often to pull it: a pull job of the source's PI, due now"
    )


@router.get("/transfers", responses=ERRORS, dependencies=[forbid_unknown_query()])
def get_transfers(response: Response, session: SessionDep, staff: StaffDep) -> list[dict[str, Any]]:
    """Staff: the transfer sources, their cursors and last errors (never their secrets)."""
    response.headers.update(NO_STORE)
    return list_transfer_sources(session)


@router.post("/transfers", status_code=201, responses=ERRORS, dependencies=[forbid_unknown_query()])
def post_transfer(
    body: TransferBody, session: SessionDep, staff: StaffDep, now: NowDep
) -> dict[str, Any]:
    """Staff: add a transfer source; a `pull-transfer` job pulls it."""
    source = add_transfer_source(session, **body.model_dump(), now=now)
    return {"id": source.id, "name": source.name, "cursor": source.cursor}
