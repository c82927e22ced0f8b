"""Submissions: upload a file (multipart, streamed into staging), read its state and report."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from catalog.schemas import Principal, Role
from catalog.sqltypes import INT32_MAX
from submissions.acceptance import SubmitOptions
from submissions.options import submission_options
from submissions.pipeline import submit_file
from submissions.schemas import SubmissionList, SubmissionOut
from submissions.service import get_submission, my_submissions
from submissions.web import Upload, receive_upload
from web.deps import (
    NowDep,
    PrincipalDep,
    SessionDep,
    SessionFactoryDep,
    SettingsDep,
    StoreDep,
    require_role,
)
from web.errors import PROBLEM_MEDIA_TYPE, PROBLEM_TYPE_PREFIX
from web.form_upload import ApiUploadCsrfDep, csrf_before_file
from web.links import API_LINKS
from web.settings import Settings

router = APIRouter(tags=["submissions"])
UPLOAD_DOC = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {"type": "string", "format": "binary"},
                        "campaign": {"type": "string"},
                        "category": {"type": "string", "enum": ["research", "operational"]},
                        "access": {"type": "string", "enum": ["open", "embargoed", "private"]},
                        "release_at": {"type": "string", "format": "date-time"},
                        "override": {"type": "boolean"},
                        "owner_user_id": {"type": "integer", "minimum": 1, "maximum": INT32_MAX},
                    },
                }
            }
        },
    }
}


def form_options(fields: dict[str, str], settings: Settings) -> tuple[str, SubmitOptions]:
    """The campaign and options named by the form's text fields (`submission_options`)."""
    return submission_options(
        fields,
        default_campaign=settings.campaign.code,
        max_bytes=settings.max_upload_bytes,
        limits=settings.limits.to_limits(),
    )


def rejected_response(out: SubmissionOut) -> JSONResponse:
    """422 problem document that carries the submission and its report."""
    errors = [d for d in out.report.get("diagnostics", []) if d.get("severity") == "error"]
    detail = errors[0]["message"] if errors else "the file was rejected"
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_PREFIX + "submission-rejected",
        "title": "Unprocessable Content",
        "status": 422,
        "detail": detail,
        "instance": out.links["self"],
        "submission": out.model_dump(mode="json"),
    }
    headers = {"Cache-Control": "no-store", "Location": out.links["self"]}
    return JSONResponse(body, 422, headers=headers, media_type=PROBLEM_MEDIA_TYPE)


@router.post(
    "/submissions",
    status_code=201,
    response_model=SubmissionOut,
    openapi_extra=UPLOAD_DOC,
    responses={200: {"description": "The same bytes were submitted before"},
               413: {"description": "Over the size limit"}, 422: {"description": "Rejected"}},
)  # fmt: skip
async def create_submission(
    request: Request,
    csrf: ApiUploadCsrfDep,
    submitter: Annotated[Principal, require_role(Role.PI, Role.STAFF, Role.ADMIN)],
    settings: SettingsDep,
    store: StoreDep,
    sessions: SessionFactoryDep,
    request_session: SessionDep,
    now: NowDep,
) -> JSONResponse:
    """Upload one file; 201 with the dataset and warnings, 422 with the report.

    The caller and (for a browser session) the CSRF token are checked before a byte of the
    file is staged, as on the upload page (`web.form_upload`).
    """
    # Sign-in is settled: give the request's connection back before the body streams, so
    # slow uploads never hold the pool (the pipeline commits each state on its own).
    request_session.commit()
    upload: Upload = await receive_upload(
        request.stream(), request.headers.get("content-type", ""), store,
        settings.max_upload_bytes, before_file=csrf_before_file(csrf),
    )  # fmt: skip
    try:
        campaign, options = form_options(upload.fields, settings)
        result = await run_in_threadpool(
            lambda: submit_file(
                sessions, store, source=upload.staged, original_name=upload.filename,
                submitter=submitter, center_code=settings.center_code, campaign=campaign,
                receiver="api", options=options, now=now,
            )
        )  # fmt: skip
    finally:
        upload.discard()
    out = SubmissionOut.of(result, API_LINKS)
    if not result.accepted:
        return rejected_response(out)
    status = 200 if result.duplicate else 201
    headers = {"Location": out.links["self"], "Cache-Control": "no-store"}
    return JSONResponse(out.model_dump(mode="json"), status, headers=headers)


@router.get("/submissions/{submission_id}", response_model=SubmissionOut)
def read_submission(
    submission_id: str, principal: PrincipalDep, session: SessionDep
) -> SubmissionOut:
    """A submission's state and report (its PI and staff only)."""
    return SubmissionOut.of(get_submission(session, submission_id, principal), API_LINKS)


@router.get("/submissions", response_model=SubmissionList)
def list_submissions(
    principal: PrincipalDep,
    session: SessionDep,
    mine: Annotated[bool, Query(description="only the caller's own (staff see all)")] = True,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> SubmissionList:
    """The caller's submissions, newest first."""
    results = my_submissions(session, principal, mine=mine, limit=limit)
    return SubmissionList(items=[SubmissionOut.of(r, API_LINKS) for r in results])
