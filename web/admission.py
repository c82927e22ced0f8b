"""Admission control: a node under more load than it can serve answers 503 fast, never stalls.

The failure this prevents (FastAPI's threadpool / connection-pool deadlock): every thread of
the pool waits for a database connection, while the requests holding the connections wait
for a thread to serialise their answer or to run their next dependency, until the pool
timeout (30 s) answers 500 to all of them.

Three things together rule it out (the sizing rule is `web.settings.ServerSettings`):
- `AdmissionMiddleware` lets at most `active_requests` requests work at once; the others wait
  in a FIFO queue for at most `queue_timeout_s`, then get a `503` problem with `Retry-After`.
  A request leaves the gate when its answer starts: the route's session is closed by then
  (sessions are `scope="function"` dependencies), so a long streamed body holds neither a
  connection nor a slot.
- The threadpool has `threads` >= `active_requests` tokens, and the connection pool holds two
  connections per active request, so an admitted request never waits for a connection.
- Should a connection still not come within `pool_timeout_s` (another pool user), the
  request answers `503` with `Retry-After` rather than 500.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from starlette.requests import Request

from web.errors import problem_response

if TYPE_CHECKING:
    from fastapi import FastAPI
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

    from web.settings import ServerSettings

logger = logging.getLogger(__name__)

EXEMPT_PATHS = frozenset({"/api/v1/healthz"})
"""Answered even when the node is full (liveness must not fail under load)."""
EXEMPT_PREFIXES = ("/static/",)
"""Shipped assets: no database, no thread."""


def busy_response(request: Request, retry_after_s: int, detail: str) -> Any:
    """The 503 problem an overloaded node answers, with `Retry-After`."""
    return problem_response(
        request,
        503,
        slug="overloaded",
        detail=detail,
        headers={"Retry-After": str(retry_after_s)},
    )


class AdmissionMiddleware:
    """At most `active_requests` requests in their handler at once; see the module docstring."""

    def __init__(self, app: ASGIApp, *, server: ServerSettings) -> None:
        self.app = app
        self.server = server
        self.gate = asyncio.Semaphore(server.active_requests)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or path in EXEMPT_PATHS or path.startswith(EXEMPT_PREFIXES):
            await self.app(scope, receive, send)
            return
        try:
            await asyncio.wait_for(self.gate.acquire(), timeout=self.server.queue_timeout_s)
        except TimeoutError:
            logger.warning("overloaded: %s waited %.1f s", path, self.server.queue_timeout_s)
            busy = busy_response(
                Request(scope),
                self.server.retry_after_s,
                "the center is busy; try again shortly",
            )
            await busy(scope, receive, send)
            return
        held = True

        def release() -> None:
            nonlocal held
            if held:
                held = False
                self.gate.release()

        async def send_releasing(message: Message) -> None:
            if message["type"] == "http.response.start":
                release()
            await send(message)

        try:
            await self.app(scope, receive, send_releasing)
        finally:
            release()


async def _pool_timeout_handler(request: Request, exc: Exception) -> Any:
    server: ServerSettings = request.app.state.settings.server
    logger.warning("no database connection within %.1f s for %s", server.pool_timeout_s,
                   request.url.path)  # fmt: skip
    return busy_response(request, server.retry_after_s, "the center is busy; try again shortly")


def install_admission(app: FastAPI, server: ServerSettings) -> None:
    """Add `AdmissionMiddleware` and answer a connection-pool timeout with a 503 problem."""
    from sqlalchemy.exc import TimeoutError as PoolTimeoutError

    app.add_middleware(AdmissionMiddleware, server=server)
    app.add_exception_handler(PoolTimeoutError, _pool_timeout_handler)


def size_threadpool(server: ServerSettings) -> None:
    """Give the running event loop's default threadpool `server.threads` tokens.

    Called from the app's lifespan (the limiter belongs to the loop that serves the app).
    """
    import anyio.to_thread

    anyio.to_thread.current_default_thread_limiter().total_tokens = server.threads
