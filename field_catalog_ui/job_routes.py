"""The jobs page: a PI's own job definitions (staff: all) with their latest runs."""

# No `from __future__ import annotations`: FastAPI reads the `Annotated` parameters.
from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from catalog.jobs import list_jobs
from field_catalog_ui.rendering import PageDep, Submitter
from web.deps import SessionDep

router = APIRouter(include_in_schema=False)
RUNS_SHOWN = 10
"""Latest runs shown per definition (the API shows 20)."""


@router.get("/jobs", response_class=HTMLResponse)
def jobs_page(page: PageDep, user: Submitter, session: SessionDep) -> HTMLResponse:
    """Definitions, next due times and the latest runs: duration, state, result, error."""
    context = {"title": "Scheduled jobs", "jobs": list_jobs(session, user, runs=RUNS_SHOWN)}
    return page.render("jobs.html", context)
