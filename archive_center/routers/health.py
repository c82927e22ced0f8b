"""Liveness and readiness."""

from __future__ import annotations

import logging
import tempfile
from typing import Literal

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel

from web.deps import SettingsDep
from web.settings import Settings

logger = logging.getLogger(__name__)

router = APIRouter(tags=["health"])


class Health(BaseModel):
    """Liveness answer."""

    status: Literal["ok"] = "ok"
    center: str


class Readiness(BaseModel):
    """Readiness answer: each check and the overall verdict."""

    status: Literal["ready", "not ready"]
    database: bool
    storage: bool


def storage_writable(settings: Settings) -> bool:
    """Whether a file can be created (and removed) in the staging folder."""
    try:
        with tempfile.NamedTemporaryFile(dir=settings.root / "staging", prefix=".ready-"):
            return True
    except OSError as err:
        logger.warning("storage not writable: %s", err)
        return False


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
    if readiness.database and readiness.storage:
        return readiness
    readiness.status = "not ready"
    response.status_code = 503
    return readiness
