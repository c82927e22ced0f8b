"""Liveness and readiness."""

from __future__ import annotations

import logging
import tempfile
from typing import TYPE_CHECKING, Literal

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel

from web.deps import SettingsDep
from web.settings import Settings

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

logger = logging.getLogger(__name__)

router = APIRouter(tags=["health"])


class Health(BaseModel):
    """Liveness answer."""

    status: Literal["ok"] = "ok"
    center: str


class ReceiverHealth(BaseModel):
    """What the worker's supervisor last saw of one receiver (docs/streams.md); where it
    listens and its last error are on the staff page only."""

    name: str
    kind: str
    state: str
    restarts: int
    updated_at: str


class Readiness(BaseModel):
    """Readiness answer: each check and the overall verdict.

    `receivers` reports each receiver (FTP drop, watched folders, streams) without deciding
    readiness: the API serves whether or not a stream's device is there."""

    status: Literal["ready", "not ready"]
    database: bool
    storage: bool
    receivers: list[ReceiverHealth] = []


def storage_writable(settings: Settings) -> bool:
    """Whether a file can be created (and removed) in the staging folder."""
    try:
        with tempfile.NamedTemporaryFile(dir=settings.root / "staging", prefix=".ready-"):
            return True
    except OSError as err:
        logger.warning("storage not writable: %s", err)
        return False


def receivers_seen(engine: Engine) -> list[ReceiverHealth]:
    """The supervisor's last view of each receiver (empty before the worker first wrote)."""
    from catalog.db import make_session_factory
    from catalog.receiver_control import seen_all

    with make_session_factory(engine)() as session:
        return [
            ReceiverHealth(name=s.name, kind=s.kind, state=s.state, restarts=s.restarts,
                           updated_at=s.updated_at.isoformat())
            for s in seen_all(session)
        ]  # fmt: skip


@router.get("/healthz")
def healthz(settings: SettingsDep) -> Health:
    """The process is alive."""
    return Health(center=settings.center_code)


@router.get("/readyz", responses={503: {"model": Readiness, "description": "Not ready"}})
def readyz(request: Request, response: Response, settings: SettingsDep) -> Readiness:
    """The database answers and the storage is writable."""
    from catalog.db import database_ready

    engine = getattr(request.app.state, "engine", None)
    readiness = Readiness(
        status="ready",
        database=engine is not None and database_ready(engine),
        storage=storage_writable(settings),
    )
    if engine is not None and readiness.database:
        readiness.receivers = receivers_seen(engine)
    if readiness.database and readiness.storage:
        return readiness
    readiness.status = "not ready"
    response.status_code = 503
    return readiness
