"""What is still to come: expected deliveries per PI and center, received, late or waiting."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from catalog.expected import (
    Judged,
    add_expected,
    edit_expected,
    judge_all,
    tally,
    withdraw_expected,
)
from web.deps import NowDep, SessionDep, SettingsDep, StaffDep, forbid_unknown_query
from web.params import ExpectedId

router = APIRouter(tags=["reports"])
STAFF_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Not signed in"},
    403: {"description": "Not staff"},
    404: {"description": "No such expected delivery"},
    409: {"description": "Recorded by another center: change it there"},
}


class ExpectedWrite(BaseModel):
    """A dataset a PI is expected to deliver (the questionnaire)."""

    pi_name: str = Field(min_length=1, max_length=200)
    did: str | None = Field(default=None, max_length=64)
    platform: str = Field(default="", max_length=200)
    instrument: str = Field(default="", max_length=200)
    category: Literal["research", "operational"] = "research"
    description: str = Field(default="", max_length=5000)
    due: date | None = None
    """When it must be in the archive; by default the campaign's release day of its category."""


class ExpectedEdit(BaseModel):
    """What staff may change of an expected delivery (fields left out stay)."""

    due: date | None = None
    description: str | None = Field(default=None, max_length=5000)


class ExpectedRead(BaseModel):
    """An expected delivery and where it stands."""

    id: str
    center: str
    """The center that recorded it (whose PI it is)."""
    pi_name: str
    did: str | None
    platform: str
    instrument: str
    category: str
    description: str
    due: date
    standing: Literal["received", "late", "waiting"]
    dataset: str | None
    """The public id of the dataset that delivered it."""


class Tally(BaseModel):
    """Counts per PI and center."""

    pi_name: str
    center: str
    received: int
    late: int
    waiting: int


class ExpectedList(BaseModel):
    """Every center's expected deliveries (or one PI's or center's), and their counts."""

    items: list[ExpectedRead]
    tally: list[Tally]


def _read(j: Judged) -> ExpectedRead:
    e = j.expected
    return ExpectedRead(
        id=e.public_id, center=e.center_code, pi_name=e.pi_name, did=e.did,
        platform=e.platform, instrument=e.instrument, category=e.category,
        description=e.description, due=e.due, standing=j.standing, dataset=j.dataset,
    )  # fmt: skip


@router.get("/expected", dependencies=[forbid_unknown_query("pi", "center")])
def get_expected(
    session: SessionDep,
    now: NowDep,
    pi: Annotated[str | None, Query(max_length=200)] = None,
    center: Annotated[str | None, Query(max_length=16)] = None,
) -> ExpectedList:
    """Received, late and waiting deliveries per PI and center, from every center (public)."""
    judged = judge_all(session, now.date(), pi=pi, center=center)
    items = [_read(j) for j in judged]
    counts = [Tally(pi_name=pi_name, center=code, **row)
              for (pi_name, code), row in sorted(tally(judged).items())]  # fmt: skip
    return ExpectedList(items=items, tally=counts)


@router.post(
    "/expected",
    status_code=201,
    responses={401: {"description": "Not signed in"}, 403: {"description": "Not staff"}},
    dependencies=[forbid_unknown_query()],
)
def post_expected(
    body: ExpectedWrite, session: SessionDep, settings: SettingsDep, staff: StaffDep,
    now: NowDep,
) -> ExpectedRead:  # fmt: skip
    """Staff: record a dataset a PI is expected to deliver; it travels to the peers."""
    made = add_expected(
        session, campaign_code=settings.campaign.code, center_code=settings.center_code,
        pi_name=body.pi_name, did=body.did, platform=body.platform,
        instrument=body.instrument, category=body.category, description=body.description,
        due=body.due, now=now,
    )  # fmt: skip
    return _read_one(session, made.public_id, settings.center_code, now.date())


def _read_one(session: Session, public_id: str, center: str, today: date) -> ExpectedRead:
    judged = judge_all(session, today, center=center)
    return _read(next(j for j in judged if j.expected.public_id == public_id))


@router.patch(
    "/expected/{expected_id}", responses=STAFF_ERRORS, dependencies=[forbid_unknown_query()]
)
def patch_expected(
    expected_id: ExpectedId, body: ExpectedEdit, session: SessionDep, settings: SettingsDep,
    staff: StaffDep, now: NowDep,
) -> ExpectedRead:  # fmt: skip
    """Staff: change an entry's due day or note (audited; the peers follow)."""
    edit_expected(
        session, expected_id, local_code=settings.center_code, due=body.due,
        description=body.description, actor=staff, now=now,
    )  # fmt: skip
    return _read_one(session, expected_id, settings.center_code, now.date())


@router.delete(
    "/expected/{expected_id}", status_code=204, responses=STAFF_ERRORS,
    dependencies=[forbid_unknown_query("reason")],
)  # fmt: skip
def delete_expected(
    expected_id: ExpectedId, reason: Annotated[str, Query(min_length=3, max_length=2000)],
    session: SessionDep, settings: SettingsDep, staff: StaffDep, now: NowDep,
) -> Response:  # fmt: skip
    """Staff: withdraw an entry (audited; a tombstone travels, so the peers drop it too)."""
    withdraw_expected(session, expected_id, local_code=settings.center_code, actor=staff,
                      reason=reason, now=now)  # fmt: skip
    return Response(status_code=204)
