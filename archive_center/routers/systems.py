"""Measuring systems: the registry, each system's status history, its own status form grant."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response
from pydantic import BaseModel, Field

from archive_center.routers.auth import GrantRead, PasswordBody, grant_answer
from catalog.errors import NotFoundError
from catalog.summaries import (
    CODE_PATTERN,
    find_system,
    list_systems,
    register_system,
    status_history,
    system_form_key,
)
from web import auth
from web.auth_service import exchange_form_password
from web.deps import NowDep, SessionDep, SettingsDep, StaffDep, forbid_unknown_query

router = APIRouter(tags=["reports"])
SystemCode = Annotated[str, Path(pattern=CODE_PATTERN, description="a system's code")]


class SystemWrite(BaseModel):
    """A measuring system to register, with its status form's own password."""

    code: str = Field(pattern=CODE_PATTERN)
    name: str = Field(default="", max_length=200)
    platform: str = Field(default="", max_length=200)
    password: str = Field(min_length=8, max_length=200)


class StatusEntry(BaseModel):
    """One status of a system: from when, until when, where it was reported."""

    status: str
    since: datetime
    until: datetime | None
    note: str
    center: str
    report: str


class SystemRead(BaseModel):
    """A registered system and its latest status."""

    code: str
    name: str
    platform: str
    current: StatusEntry | None


class SystemList(BaseModel):
    """The registered systems, by code."""

    items: list[SystemRead]


class StatusHistory(BaseModel):
    """A system's status history, newest first (from every center)."""

    system: str
    items: list[StatusEntry]


def _history(session: Any, code: str) -> list[StatusEntry]:
    return [
        StatusEntry(status=d["status"], since=d["since"], until=d.get("until"),
                    note=d.get("note", ""), center=r.center_code, report=r.public_id)
        for r in status_history(session, code) if (d := r.details or {}).get("status")
    ]  # fmt: skip


@router.get("/systems", dependencies=[forbid_unknown_query()])
def get_systems(session: SessionDep) -> SystemList:
    """The measuring systems registered here, each with its latest status (public)."""
    items = []
    for system in list_systems(session):
        history = _history(session, system.code)
        items.append(SystemRead(code=system.code, name=system.name, platform=system.platform,
                                current=history[0] if history else None))  # fmt: skip
    return SystemList(items=items)


@router.post(
    "/systems",
    status_code=201,
    responses={
        401: {"description": "Not signed in"},
        403: {"description": "Not staff"},
        409: {"description": "Registered already"},
    },
    dependencies=[forbid_unknown_query()],
)
def post_system(
    body: SystemWrite, session: SessionDep, settings: SettingsDep, staff: StaffDep, now: NowDep
) -> SystemRead:
    """Staff: register a measuring system and set its status form's own password."""
    system = register_system(
        session, campaign_code=settings.campaign.code, code=body.code, name=body.name,
        platform=body.platform, password=body.password, now=now,
    )  # fmt: skip
    return SystemRead(code=system.code, name=system.name, platform=system.platform, current=None)


@router.get("/systems/{code}/status", dependencies=[forbid_unknown_query()])
def get_status_history(code: SystemCode, session: SessionDep) -> StatusHistory:
    """A system's status history (operating, degraded, down, with times), newest first."""
    return StatusHistory(system=code, items=_history(session, code))


@router.post(
    "/systems/{code}/grant",
    responses={
        403: {"description": "Wrong password"},
        404: {"description": "No such system"},
        429: {"description": "Too many attempts"},
    },
    dependencies=[forbid_unknown_query()],
)
def create_system_grant(
    code: SystemCode, body: PasswordBody, request: Request, response: Response,
    session: SessionDep, settings: SettingsDep, now: NowDep,
) -> GrantRead:  # fmt: skip
    """Exchange a system's status-form password for a short-lived grant of that form only."""
    if find_system(session, code) is None:
        raise NotFoundError(f"no measuring system {code!r} is registered here")
    grant = exchange_form_password(
        request.app.state.session_factory, system_form_key(code), body.password,
        client=auth.client_address(request, settings.access.trusted_proxies),
        holder=auth.grant_holder(request), now=now, access=settings.access,
    )  # fmt: skip
    return grant_answer(grant, request, response, settings, now)
