"""PI pages: the upload form (data files and products) with its report inline, the products
gallery, and the caller's own submissions. All call the submissions package, and the upload
takes the REST route's road: streamed into staging by `submissions.web.receive_upload`, the
sign-in and role check done before a byte of the body is read (`web.form_upload`)."""

# No `from __future__ import annotations`: FastAPI reads the `Annotated` parameters.

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

from catalog.storage import ArchiveStore
from field_catalog_ui.forms import parse_time
from field_catalog_ui.rendering import Page, PageDep, StaffUser, Submitter
from field_catalog_ui.upload import file_excerpt, submitted_bytes
from submissions.errors import UploadRefusedError, UploadTooLargeError
from submissions.options import CSRF_FIELD, SubmissionFieldsError, submission_options
from submissions.pipeline import SubmissionResult, submit_file
from submissions.service import get_submission, my_submissions, products_page
from submissions.web import Upload
from web.deps import NowDep, SessionDep, SessionFactoryDep, StoreDep
from web.form_upload import FormUploadCsrfDep, receive_form_upload
from web.links import API_LINKS

UPLOAD_ACCESS = {"": "Campaign default", "open": "Open", "embargoed": "Embargoed",
                 "private": "Private"}  # fmt: skip
FIELD_LABELS = {"release_at": "Release date", "category": "Category", "access": "Access"}

router = APIRouter(include_in_schema=False)


def product_groups(items: list[Any]) -> list[tuple[str, list[tuple[str, list[Any]]]]]:
    """Products by day (newest first), then by source (platform), as the gallery shows them."""
    days: dict[str, dict[str, list[Any]]] = {}
    for item in items:
        day = item.time.strftime("%Y-%m-%d")
        days.setdefault(day, {}).setdefault(item.source, []).append(item)
    return [(day, sorted(by_source.items())) for day, by_source in days.items()]


def upload_page(page: Page, *, status: int = 200, **shown: Any) -> HTMLResponse:
    """The upload form, with a refusal's message or a submission's report."""
    context = {"title": "Upload a file", "access_choices": UPLOAD_ACCESS, "result": None,
               "excerpt": [], "error": None, "form": {}} | shown  # fmt: skip
    return page.render("upload.html", context, status=status)


def fields_message(err: SubmissionFieldsError) -> str:
    """One sentence per unreadable field, named as the form labels it."""
    return " ".join(f"{FIELD_LABELS.get(k, k)}: {v}." for k, v in err.problems.items())


def refusal_status(err: UploadRefusedError) -> int:
    """413 for a file over the limit, else 400."""
    return 413 if isinstance(err, UploadTooLargeError) else 400


def take_upload(
    page: Page, upload: Upload, store: ArchiveStore, factory: Any, now: Any
) -> HTMLResponse:
    """Submit the staged file as `page.user`; the page with its report (422 when rejected).

    Runs in a thread: validation reads the file.
    """
    fields = {k: v for k, v in upload.fields.items() if k != CSRF_FIELD}
    try:
        campaign, options = submission_options(
            upload.fields, default_campaign=page.node.campaign.code,
            max_bytes=page.node.max_upload_bytes, limits=page.node.limits.to_limits(),
        )  # fmt: skip
        result: SubmissionResult = submit_file(
            factory, store, source=upload.staged, original_name=upload.filename,
            submitter=page.user, center_code=page.node.center_code, campaign=campaign,
            receiver="web", options=options, now=now,
        )  # fmt: skip
    except SubmissionFieldsError as err:
        return upload_page(page, error=fields_message(err), form=fields, status=400)
    except UploadRefusedError as err:
        return upload_page(page, error=str(err), form=fields, status=refusal_status(err))
    lines = file_excerpt(submitted_bytes(store, result, upload.staged.path), result.report)
    status = 200 if result.accepted else 422
    return upload_page(page, result=result, excerpt=lines, form=fields, status=status)


@router.get("/upload", response_class=HTMLResponse)
def upload_form(page: PageDep, user: Submitter) -> HTMLResponse:
    """The upload form."""
    return upload_page(page)


@router.post("/upload", response_class=HTMLResponse)
async def upload(
    csrf: FormUploadCsrfDep,
    page: PageDep,
    user: Submitter,
    session: SessionDep,
    store: StoreDep,
    factory: SessionFactoryDep,
    now: NowDep,
) -> HTMLResponse:
    """Take one file in and show its report (422 when rejected)."""
    session.commit()  # the caller is settled: no connection is held while the body streams
    try:
        received = await receive_form_upload(page.request, store, page.node.max_upload_bytes, csrf)
    except UploadRefusedError as err:
        return upload_page(page, error=str(err), status=refusal_status(err))
    try:
        return await run_in_threadpool(take_upload, page, received, store, factory, now)
    finally:
        received.discard()


@router.get("/products", response_class=HTMLResponse)
def products(
    page: PageDep,
    session: SessionDep,
    store: StoreDep,
    source: Annotated[str, Query(max_length=100)] = "",
    day: Annotated[str, Query(max_length=10)] = "",
) -> HTMLResponse:
    """The products gallery, optionally of one source or one day."""
    error, start, end = None, None, None
    if day.strip():
        try:
            start, end = parse_time(day.strip()), parse_time(day.strip(), end_of_day=True)
        except ValueError:
            error = "Give the day as YYYY-MM-DD."
    found = products_page(session, store, page.user, links=API_LINKS, source=source.strip() or None,
                          start=start, end=end, limit=500)  # fmt: skip
    context = {"title": "Products", "groups": product_groups(found.items),
               "source": source, "day": day, "error": error}  # fmt: skip
    return page.render("products.html", context, status=400 if error else 200)


@router.get("/staff/rejected", response_class=HTMLResponse)
def rejected(page: PageDep, user: StaffUser, session: SessionDep) -> HTMLResponse:
    """Every rejected submission (staff)."""
    everyone = my_submissions(session, user, mine=False, limit=1000)
    items = [s for s in everyone if s.state == "rejected"]
    return page.render("rejected.html", {"title": "Rejected submissions", "items": items})


@router.get("/submissions", response_class=HTMLResponse)
def mine(page: PageDep, user: Submitter, session: SessionDep) -> HTMLResponse:
    """The caller's submissions."""
    context = {"title": "My submissions", "items": my_submissions(session, user)}
    return page.render("submissions.html", context)


@router.get("/submissions/{submission_id}", response_class=HTMLResponse)
def one(submission_id: str, page: PageDep, user: Submitter, session: SessionDep) -> HTMLResponse:
    """One of the caller's submissions with its report."""
    result = get_submission(session, submission_id, user)
    context = {"title": f"Submission {result.original_name}", "result": result, "excerpt": []}
    return page.render("submission.html", context)
