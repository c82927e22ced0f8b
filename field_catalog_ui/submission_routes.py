"""PI pages: the upload form (data files and products) with its report inline, and the
caller's own submissions. Both call the submissions package, as the REST route does."""

# No `from __future__ import annotations`: FastAPI must see the local `Annotated` aliases.

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from catalog.errors import NotFoundError
from catalog.schemas import Principal, Role
from field_catalog_ui.deps import NodeInfo, UiDeps
from field_catalog_ui.forms import parse_time
from field_catalog_ui.rendering import STAFF_ROLES, Renderer
from field_catalog_ui.upload import excerpt, finding_lines
from submissions.acceptance import SubmitOptions
from submissions.errors import SubmissionError
from submissions.pipeline import SubmissionResult, submit_file
from submissions.service import get_submission, my_submissions, products_page
from web.links import API_LINKS

SUBMITTERS = (Role.PI, *STAFF_ROLES)
UPLOAD_ACCESS = {"": "Campaign default", "open": "Open", "embargoed": "Embargoed",
                 "private": "Private"}  # fmt: skip


def _options(form: dict[str, str], max_bytes: int) -> SubmitOptions:
    release = form.get("release_at", "").strip()
    return SubmitOptions(
        category=form.get("category") or None,
        access=form.get("access") or None,
        release_at=parse_time(release) if release else None,
        max_bytes=max_bytes,
    )


def product_groups(items: list[Any]) -> list[tuple[str, list[tuple[str, list[Any]]]]]:
    """Products by day (newest first), then by source (platform), as the gallery shows them."""
    days: dict[str, dict[str, list[Any]]] = {}
    for item in items:
        day = item.time.strftime("%Y-%m-%d")
        days.setdefault(day, {}).setdefault(item.source, []).append(item)
    return [(day, sorted(by_source.items())) for day, by_source in days.items()]


def add_submission_routes(router: APIRouter, deps: UiDeps, render: Renderer) -> None:
    """`GET/POST /upload`, `GET /submissions`, `GET /submissions/{id}`."""
    SessionDep = Annotated[Session, Depends(deps.session, scope="function")]
    PrincipalDep = Annotated[Principal, Depends(deps.principal)]
    NowDep = Annotated[Any, Depends(deps.now)]
    NodeDep = Annotated[Any, Depends(deps.settings)]
    StoreDep = Annotated[Any, Depends(deps.store)]
    FactoryDep = Annotated[sessionmaker[Session], Depends(deps.session_factory)]

    def gate(request: Request, principal: Principal, node: NodeInfo) -> Response | None:
        if principal.user_id is None:
            target = quote(request.url.path, safe="/")
            return RedirectResponse(f"/signin?next={target}", status_code=303)
        if principal.role not in SUBMITTERS:
            context = {"title": "PIs only", "message": "Sign in as a PI or staff to upload."}
            return render.page(request, node, "error.html", context, status=403, user=principal)
        return None

    def page(request: Request, node: NodeInfo, principal: Principal, **extra: Any) -> Response:
        context = {"title": "Upload a file", "access_choices": UPLOAD_ACCESS, "result": None,
                   "excerpt": [], "error": None, "form": {}} | extra  # fmt: skip
        status = 400 if extra.get("error") else 422 if extra.get("rejected") else 200
        return render.page(request, node, "upload.html", context, status=status, user=principal)

    @router.get("/upload", response_model=None)
    def upload_form(request: Request, principal: PrincipalDep, node: NodeDep) -> Response:
        return gate(request, principal, node) or page(request, node, principal)

    @router.post("/upload", response_model=None, dependencies=[Depends(deps.verify_csrf)])
    async def upload(
        request: Request,
        principal: PrincipalDep,
        node: NodeDep,
        now: NowDep,
        store: StoreDep,
        factory: FactoryDep,
    ) -> Response:
        refused = gate(request, principal, node)
        if refused is not None:
            return refused
        form = await request.form()
        file = form.get("file")
        fields = {k: v for k, v in form.items() if isinstance(v, str)}
        if not isinstance(file, UploadFile) or not file.filename:
            return page(request, node, principal, error="Choose a file to upload.", form=fields)
        try:
            options = _options(fields, node.max_upload_bytes)
            result: SubmissionResult = await run_in_threadpool(
                lambda: submit_file(
                    factory, store, source=file.file, original_name=file.filename or "upload",
                    submitter=principal, center_code=node.center_code,
                    campaign=node.campaign.code, receiver="web", options=options, now=now,
                )
            )  # fmt: skip
        except (SubmissionError, ValueError) as err:
            message = str(err) if isinstance(err, SubmissionError) else "Check the release date."
            return page(request, node, principal, error=message, form=fields)
        lines = await run_in_threadpool(excerpt, file.file, finding_lines(result.report))
        return page(request, node, principal, result=result, excerpt=lines,
                    rejected=not result.accepted, form=fields)  # fmt: skip

    @router.get("/products", response_model=None)
    def products(
        request: Request,
        session: SessionDep,
        principal: PrincipalDep,
        node: NodeDep,
        store: StoreDep,
        source: Annotated[str, Query(max_length=100)] = "",
        day: Annotated[str, Query(max_length=10)] = "",
    ) -> Response:
        error, start, end = None, None, None
        if day.strip():
            try:
                start = parse_time(day.strip())
                end = parse_time(day.strip(), end_of_day=True)
            except ValueError:
                error = "Give the day as YYYY-MM-DD."
        found = products_page(
            session,
            store,
            principal,
            links=API_LINKS,
            source=source.strip() or None,
            start=start,
            end=end,
            limit=500,
        )
        context = {"title": "Products", "groups": product_groups(found.items),
                   "source": source, "day": day, "error": error}  # fmt: skip
        status = 400 if error else 200
        return render.page(request, node, "products.html", context, status=status, user=principal)

    @router.get("/staff/rejected", response_model=None)
    def rejected(
        request: Request, session: SessionDep, principal: PrincipalDep, node: NodeDep
    ) -> Response:
        refused = gate(request, principal, node)
        if refused is not None:
            return refused
        if principal.role not in STAFF_ROLES:
            denied = {"title": "Staff only", "message": "This page is for center staff."}
            return render.page(request, node, "error.html", denied, status=403, user=principal)
        everyone = my_submissions(session, principal, mine=False, limit=1000)
        items = [s for s in everyone if s.state == "rejected"]
        context = {"title": "Rejected submissions", "items": items}
        return render.page(request, node, "rejected.html", context, user=principal)

    @router.get("/submissions", response_model=None)
    def mine(
        request: Request, session: SessionDep, principal: PrincipalDep, node: NodeDep
    ) -> Response:
        refused = gate(request, principal, node)
        if refused is not None:
            return refused
        context = {"title": "My submissions", "items": my_submissions(session, principal)}
        return render.page(request, node, "submissions.html", context, user=principal)

    @router.get("/submissions/{submission_id}", response_model=None)
    def one(
        request: Request,
        submission_id: str,
        session: SessionDep,
        principal: PrincipalDep,
        node: NodeDep,
    ) -> Response:
        refused = gate(request, principal, node)
        if refused is not None:
            return refused
        try:
            result = get_submission(session, submission_id, principal)
        except (NotFoundError, SubmissionError):
            missing = {"title": "Not found", "message": "There is no such submission of yours."}
            return render.page(request, node, "error.html", missing, status=404, user=principal)
        context = {"title": f"Submission {result.original_name}", "result": result, "excerpt": []}
        return render.page(request, node, "submission.html", context, user=principal)
