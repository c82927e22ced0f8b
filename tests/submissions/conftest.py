"""Submission fixtures: the catalog's clean database (SQLite; PostgreSQL when configured),
an archive store in a temp folder, a `submit` helper calling the one pipeline, and one real
`fieldcat serve` with its FTP drop and watched folder for the receiver and claim tests."""

from __future__ import annotations

import signal
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from catalog.schemas import Principal, Role
from catalog.storage import ArchiveStore
from submissions.acceptance import SubmitOptions
from submissions.pipeline import SubmissionResult, submit_file
from tests.archive_center.fieldcat_process import stop
from tests.archive_center.stayup_node import prepare_center_with, serve
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


# The drop node's users; each test file uses its own DIDs, so they share the node.
DROP_USERS = {"pi": Role.PI, "pi-a": Role.PI, "pi-b": Role.PI, "keeper": Role.STAFF}


@dataclass
class DropNode:
    """A running `fieldcat serve` with the FTP drop and the watched folder on."""

    url: str
    ftp_port: int
    root: Path
    tokens: dict[str, str]

    def headers(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}


@pytest.fixture(scope="package")
def drop_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DropNode]:
    """One real node (per test process) for test_node_receivers.py and test_claims.py,
    stopped after the last test of `tests/submissions/`."""
    root = tmp_path_factory.mktemp("drop-node")
    tokens = prepare_center_with(root, DROP_USERS)
    process, url, ftp_port = serve(
        root,
        FIELDCAT_SUBMISSIONS__FTP__ENABLED="true",
        FIELDCAT_SUBMISSIONS__WATCH__ENABLED="true",
        FIELDCAT_SUBMISSIONS__WATCH__POLL_INTERVAL_S="0.2",
    )
    try:
        yield DropNode(url, ftp_port, root, tokens)
    finally:
        stop(process, signal.SIGTERM)
