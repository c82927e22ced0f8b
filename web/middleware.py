"""The node's one middleware, pure ASGI: it never touches a request or response body.

For every request it:
- refuses writes on the read-only public face (403 problem), except `READ_ONLY_POSTS`;
- adds `Referrer-Policy: no-referrer` and `X-Content-Type-Options: nosniff`;
- marks every answer as varying by caller (`Vary: Cookie, Authorization`), and an answer to a
  caller presenting credentials as `Cache-Control: no-store`;
- sets the anonymous CSRF cookie when a page handed out a fresh token;
- answers HEAD by running the GET route itself, with the same checks and the same headers
  (`Content-Length` included), and sending no body (SECURITY.md row 13). The route stops at
  its first body chunk, so a HEAD on a 1 GB original reads nothing of it.

It is written against the raw ASGI interface rather than Starlette's `BaseHTTPMiddleware`:
that class runs the endpoint in a separate task and passes every body chunk through a memory
stream in both directions, which halved the throughput of large uploads and downloads.
Only the `http.response.start` message is rewritten; body messages pass straight through.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.responses import Response

from web.auth import (
    CSRF_COOKIE,
    READ_ONLY_POSTS,
    SAFE_METHODS,
    carries_credentials,
    new_csrf_token,
    set_cookie,
)
from web.errors import problem_response

if TYPE_CHECKING:
    from fastapi import FastAPI
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

    from web.settings import Settings

SECURITY_HEADERS = {"Referrer-Policy": "no-referrer", "X-Content-Type-Options": "nosniff"}
PRIVATE_VARY = ("Cookie", "Authorization")


def install_middleware(app: FastAPI, *, public_face: bool = False) -> None:
    """Mark the app's face (read by `auth.is_public_face`) and add `NodeMiddleware`."""
    app.state.public_face = public_face
    app.add_middleware(NodeMiddleware, public_face=public_face)


def writes_refused(request: Request, public_face: bool) -> bool:
    """Whether this request is a write the public face refuses."""
    if not public_face or request.method in SAFE_METHODS:
        return False
    return not (request.method == "POST" and request.url.path in READ_ONLY_POSTS)


def mark_private(headers: MutableHeaders, *, credentials: bool, public_face: bool) -> None:
    """Every answer varies by caller; an answer to a caller with credentials is never stored."""
    vary = [v.strip() for v in headers.get("vary", "").split(",") if v.strip()]
    present = {v.lower() for v in vary}
    vary += [name for name in PRIVATE_VARY if name.lower() not in present]
    headers["Vary"] = ", ".join(vary)
    if credentials and not public_face:
        headers["Cache-Control"] = "no-store"


def csrf_cookie_header(request: Request, settings: Settings, token: str) -> str:
    """The `Set-Cookie` value for a new anonymous CSRF token (the flags of `auth.set_cookie`)."""
    carrier = Response()
    set_cookie(carrier, request, settings, CSRF_COOKIE, token, max_age=12 * 3600)
    return carrier.headers["set-cookie"]


class _HeadAnswered(Exception):
    """Raised into the route by `send` once a HEAD's headers and empty body are out."""


class NodeMiddleware:
    """See the module docstring; one instance wraps the whole app."""

    def __init__(self, app: ASGIApp, *, public_face: bool = False) -> None:
        self.app = app
        self.public_face = public_face

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        head = scope["method"] == "HEAD"
        if head:
            scope = dict(scope, method="GET")
        request = Request(scope)
        credentials = carries_credentials(request)

        async def send_with_headers(message: Message) -> None:
            if head and message["type"] == "http.response.body":
                await send({"type": "http.response.body", "body": b"", "more_body": False})
                raise _HeadAnswered
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    if name.lower() not in headers:
                        headers[name] = value
                mark_private(headers, credentials=credentials, public_face=self.public_face)
                fresh = new_csrf_token(request)
                if fresh and CSRF_COOKIE not in request.cookies:
                    settings: Settings = scope["app"].state.settings
                    headers.append("set-cookie", csrf_cookie_header(request, settings, fresh))
            await send(message)

        if writes_refused(request, self.public_face):
            refusal = problem_response(
                request,
                403,
                slug="read-only-listener",
                detail="this listener is read-only; use the center's LAN address to write",
            )
            await refusal(scope, receive, send_with_headers)
            return
        try:
            await self.app(scope, receive, send_with_headers)
        except _HeadAnswered:
            pass
        except BaseExceptionGroup as group:  # raised inside a task group (file responses)
            rest = group.split(_HeadAnswered)[1]
            if rest is not None:
                raise rest from None
