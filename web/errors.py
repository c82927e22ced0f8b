"""One error path: one table maps domain errors to a status; the answer fits the client.

An API client gets an RFC 9457 problem document; a browser (its `Accept` prefers `text/html`
to JSON) gets the HTML error page the app registered (`install_error_handlers(app,
error_page=...)`), so an unknown path or a domain error on a page never shows raw JSON to a
person. A client stating no preference (`*/*`, or no `Accept`) gets what the URL serves: a
page for a GET of a page URL (outside `api_prefix`), a problem document for anything else,
so scripts posting forms still read a machine answer.

Client messages never carry paths, SQL or stack traces: unexpected exceptions are logged
here, at the request boundary, and the client gets a bare 500.
"""

from __future__ import annotations

import http
import logging
import re
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from catalog.errors import (
    AuthenticationRequiredError,
    BusyError,
    CatalogError,
    ConflictError,
    DoiNotConfiguredError,
    DoiServiceError,
    InvalidCredentialsError,
    InvalidQueryError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitedError,
    RoleRequiredError,
)
from federation.errors import (
    FederationError,
    PeerProtocolError,
    PeerUnreachableError,
    SignatureError,
    UnknownPeerError,
)
from formats.model import FormatError, InvalidFileError, UnknownFormatError, WriteError
from submissions.errors import (
    SubmissionError,
    SubmissionForbiddenError,
    UnsafeNameError,
    UploadIncompleteError,
    UploadRefusedError,
    UploadTooLargeError,
)
from web.links import OPENDAP_PREFIX

logger = logging.getLogger(__name__)

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_TYPE_PREFIX = "urn:fieldcat:problem:"
API_PREFIX = "/api/"
MACHINE_PREFIXES = (API_PREFIX, f"{OPENDAP_PREFIX}/", "/stac", "/oai")
MACHINE_SUFFIXES = (".atom",)
"""Paths below these prefixes (the API, OPeNDAP, STAC, OAI-PMH) or with these suffixes (Atom
feeds) serve machines; everything else is a page (`wants_html`)."""
_HTML_TYPES = ("text/html",)
_JSON_TYPES = ("application/json", PROBLEM_MEDIA_TYPE)

ErrorPage = Callable[[Request, int, str, str | None], Response]
"""Renders the HTML answer for (request, status, title, detail); registered by the app, so
this package never imports the templates' package. It may answer 401 with a redirect to the
sign-in page."""


class CsrfError(Exception):
    """A cookie-authenticated write without the CSRF token its session expects."""


# Domain error -> (HTTP status, problem slug). The most specific class comes first.
ERROR_TABLE: tuple[tuple[type[Exception], int, str], ...] = (
    (NotFoundError, 404, "not-found"),
    (AuthenticationRequiredError, 401, "authentication-required"),
    (RoleRequiredError, 403, "forbidden"),
    (InvalidCredentialsError, 403, "invalid-credentials"),
    (CsrfError, 403, "csrf-failed"),
    (RateLimitedError, 429, "too-many-attempts"),
    (BusyError, 503, "busy"),
    (PermissionDeniedError, 403, "data-not-released"),
    (InvalidQueryError, 400, "invalid-query"),
    (ConflictError, 409, "conflict"),
    (DoiNotConfiguredError, 409, "doi-not-configured"),
    (DoiServiceError, 502, "doi-service-error"),
    (CatalogError, 400, "catalog-error"),
    (WriteError, 422, "cannot-convert"),
    (InvalidFileError, 422, "invalid-file"),
    (UnknownFormatError, 422, "unknown-format"),
    (FormatError, 422, "format-error"),
    (UploadTooLargeError, 413, "upload-too-large"),
    (UnsafeNameError, 400, "unsafe-file-name"),
    (UploadIncompleteError, 400, "upload-incomplete"),
    (UploadRefusedError, 400, "upload-refused"),
    (SubmissionForbiddenError, 403, "submission-forbidden"),
    (SubmissionError, 400, "submission-error"),
    (SignatureError, 401, "bad-signature"),
    (UnknownPeerError, 404, "unknown-peer"),
    (PeerUnreachableError, 502, "peer-unreachable"),
    (PeerProtocolError, 502, "peer-protocol"),
    (FederationError, 400, "federation-error"),
)

# A server path (`/srv/a/b`, `C:\\data\\x`), not one of our own URL paths (`/api/v1/...`),
# which messages name to tell the client where to go.
_ABSOLUTE_PATH = re.compile(
    r"(?<![\w.\-~/\\])(?:[A-Za-z]:)?(?![\\/]api/v1/)(?:[\\/][\w.\-~]+){2,}[\\/]?"
)


class FieldProblem(BaseModel):
    """One thing wrong with a request (a 422's `errors` list)."""

    loc: list[str | int]
    msg: str
    type: str


class Problem(BaseModel):
    """An RFC 9457 problem document."""

    type: str = "about:blank"
    title: str
    status: int = Field(ge=400, le=599)
    detail: str | None = None
    instance: str | None = None
    errors: list[FieldProblem] | None = None


class UnknownParameterError(Exception):
    """The request carries query parameters the route does not know."""

    def __init__(self, names: list[str]) -> None:
        super().__init__("unknown query parameter(s): " + ", ".join(sorted(names)))
        self.names = names


def safe_message(message: str) -> str:
    """A domain message with anything that looks like a filesystem path removed."""
    return _ABSOLUTE_PATH.sub("<file>", message)[:2000]


def problem_response(
    request: Request,
    status: int,
    *,
    slug: str | None = None,
    detail: str | None = None,
    errors: list[FieldProblem] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """A problem document response for `request`."""
    problem = Problem(
        type=PROBLEM_TYPE_PREFIX + slug if slug else "about:blank",
        title=_title(status),
        status=status,
        detail=detail,
        instance=request.url.path,
        errors=errors,
    )
    # Problems may depend on who asks (a 403 for one caller is data for another).
    all_headers = {"Cache-Control": "no-store", "Vary": "Cookie, Authorization"}
    all_headers |= headers or {}
    return JSONResponse(
        problem.model_dump(exclude_none=True),
        status_code=status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers=all_headers,
    )


def _accept_ranges(accept: str) -> dict[str, float]:
    """`Accept` as {media range: q} (a malformed q counts as 0)."""
    ranges: dict[str, float] = {}
    for item in accept.split(","):
        media, *params = (part.strip() for part in item.split(";"))
        if not media:
            continue
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        ranges[media.lower()] = q
    return ranges


def _quality(ranges: dict[str, float], types: tuple[str, ...]) -> float:
    """The best q `ranges` give any of `types`; the most specific range decides (RFC 9110).

    A type reached only through a wildcard counts a hair less than a named one, so
    `text/html, */*` prefers HTML.
    """
    best = 0.0
    for media in types:
        family = media.split("/")[0] + "/*"
        if media in ranges:
            q = ranges[media]
        elif family in ranges:
            q = ranges[family] - 0.001
        elif "*/*" in ranges:
            q = ranges["*/*"] - 0.001
        else:
            continue
        best = max(best, q)
    return best


def wants_html(request: Request) -> bool:
    """Whether the error answer to `request` is an HTML page (see the module docstring)."""
    if getattr(request.app.state, "error_page", None) is None:
        return False
    ranges = _accept_ranges(request.headers.get("accept", "") or "*/*")
    html, json_q = _quality(ranges, _HTML_TYPES), _quality(ranges, _JSON_TYPES)
    if html != json_q:
        return html > json_q
    path = request.url.path
    is_page = not (path.startswith(MACHINE_PREFIXES) or path.endswith(MACHINE_SUFFIXES))
    return is_page and request.method in ("GET", "HEAD")


def error_response(
    request: Request,
    status: int,
    *,
    slug: str | None = None,
    detail: str | None = None,
    errors: list[FieldProblem] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """The error answer for `request`: the HTML error page for a browser, else a problem."""
    if wants_html(request):
        render: ErrorPage = request.app.state.error_page
        page = render(request, status, _title(status), detail)
        for name, value in (headers or {}).items():
            page.headers.setdefault(name, value)
        return page
    return problem_response(
        request, status, slug=slug, detail=detail, errors=errors, headers=headers
    )


def _title(status: int) -> str:
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def _loc(loc: Any) -> list[str | int]:
    return [part if isinstance(part, int) else str(part) for part in loc]


def field_problems(errors: Any) -> list[FieldProblem]:
    """The validation errors as client-safe field problems (no echoed input, no context)."""
    return [
        FieldProblem(loc=_loc(err.get("loc", ())), msg=str(err.get("msg", "")), type=err["type"])
        for err in errors
    ]


async def _validation_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    problems = field_problems(exc.errors())
    summary = "; ".join(f"{'.'.join(map(str, p.loc))}: {p.msg}" for p in problems[:5])
    return error_response(
        request, 422, slug="invalid-request", detail=summary or None, errors=problems
    )


async def _http_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    detail: str | None = exc.detail if isinstance(exc.detail, str) else None
    if detail == http.HTTPStatus(exc.status_code).phrase:
        detail = None
    headers = dict(exc.headers) if exc.headers else None
    return error_response(request, exc.status_code, detail=detail, headers=headers)


async def _unknown_parameter_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, UnknownParameterError)
    errors = [
        FieldProblem(loc=["query", name], msg="unknown parameter", type="extra_forbidden")
        for name in sorted(exc.names)
    ]
    return error_response(request, 400, slug="unknown-parameter", detail=str(exc), errors=errors)


def _problem_headers(exc: Exception) -> dict[str, str] | None:
    if isinstance(exc, AuthenticationRequiredError):
        if exc.basic:
            return {"WWW-Authenticate": 'Basic realm="fieldcat", Bearer realm="fieldcat"'}
        return {"WWW-Authenticate": 'Bearer realm="fieldcat"'}
    if isinstance(exc, RateLimitedError | BusyError):
        return {"Retry-After": str(exc.retry_after_s)}
    return None


async def _domain_handler(request: Request, exc: Exception) -> Response:
    for error_class, status, slug in ERROR_TABLE:
        if isinstance(exc, error_class):
            detail = safe_message(str(exc))
            headers = _problem_headers(exc)
            return error_response(request, status, slug=slug, detail=detail, headers=headers)
    return await _unexpected_handler(request, exc)


async def _unexpected_handler(request: Request, exc: Exception) -> Response:
    logger.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(request, 500, detail="internal error; it has been logged")


def install_error_handlers(app: FastAPI, *, error_page: ErrorPage | None = None) -> None:
    """Answer every error of `app` through `error_response`.

    `error_page` renders the HTML answer for browsers; without it every answer is a problem.
    """
    app.state.error_page = error_page
    app.add_exception_handler(RequestValidationError, _validation_handler)
    app.add_exception_handler(StarletteHTTPException, _http_handler)
    app.add_exception_handler(UnknownParameterError, _unknown_parameter_handler)
    for error_class, _, _ in ERROR_TABLE:
        app.add_exception_handler(error_class, _domain_handler)
    app.add_exception_handler(Exception, _unexpected_handler)


def _problem_content(ref: str) -> dict[str, Any]:
    return {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": ref}}}


def _is_error(code: str) -> bool:
    return code.startswith(("4", "5")) or code == "default"


def _default_error_content(response: dict[str, Any]) -> bool:
    content = response.get("content")
    return not content or "HTTPValidationError" in str(content)


def install_problem_openapi(app: FastAPI) -> None:
    """Document every error response of `app` as a problem document in its OpenAPI."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes
        )
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        problem_schema = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
        components.update(problem_schema.pop("$defs", {}))
        components["Problem"] = problem_schema
        for name in ("HTTPValidationError", "ValidationError"):
            components.pop(name, None)
        ref = "#/components/schemas/Problem"
        for path_item in schema.get("paths", {}).values():
            for operation in path_item.values():
                responses = operation.setdefault("responses", {})
                for code, response in responses.items():
                    if _is_error(code) and _default_error_content(response):
                        response["content"] = _problem_content(ref)
                responses.setdefault(
                    "4XX", {"description": "Client error", "content": _problem_content(ref)}
                )
                responses.setdefault(
                    "5XX", {"description": "Server error", "content": _problem_content(ref)}
                )
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
