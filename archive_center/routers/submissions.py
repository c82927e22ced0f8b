"""Submissions: upload a file (multipart, streamed into staging), read its state and report."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from submissions.acceptance import SubmitOptions
from submissions.errors import UploadRefusedError
from submissions.pipeline import submit_file
from submissions.schemas import SubmissionList, SubmissionOut
from submissions.service import get_submission, my_submissions
from submissions.web import Upload, receive_upload
from web.deps import (
    NowDep,
    PrincipalDep,
    SessionDep,
    SettingsDep,
    StoreDep,
    SubmitterDep,
)
from web.errors import PROBLEM_MEDIA_TYPE, PROBLEM_TYPE_PREFIX
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
                        "owner_user_id": {"type": "integer"},
                    },
                }
            }
        },
    }
}


async def get_session_factory(request: Request) -> sessionmaker[Session]:
    """The node's session factory (the pipeline commits each state itself)."""
    factory: sessionmaker[Session] = request.app.state.session_factory
    return factory


def form_options(fields: dict[str, str], settings: Settings) -> tuple[str, SubmitOptions]:
    """The campaign and options named by the form's text fields."""
    known = {"campaign", "category", "access", "release_at", "override", "owner_user_id"}
    known.add("csrf_token")  # a web form may carry it beside the X-CSRF-Token header
    unknown = sorted(set(fields) - known)
    if unknown:
        raise UploadRefusedError(f"unknown form field(s): {', '.join(unknown)}")
    try:
        release = datetime.fromisoformat(fields["release_at"]) if fields.get("release_at") else None
        owner = int(fields["owner_user_id"]) if fields.get("owner_user_id") else None
    except ValueError as err:
        raise UploadRefusedError("release_at must be ISO 8601; owner_user_id a number") from err
    if release is not None and release.tzinfo is None:
        release = release.replace(tzinfo=UTC)
    options = SubmitOptions(
        category=fields.get("category") or None,
        access=fields.get("access") or None,
        release_at=release,
        override=fields.get("override", "").lower() in ("1", "true", "yes", "on"),
        owner_user_id=owner,
        max_bytes=settings.max_upload_bytes,
    )
    return fields.get("campaign") or settings.campaign.code, options


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
    submitter: SubmitterDep,
    settings: SettingsDep,
    store: StoreDep,
    sessions: Annotated[sessionmaker[Session], Depends(get_session_factory)],
    request_session: SessionDep,
    now: NowDep,
) -> JSONResponse:
    """Upload one file; 201 with the dataset and warnings, 422 with the report."""
    # Sign-in is settled: give the request's connection back before the body streams, so
    # slow uploads never hold the pool (the pipeline commits each state on its own).
    request_session.commit()
    upload: Upload = await receive_upload(
        request.stream(), request.headers.get("content-type", ""), store,
        settings.max_upload_bytes,
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
    out = SubmissionOut.of(result)
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
    return SubmissionOut.of(get_submission(session, submission_id, principal))


@router.get("/submissions", response_model=SubmissionList)
def list_submissions(
    principal: PrincipalDep,
    session: SessionDep,
    mine: Annotated[bool, Query(description="only the caller's own (staff see all)")] = True,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> SubmissionList:
    """The caller's submissions, newest first."""
    results = my_submissions(session, principal, mine=mine, limit=limit)
    return SubmissionList(items=[SubmissionOut.of(r) for r in results])
