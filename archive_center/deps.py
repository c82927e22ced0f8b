"""Request dependencies: settings, store, a session per request, the principal and the clock.

Route handlers take these as `Annotated` parameters, so a test can pin any of them with
`app.dependency_overrides`. The cheap ones are `async` so they run on the event loop instead
of costing a thread hop each; the session (database I/O) stays in the threadpool.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy.orm import Session, sessionmaker

from archive_center.errors import UnknownParameterError
from archive_center.settings import Settings
from catalog.schemas import Principal
from catalog.storage import ArchiveStore


async def get_settings(request: Request) -> Settings:
    """The node's settings."""
    settings: Settings = request.app.state.settings
    return settings


async def get_store(request: Request) -> ArchiveStore:
    """The node's archive storage."""
    store: ArchiveStore = request.app.state.store
    return store


def get_session(request: Request) -> Iterator[Session]:
    """One session per request, committed when the handler returns without error."""
    factory: sessionmaker[Session] = request.app.state.session_factory
    with factory() as session, session.begin():
        yield session


async def get_principal(request: Request) -> Principal:
    """Who is asking: the one place that resolves sign-in (anonymous until sign-in exists)."""
    return Principal.anonymous()


async def get_now() -> datetime:
    """The clock access decisions use (UTC)."""
    return datetime.now(UTC)


async def reject_control_characters(request: Request) -> None:
    """Refuse NUL and other control characters in the path and query (a 422 problem).

    No identifier or filter of ours holds them, and some databases refuse them outright.
    """
    parts = [("path", name, value) for name, value in request.path_params.items()]
    parts += [("query", name, value) for name, value in request.query_params.multi_items()]
    bad = [
        {"loc": (where, name), "msg": "control characters are not allowed", "type": "value_error"}
        for where, name, value in parts
        if isinstance(value, str) and any(ord(ch) < 32 or ord(ch) == 127 for ch in value)
    ]
    if bad:
        raise RequestValidationError(bad)


def forbid_unknown_query(*allowed: str) -> Any:
    """A dependency refusing query parameters other than `allowed` (a 400 problem)."""
    allowed_set = frozenset(allowed)

    async def check(request: Request) -> None:
        unknown = {name for name in request.query_params if name not in allowed_set}
        if unknown:
            raise UnknownParameterError(sorted(unknown))

    return Depends(check)


SettingsDep = Annotated[Settings, Depends(get_settings)]
StoreDep = Annotated[ArchiveStore, Depends(get_store)]
# "function" scope: the transaction ends when the handler returns, before a (possibly long)
# streamed body is sent, so no database connection is held while bytes flow.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
PrincipalDep = Annotated[Principal, Depends(get_principal)]
NowDep = Annotated[datetime, Depends(get_now)]
