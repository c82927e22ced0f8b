"""The web form's upload, taken in by the same streaming intake as the REST route
(`submissions.web.receive_upload`), with its checks in the order that costs no bytes:

1. the CSRF dependency (`FormUploadCsrfDep`) settles what it can without the body: a
   `X-CSRF-Token` header is checked there; a caller who could not carry the right token
   (none expected, or not a multipart body) is refused there;
2. the role dependency (`web.deps.require_role`) refuses anonymous and wrong-role callers;
3. only then is the body streamed: the form's `csrf_token` field must come before the file
   part (browsers send fields in page order, and the form puts it first), and is checked
   before a byte of the file is staged; the size limit holds while streaming.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request

from catalog.storage import ArchiveStore
from submissions.web import Upload, receive_upload
from web.auth import CSRF_FIELD, CSRF_HEADER, expected_csrf, same_token
from web.deps import CallerDep
from web.errors import CsrfError

_MULTIPART = "multipart/form-data"


async def form_upload_csrf(request: Request, caller: CallerDep) -> str | None:
    """The token the body's `csrf_token` field must hold, or None when the header proved it.

    Raises `CsrfError` without reading the body when the request cannot carry the token.
    """
    expected = expected_csrf(request)
    header = request.headers.get(CSRF_HEADER)
    if header is not None:
        if not same_token(expected, header):
            raise CsrfError("the form's CSRF token is missing or wrong; reload the page")
        return None
    multipart = request.headers.get("content-type", "").startswith(_MULTIPART)
    if not expected or not multipart:
        raise CsrfError("the form's CSRF token is missing or wrong; reload the page")
    return expected


FormUploadCsrfDep = Annotated[str | None, Depends(form_upload_csrf)]


def csrf_before_file(expected: str | None) -> Callable[[dict[str, str]], None]:
    """The check `receive_upload` runs when the file part begins (`CsrfError` when wrong)."""

    def check(fields: dict[str, str]) -> None:
        if expected is not None and not same_token(expected, fields.get(CSRF_FIELD)):
            raise CsrfError("the form's CSRF token is missing or wrong; reload the page")

    return check


async def receive_form_upload(
    request: Request, store: ArchiveStore, limit: int, expected_token: str | None
) -> Upload:
    """Stream the form's body into staging (see the module docstring for the checks)."""
    return await receive_upload(
        request.stream(), request.headers.get("content-type", ""), store, limit,
        before_file=csrf_before_file(expected_token),
    )  # fmt: skip


async def api_upload_csrf(request: Request, caller: CallerDep) -> str | None:
    """The REST upload's flavour: only a cookie-authenticated caller needs the token.

    A Bearer token or no credentials need none (a browser adds neither by itself);
    a signed-in browser session is checked as `form_upload_csrf` checks the form.
    """
    from web.auth import SESSION_COOKIE

    bearer = request.headers.get("authorization", "").lower().startswith("bearer ")
    if bearer or caller.user_id is None or not request.cookies.get(SESSION_COOKIE):
        return None
    return await form_upload_csrf(request, caller)


ApiUploadCsrfDep = Annotated[str | None, Depends(api_upload_csrf)]
