"""What is still to come: expected deliveries per PI and center, received, late or waiting."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from catalog.expected import add_expected, judge_all, tally
from web.deps import NowDep, SessionDep, SettingsDep, StaffDep, forbid_unknown_query

router = APIRouter(tags=["reports"])


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


@router.get("/expected", dependencies=[forbid_unknown_query("pi", "center")])
def get_expected(
    session: SessionDep,
    now: NowDep,
    pi: Annotated[str | None, Query(max_length=200)] = None,
    center: Annotated[str | None, Query(max_length=16)] = None,
) -> ExpectedList:
    """Received, late and waiting deliveries per PI and center, from every center (public)."""
    judged = judge_all(session, now.date(), pi=pi, center=center)
    items = [
        ExpectedRead(
            id=j.expected.public_id, center=j.expected.center_code, pi_name=j.expected.pi_name,
            did=j.expected.did, platform=j.expected.platform,
            instrument=j.expected.instrument, category=j.expected.category,
            description=j.expected.description, due=j.expected.due, standing=j.standing,
            dataset=j.dataset,
        )
        for j in judged
    ]  # fmt: skip
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
    judged = judge_all(session, now.date(), center=settings.center_code)
    item = next(j for j in judged if j.expected.public_id == made.public_id)
    return ExpectedRead(
        id=made.public_id, center=made.center_code, pi_name=made.pi_name, did=made.did,
        platform=made.platform, instrument=made.instrument, category=made.category,
        description=made.description, due=made.due, standing=item.standing,
        dataset=item.dataset,
    )  # fmt: skip
