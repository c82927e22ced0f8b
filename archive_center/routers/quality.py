"""QA/QC and levels of a dataset: the QC report (`GET /datasets/{id}/qc`), flag overrides
and level releases by the dataset's PI or staff."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field

from catalog.access_admin import publish
from catalog.levels import release_level, set_level_access
from catalog.models import Dataset
from catalog.qc import override_flags, qc_report
from catalog.registry import choose_deployment
from catalog.schemas import Principal, Role
from formats.flag_columns import FLAG_VALUES
from web.deps import NowDep, PrincipalDep, SessionDep, StoreDep, forbid_unknown_query, require_roles

router = APIRouter(tags=["quality"])
CuratorDep = Annotated[Principal, require_roles(Role.PI, Role.STAFF, Role.ADMIN)]
NO_STORE = {"Cache-Control": "no-store", "Vary": "Cookie, Authorization"}
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Not signed in"},
    403: {"description": "Not the dataset's PI or staff, or data not released"},
    404: {"description": "No such dataset"},
    409: {"description": "No QC result, level already released, or a peer's record"},
    422: {"description": "Invalid request"},
}


class OverrideBody(BaseModel):
    """New flag of rows `first`..`last` (0-based, inclusive) of a variable, and why."""

    variable: str = Field(min_length=1, max_length=200)
    first: int = Field(ge=0, le=2**31 - 1)
    last: int = Field(ge=0, le=2**31 - 1)
    flag: int = Field(ge=1, le=9, description=f"one of {FLAG_VALUES}")
    reason: str = Field(min_length=3, max_length=2000)


class LevelBody(BaseModel):
    """The level to release (1 or 2) and the PI's note."""

    level: int = Field(ge=0, le=2)
    note: str = Field(min_length=3, max_length=2000)


@router.get("/datasets/{public_id}/qc", responses=ERRORS, dependencies=[forbid_unknown_query()])
def get_qc(
    public_id: str,
    response: Response,
    session: SessionDep,
    store: StoreDep,
    principal: PrincipalDep,
    now: NowDep,
) -> dict[str, Any]:
    """The QC report of the current version (for whoever may read the data)."""
    response.headers.update(NO_STORE)
    return qc_report(session, store, public_id, principal, now)


@router.post(
    "/datasets/{public_id}/qc/overrides",
    status_code=201,
    responses=ERRORS,
    dependencies=[forbid_unknown_query()],
)
def post_override(
    public_id: str, body: OverrideBody, session: SessionDep, curator: CuratorDep, now: NowDep
) -> dict[str, Any]:
    """The dataset's PI or staff: override flags with a reason (audited)."""
    override = override_flags(
        session, public_id, variable=body.variable, first=body.first, last=body.last,
        flag=body.flag, reason=body.reason, actor=curator, now=now,
    )  # fmt: skip
    return {"variable": override.variable, "first": override.first, "last": override.last,
            "flag": override.flag, "reason": override.reason}  # fmt: skip


@router.put("/datasets/{public_id}/level", responses=ERRORS, dependencies=[forbid_unknown_query()])
def put_level(
    public_id: str, body: LevelBody, session: SessionDep, curator: CuratorDep, now: NowDep
) -> dict[str, Any]:
    """The dataset's PI or staff: release level 1 or 2 of the current version (audited,
    sent to the peers)."""
    dataset = release_level(
        session, public_id, level=body.level, note=body.note, actor=curator, now=now
    )
    return {"public_id": dataset.public_id, "level": dataset.level}


class LevelAccessBody(BaseModel):
    """The access rule of one level's data: `open`, `embargoed` until `release_at`, or
    `inherit` (no rule: the dataset's own state applies)."""

    level: int = Field(ge=0, le=2)
    state: Literal["open", "embargoed", "inherit"]
    release_at: datetime | None = None
    reason: str = Field(min_length=3, max_length=2000)


@router.put(
    "/datasets/{public_id}/level-access", responses=ERRORS, dependencies=[forbid_unknown_query()]
)
def put_level_access(
    public_id: str, body: LevelAccessBody, session: SessionDep, curator: CuratorDep, now: NowDep
) -> dict[str, Any]:
    """The dataset's PI or staff: the access rule of one level's data (audited, sent to the
    peers); downloads, plots and OPeNDAP of data at that level follow it."""
    dataset = set_level_access(
        session, public_id, level=body.level, state=body.state, release_at=body.release_at,
        reason=body.reason, actor=curator, now=now,
    )  # fmt: skip
    return {"public_id": dataset.public_id, "level_access": dataset.level_access or {}}


class DeploymentChoice(BaseModel):
    """The registry's deployment the dataset came from."""

    deployment_id: int = Field(ge=1, le=2**31 - 1)


@router.put(
    "/datasets/{public_id}/deployment", responses=ERRORS, dependencies=[forbid_unknown_query()]
)
def put_deployment(
    public_id: str, body: DeploymentChoice, session: SessionDep, curator: CuratorDep, now: NowDep
) -> dict[str, Any]:
    """The dataset's PI or staff: link it to a deployment of the registry (audited)."""
    link = choose_deployment(session, public_id, body.deployment_id, actor=curator, now=now)
    publish(session, session.get_one(Dataset, link.dataset_id), now)  # peers see the registry
    return {
        "public_id": public_id,
        "deployment_id": link.deployment_id,
        "chosen_by": link.chosen_by,
    }
