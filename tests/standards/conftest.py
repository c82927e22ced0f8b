"""One real seeded node per test module (see faces_node.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.archive_center.conftest import database_url  # noqa: F401 - the fixture
from tests.standards.faces_node import FacesNode, serve_seeded


@pytest.fixture(scope="module")
def faces(
    tmp_path_factory: pytest.TempPathFactory,
    database_url: str | None,  # noqa: F811
) -> Iterator[FacesNode]:
    """A running node on SQLite, then on PostgreSQL; OAI-PMH pages of 3 so that every harvest
    resumes."""
    node = serve_seeded(
        tmp_path_factory.mktemp("faces"),
        tmp_path_factory.mktemp("files"),
        database_url,
        FIELDCAT_STANDARDS__OAI_PAGE_SIZE="3",
    )
    try:
        yield node
    finally:
        node.stop()
