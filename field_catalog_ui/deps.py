"""What the composition root hands the UI: request dependencies, never imported from it.

`archive_center` builds a `UiDeps` from its own dependency callables (session, principal,
clock, store, settings), so the pages resolve the caller, the transaction and the clock in
exactly the way the API does, and this package never imports `archive_center`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from starlette.requests import Request
from starlette.responses import Response

from catalog.downloads import Download
from catalog.schemas import Principal


class NodeInfo(Protocol):
    """The few settings the pages show (the node's `Settings` satisfies it)."""

    @property
    def center_code(self) -> str: ...
    @property
    def center_name(self) -> str: ...
    @property
    def public_url(self) -> str: ...


@dataclass(frozen=True)
class UiDeps:
    """FastAPI dependency callables the HTML routes use (the same ones as the API routes)."""

    session: Callable[..., Any]
    """Yields a `Session` whose transaction commits when the handler returns."""
    principal: Callable[..., Any]
    """Returns the caller's `Principal` (Bearer token or session cookie)."""
    now: Callable[..., Any]
    """Returns the clock (an aware UTC `datetime`) access decisions use."""
    store: Callable[..., Any]
    """Returns the node's `ArchiveStore`."""
    session_factory: Callable[..., Any]
    """Returns the node's `sessionmaker` (the submission pipeline commits each state)."""
    settings: Callable[..., Any]
    """Returns the node's settings (read through `NodeInfo`)."""
    verify_csrf: Callable[..., Any]
    """A dependency refusing a form post without the expected CSRF token."""
    csrf_token: Callable[[Request], str]
    """The CSRF token the forms of this response carry (field `csrf_token`)."""
    sign_in: Callable[[Request, Response, str, str, datetime], Principal]
    """Check a user name and password, set the session cookie on the response; the principal.

    Raises a `CatalogError` (wrong credentials, too many attempts) when it refuses."""
    sign_out: Callable[[Request, Response], None]
    """End the request's web session and clear its cookie."""
    exchange_form_password: Callable[[Request, Response, str, str, datetime], None]
    """Exchange a form's password for a grant kept in the grant cookie (raises a
    `CatalogError` when wrong or rate limited)."""
    grant_holder: Callable[[Request], str | None]
    """The grant holder secret the request presents (cookie or header)."""
    download_response: Callable[[Download, Request], Response]
    """The answer for a prepared download (ranges and validators only after the check): the
    API's own, so both paths serve bytes the same way."""
    peer_status: Callable[[Any], list[Any]]
    """Each peer's freshness for a session (`federation.status.peer_status`, which this
    package may not import)."""
