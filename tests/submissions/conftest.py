"""Submission fixtures: the catalog's clean database (SQLite; PostgreSQL when configured),
an archive store in a temp folder, and a `submit` helper calling the one pipeline."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from catalog.schemas import Principal, Role
from catalog.storage import ArchiveStore
from submissions.acceptance import SubmitOptions
from submissions.pipeline import SubmissionResult, submit_file
from tests.catalog.conftest import db, engine, session_factory  # noqa: F401

NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
OWNER = Principal(user_id=1, username="owner", role=Role.PI)
OTHER = Principal(user_id=2, username="other", role=Role.PI)
STAFF = Principal(user_id=None, username="staff", role=Role.STAFF)

Submit = Callable[..., SubmissionResult]


@pytest.fixture
def store(tmp_path: Path) -> ArchiveStore:
    """An empty archive store."""
    archive = ArchiveStore(tmp_path / "root")
    archive.create_dirs()
    return archive


@pytest.fixture
def submit(session_factory: sessionmaker[Session], store: ArchiveStore) -> Submit:  # noqa: F811
    """Submit a file (path or bytes) as OWNER through the pipeline, overridable per call."""
    import io

    def run(source: Path | bytes, name: str | None = None, **kw: Any) -> SubmissionResult:
        stream: Any = io.BytesIO(source) if isinstance(source, bytes) else source
        if name is None:
            assert isinstance(source, Path)
            name = source.name
        return submit_file(
            session_factory,
            store,
            source=stream,
            original_name=name,
            submitter=kw.pop("submitter", OWNER),
            center_code="JOSS",
            campaign="INDOEX",
            receiver=kw.pop("receiver", "api"),
            options=kw.pop("options", SubmitOptions()),
            now=kw.pop("now", NOW),
        )

    return run
