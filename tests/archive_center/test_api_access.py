"""Data for someone the policy lets read it: the principal dependency is the one place that
decides who asks, and output that is not public is never cached."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator

import pytest

from catalog.schemas import Principal, Role
from tests.archive_center.conftest import EMBARGOED_SAMPLE, OPEN_SAMPLES, Node
from web.deps import get_principal


@pytest.fixture
def as_staff(node: Node) -> Iterator[None]:
    """Requests of this test come from center staff."""
    node.app.dependency_overrides[get_principal] = lambda: Principal(
        user_id=1, username="staff", role=Role.STAFF
    )
    try:
        yield
    finally:
        del node.app.dependency_overrides[get_principal]


def test_staff_read_embargoed_data_uncached(node: Node, as_staff: None) -> None:
    response = node.client.get(
        f"/api/v1/datasets/{node.ids[EMBARGOED_SAMPLE]}/data", params={"format": "csv"}
    )
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["vary"] == "Cookie, Authorization"
    plot = node.client.get(f"/api/v1/datasets/{node.ids[EMBARGOED_SAMPLE]}/plot")
    assert plot.status_code == 200
    assert plot.headers["cache-control"] == "no-store"


def test_bundle_inherits_the_strictest_input(node: Node, as_staff: None) -> None:
    wanted = [node.ids[OPEN_SAMPLES[1]], node.ids[EMBARGOED_SAMPLE]]
    response = node.client.post("/api/v1/bundles", json={"datasets": wanted})
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        assert sum(name.endswith("README.txt") for name in archive.namelist()) == 2


def test_open_bundle_may_be_cached(node: Node) -> None:
    response = node.client.post("/api/v1/bundles", json={"datasets": [node.ids[OPEN_SAMPLES[1]]]})
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"].startswith("public")
    assert 'filename="fieldcat_bundle_' in response.headers["content-disposition"]
