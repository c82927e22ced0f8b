"""The jobs pages: a PI's own job definitions (staff: all) with their latest runs, and the
forms to define, change, pause, resume, run now and delete them (`catalog.jobs`, the rules
of `/api/v1/jobs`: a PI manages only their own, another PI's is a 404).

A refused form comes back as typed with the message on top, focused; every post carries the
CSRF token.
"""

# No `from __future__ import annotations`: FastAPI reads the `Annotated` parameters.
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Form
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog.cids_models import MergeDefinition
from catalog.errors import CatalogError, InvalidQueryError
from catalog.job_models import PERIODS, JobDefinition, TransferSource
from catalog.jobs import (
    define_job,
    delete_job,
    job_of,
    list_jobs,
    run_job_now,
    set_job_enabled,
    update_job,
)
from catalog.registry import list_instruments
from catalog.schemas import Principal
from field_catalog_ui.forms import parse_time, small_count
from field_catalog_ui.rendering import STAFF_ROLES, Page, PageDep, Submitter
from web.deps import CsrfDep, NowDep, SessionDep
from web.params import RowId

router = APIRouter(include_in_schema=False)
RUNS_SHOWN = 10
"""Latest runs shown per definition (the API shows 20)."""
KIND_LABELS = {
    "rerun-qc": "Re-run the QC of an instrument's datasets",
    "pull-transfer": "Pull a transfer source",
    "build-merge": "Build a merged product",
    "daily-digest": "Write a digest of the new versions",
}
PARAM_OF = {"rerun-qc": "instrument_id", "pull-transfer": "source_id", "build-merge": "merge_id"}
"""The one parameter each kind takes from the form (the digest takes this node's campaign
and center)."""
ACTIONS = ("pause", "resume", "run", "delete")
BACK = ("/jobs", "/transfers")
"""Where an action may return to: the jobs page, or the transfer sources page."""


class JobForm(BaseModel):
    """The job form's fields as typed (a browser sends them all, empty or not)."""

    name: str = Field(default="", max_length=200)
    kind: str = Field(default="", max_length=32)
    period: str = Field(default="", max_length=16)
    next_due: str = Field(default="", max_length=64)
    instrument_id: str = Field(default="", max_length=12)
    source_id: str = Field(default="", max_length=12)
    merge_id: str = Field(default="", max_length=12)

    def typed(self) -> dict[str, str]:
        """The fields, trimmed, as the form shows them again."""
        return {name: str(value).strip() for name, value in self.model_dump().items()}


JobFormDep = Annotated[JobForm, Form()]


def choices(session: Session, user: Principal) -> dict[str, list[tuple[int, str]]]:
    """What the caller may name in a job: instruments, their transfer sources and merges."""
    sources = select(TransferSource.id, TransferSource.name).order_by(TransferSource.id)
    merges = select(MergeDefinition).order_by(MergeDefinition.id)
    if user.role not in STAFF_ROLES:
        sources = sources.where(TransferSource.owner_user_id == user.user_id)
        merges = merges.where(MergeDefinition.created_by == user.username)
    return {
        "instrument_id": [(i.id, i.name) for i in list_instruments(session)],
        "source_id": [(int(i), str(n)) for i, n in session.execute(sources)],
        "merge_id": [
            (m.id, f"{m.platform}, {m.start:%Y-%m-%d %H:%M} to {m.stop:%Y-%m-%d %H:%M} UTC")
            for m in session.scalars(merges)
        ],
    }


def job_form(
    page: Page, session: Session, typed: dict[str, str], *, job_id: int | None = None,
    error: str | None = None, status: int = 200,
) -> HTMLResponse:  # fmt: skip
    """The job form, new (`job_id` None) or for a definition, filled with `typed`."""
    context = {
        "title": "Change a job" if job_id else "New job", "job_id": job_id, "typed": typed,
        "error": error, "kinds": KIND_LABELS, "periods": PERIODS,
        "choices": choices(session, page.user), "param_of": PARAM_OF,
    }  # fmt: skip
    return page.render("job_form.html", context, status=status, csrf=True)


def _typed(definition: JobDefinition) -> dict[str, str]:
    typed = {"name": definition.name, "kind": definition.kind, "period": definition.period,
             "next_due": f"{definition.next_due:%Y-%m-%dT%H:%M}"}  # fmt: skip
    param = PARAM_OF.get(definition.kind)
    if param:
        typed[param] = str(definition.params.get(param, ""))
    return typed


def read_job_form(
    typed: dict[str, str], page: Page, now: datetime
) -> tuple[str, dict[str, Any], datetime]:
    """The form's kind, parameters and due time (`InvalidQueryError` saying what is wrong)."""
    kind = typed["kind"]
    if kind not in KIND_LABELS:
        raise InvalidQueryError("Choose what the job does.")
    if typed["period"] not in PERIODS:
        raise InvalidQueryError("Choose how often it runs: hourly, daily or weekly.")
    if not typed["name"]:
        raise InvalidQueryError("Give the job a name.")
    params: dict[str, Any] = {}
    if kind == "daily-digest":
        params = {"campaign": page.node.campaign.code, "center": page.node.center_code}
    else:
        param = PARAM_OF[kind]
        chosen = small_count(typed.get(param, ""))
        if not chosen:
            what = {"instrument_id": "instrument", "source_id": "transfer source",
                    "merge_id": "merged product"}[param]  # fmt: skip
            raise InvalidQueryError(f"Choose the {what} the job works on.")
        params = {param: chosen}
    due = typed["next_due"]
    try:
        next_due = parse_time(due) if due else now
    except (ValueError, OverflowError) as err:
        raise InvalidQueryError("Give the next run as YYYY-MM-DD HH:MM (UTC).") from err
    return kind, params, next_due


@router.get("/jobs", response_class=HTMLResponse)
def jobs_page(page: PageDep, user: Submitter, session: SessionDep) -> HTMLResponse:
    """Definitions, next due times and the latest runs: duration, state, result, error."""
    context = {
        "title": "Scheduled jobs", "jobs": list_jobs(session, user, runs=RUNS_SHOWN),
        "kinds": KIND_LABELS,
    }  # fmt: skip
    return page.render("jobs.html", context, csrf=True)


@router.get("/jobs/new", response_class=HTMLResponse)
def new_job(page: PageDep, user: Submitter, session: SessionDep) -> HTMLResponse:
    """The form of a new job."""
    typed = {"name": "", "kind": "rerun-qc", "period": "daily", "next_due": ""}
    return job_form(page, session, typed)


@router.post("/jobs", response_model=None)
def create_job(
    _csrf: CsrfDep, page: PageDep, user: Submitter, session: SessionDep, now: NowDep,
    form: JobFormDep,
) -> Response:  # fmt: skip
    """Define a job (the caller owns it); refused: the form as typed, the message on top."""
    typed = form.typed()
    try:
        kind, params, due = read_job_form(typed, page, now)
        define_job(session, name=typed["name"], kind=kind, params=params,
                   period=typed["period"], first_due=due, owner=user, now=now)  # fmt: skip
    except CatalogError as err:
        return job_form(page, session, typed, error=str(err), status=400)
    return RedirectResponse("/jobs", status_code=303)


@router.get("/jobs/{job_id}/edit", response_class=HTMLResponse)
def edit_job(job_id: RowId, page: PageDep, user: Submitter, session: SessionDep) -> HTMLResponse:
    """The form of a job, filled with what it is now."""
    return job_form(page, session, _typed(job_of(session, job_id, user)), job_id=job_id)


@router.post("/jobs/{job_id}", response_model=None)
def change_job(
    _csrf: CsrfDep, job_id: RowId, page: PageDep, user: Submitter, session: SessionDep,
    now: NowDep, form: JobFormDep,
) -> Response:  # fmt: skip
    """Change a job; refused: the form as typed, the message on top."""
    definition = job_of(session, job_id, user)
    typed = form.typed()
    try:
        kind, params, due = read_job_form(typed, page, now)
        update_job(session, definition, name=typed["name"], kind=kind, params=params,
                   period=typed["period"], next_due=due, editor=user)  # fmt: skip
    except CatalogError as err:
        return job_form(page, session, typed, job_id=job_id, error=str(err), status=400)
    return RedirectResponse(f"/jobs#job-{job_id}", status_code=303)


@router.post("/jobs/{job_id}/action", response_model=None)
def job_action(
    _csrf: CsrfDep, job_id: RowId, page: PageDep, user: Submitter, session: SessionDep,
    now: NowDep, action: Annotated[str, Form(max_length=16)] = "",
    back: Annotated[str, Form(max_length=32)] = "/jobs",
) -> Response:  # fmt: skip
    """Pause, resume, run now or delete a job, then back to the page the button was on."""
    definition = job_of(session, job_id, user)
    if action not in ACTIONS:
        raise InvalidQueryError(f"action must be one of {', '.join(ACTIONS)}")
    if action == "delete":
        delete_job(session, definition)
    elif action == "run":
        run_job_now(definition, now)
    else:
        set_job_enabled(definition, action == "resume")
    target = back if back in BACK else "/jobs"
    return RedirectResponse(target if action == "delete" else f"{target}#job-{job_id}", 303)
