"""A full mesh of three real nodes, shared by the federation test modules that keep it whole."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.federation.cluster import Node, build_cluster, close_all, mesh, start_all


@pytest.fixture(scope="package")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Node]]:
    """JOSS, NPL and LMD peered with each other, running: started by the first federation
    test that asks for it, stopped after the last test of `tests/federation/` (three idle
    nodes ticking 20 times a second take half a core from every test after them)."""
    nodes = build_cluster(tmp_path_factory.mktemp("mesh"), mesh())
    try:
        start_all(nodes)
        yield nodes
    finally:
        close_all(nodes)


from tests.catalog.conftest import db, engine, session_factory  # noqa: E402, F401 - fixtures
