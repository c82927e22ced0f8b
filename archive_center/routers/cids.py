"""The analysis center (CIDS) over the API: navigation declarations and merges, collocation.

See docs/cids.md. Listings show only what the caller may see; collocation reads data under
the same checks as a download.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field

from catalog.collocation import COLUMNS, Match, as_datafile, collocate_datasets
from catalog.merges import MergeRequest, MergeView, define_merge, list_merges
from catalog.navigation import NavigationView, declare_navigation, navigation_views
from web.deps import (
    NowDep,
    PrincipalDep,
    SessionDep,
    SignedInDep,
    StoreDep,
    forbid_unknown_query,
)
from web.responses import cache_headers

router = APIRouter(tags=["cids"])


class NavigationDeclare(BaseModel):
    """Platform P's navigation is dataset D (its PI, or staff), or any dataset of
    instrument kind N (staff: a campaign rule)."""

    platform: str = Field(min_length=1, max_length=200)
    dataset: str | None = Field(default=None, max_length=32)
    instrument: str | None = Field(default=None, max_length=200)


class NavigationRuleRead(BaseModel):
    """One navigation rule."""

    id: int
    platform: str
    dataset: str | None
    instrument: str | None
    declared_by: str
    created_at: datetime


class NavigationList(BaseModel):
    """Navigation rules and the merges the caller may see."""

    rules: list[NavigationRuleRead]
    merges: list[NavigationView]


@router.get("/navigation", dependencies=[forbid_unknown_query()])
def get_navigation(session: SessionDep, principal: PrincipalDep, now: NowDep) -> NavigationList:
    """Navigation rules, and each merge's state, provenance and stated gap."""
    rules, merges = navigation_views(session, principal, now)
    return NavigationList(rules=[NavigationRuleRead(**r) for r in rules], merges=merges)


@router.post(
    "/navigation",
    status_code=201,
    responses={401: {"description": "Not signed in"}, 403: {"description": "Not allowed"}},
)
def post_navigation(
    body: NavigationDeclare, session: SessionDep, principal: SignedInDep, now: NowDep
) -> dict[str, int]:
    """Declare a platform's navigation; the worker merges it where it is due."""
    rule = declare_navigation(
        session, principal, body.platform, now, dataset_id=body.dataset, instrument=body.instrument
    )
    return {"id": rule.id}


class CollocationRead(BaseModel):
    """The matches, by track time."""

    dataset: str
    dt_s: float
    dx_km: float
    matches: list[Match]  # catalog.collocation's own record of a pair


def _csv(matches: list[Match]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for m in matches:
        writer.writerow([getattr(m, name) for name in COLUMNS])
    return out.getvalue()


COLLOCATE_MEDIA: dict[str, Any] = {
    "application/json": {}, "text/csv": {}, "application/x-netcdf": {}
}  # fmt: skip


@router.get(
    "/collocate",
    responses={
        200: {"description": "The matches", "content": COLLOCATE_MEDIA},
        400: {"description": "Bad query"},
        403: {"description": "Data not released yet"},
        404: {"description": "No such dataset"},
    },
    dependencies=[forbid_unknown_query("dataset", "with", "dt", "dx", "format")],
)
def get_collocate(
    session: SessionDep,
    store: StoreDep,
    principal: PrincipalDep,
    now: NowDep,
    dataset: Annotated[str, Query(max_length=32)],
    dt: Annotated[float, Query(ge=0, le=86_400, description="seconds")],
    dx: Annotated[float, Query(ge=0, le=2_000, description="km")],
    with_: Annotated[
        str | None, Query(alias="with", max_length=2000, description="comma-separated ids")
    ] = None,
    format: Literal["json", "csv", "netcdf"] = "json",
) -> Response:
    """Points of other readable datasets within `dt` seconds and `dx` km of each point."""
    others = [pid for pid in (with_ or "").split(",") if pid.strip()] or None
    matches = collocate_datasets(session, store, principal, now, dataset, others, dt, dx)
    headers = cache_headers(False)
    if format == "csv":
        return Response(_csv(matches), media_type="text/csv", headers=headers)
    if format == "netcdf":
        return Response(
            _netcdf(matches, dataset), media_type="application/x-netcdf", headers=headers
        )
    read = CollocationRead(dataset=dataset, dt_s=dt, dx_km=dx, matches=matches)
    return Response(read.model_dump_json(), media_type="application/json", headers=headers)


def _netcdf(matches: list[Match], dataset: str) -> bytes:
    import formats

    out = io.BytesIO()
    formats.write_to(as_datafile(matches, dataset), "netcdf", out)
    return out.getvalue()


class MergeDefine(BaseModel):
    """A merged product: `variables` as `<dataset>:<variable>`; `time_base` 1, 10 or 60
    (seconds) or `dataset:<public id>`; `rule` mean (over [t, t + window)) or nearest
    (within window / 2)."""

    platform: str = Field(min_length=1, max_length=200)
    start: datetime
    stop: datetime
    time_base: str = Field(default="10", max_length=64)
    variables: list[str] = Field(min_length=1, max_length=100)
    rule: Literal["mean", "nearest"] = "mean"
    window_s: float = Field(default=10.0, gt=0, le=3600)


class MergeList(BaseModel):
    """Merged products whose inputs the caller may see, newest first."""

    items: list[MergeView]


@router.get("/merges", dependencies=[forbid_unknown_query()])
def get_merges(session: SessionDep, principal: PrincipalDep, now: NowDep) -> MergeList:
    """Merged-product definitions, their state and the dataset each was built as."""
    return MergeList(items=list_merges(session, principal, now))


@router.post(
    "/merges",
    status_code=201,
    responses={
        401: {"description": "Not signed in"},
        403: {"description": "An input is not readable"},
        404: {"description": "No such input dataset"},
    },
)
def post_merge(
    body: MergeDefine, session: SessionDep, principal: SignedInDep, now: NowDep
) -> dict[str, int]:
    """Define a merged product (staff or a PI who reads every input); the worker builds it."""
    request = MergeRequest(
        body.platform, body.start, body.stop, body.time_base, body.variables, body.rule,
        body.window_s,
    )  # fmt: skip
    return {"id": define_merge(session, principal, now, request).id}
