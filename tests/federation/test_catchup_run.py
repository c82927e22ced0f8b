"""Catch-up at start: a center restarted after missing 500 changes pulls from its peers at
once, instead of waiting for its own poll or the peers' back-off (30 s each here)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import func, select

from catalog.models import Dataset
from tests.federation.cluster import Node, build_cluster, close_all, publish
from tests.polling import eventually

pytestmark = pytest.mark.slow

MISSED = 500


@pytest.fixture
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Node]]:
    """JOSS and NPL with slow polls and long back-off: only a pull at start can be quick."""
    nodes = build_cluster(
        tmp_path_factory.mktemp("catchup"), [("JOSS", "NPL")], codes=("JOSS", "NPL"),
        poll_interval_s=30.0, backoff_base_s=30.0, backoff_max_s=300.0,
    )  # fmt: skip
    try:
        yield nodes
    finally:
        close_all(nodes)


def held(node: Node, origin: str) -> int:
    with node.session() as session:
        query = select(func.count()).select_from(Dataset).where(Dataset.origin_center == origin)
        return int(session.scalar(query) or 0)


def test_a_restarted_center_converges_within_two_seconds(pair: dict[str, Node]) -> None:
    joss, npl = pair["JOSS"], pair["NPL"]
    joss.start()
    publish(joss, 1, label="before")
    npl.start()  # JOSS's first notifications failed: NPL is up to date only if it pulls
    eventually(lambda: held(npl, "JOSS") == 1, timeout=5)
    npl.stop()
    publish(joss, MISSED, label="missed")
    time.sleep(1.0)  # JOSS's notification to the stopped NPL fails and backs off for 30 s
    npl.launch()
    npl.wait()
    healthy = time.monotonic()
    eventually(lambda: held(npl, "JOSS") == MISSED + 1, timeout=10, every=0.02)
    took = time.monotonic() - healthy
    assert took < 2.0, f"converged {took:.2f} s after being healthy"
    found = httpx.get(f"{npl.url}/api/v1/datasets", params={"q": "missed record 499"}).json()
    assert any(item["title"] == "missed record 499" for item in found["items"])
