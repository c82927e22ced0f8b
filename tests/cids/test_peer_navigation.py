"""A navigation held at a peer center (real nodes, peered): open, it is read from its
origin (checked against the SHA-256 its change-log entry announced) and merged by the
worker; embargoed there, the merge waits and says why."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from catalog.schemas import Role
from catalog.users import create_user, issue_api_token
from submissions.acceptance import SubmitOptions
from tests.cids.test_api_cids import _submit
from tests.conftest import SAMPLES
from tests.federation.cluster import Node, build_cluster, close_all, start_all
from tests.polling import eventually

SAMPLER = (SAMPLES / "valid" / "c130_external_sampler.txt").read_text()
NAVIGATION = (SAMPLES / "valid" / "c130_navigation_1hz.txt").read_text()


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Node]]:
    nodes = build_cluster(tmp_path_factory.mktemp("peer-nav"), [("JOSS", "NPL")], ("JOSS", "NPL"))
    try:
        start_all(nodes)
        yield nodes
    finally:
        close_all(nodes)


def _staff_headers(node: Node) -> dict[str, str]:
    with node.session() as session, session.begin():
        user = create_user(session, username="navstaff", password="x" * 12, role=Role.STAFF)
        token = issue_api_token(session, user, name="nav", now=datetime.now(UTC))
    return {"Authorization": f"Bearer {token}"}


def _merge_of(node: Node, dataset: str) -> dict[str, Any] | None:
    merges = httpx.get(node.url + "/api/v1/navigation", timeout=30).json()["merges"]
    return next((m for m in merges if m["dataset"] == dataset), None)


def test_open_navigation_at_a_peer_is_fetched_and_embargoed_waits(pair: dict[str, Node]) -> None:
    joss, npl = pair["JOSS"], pair["NPL"]
    headers = _staff_headers(joss)
    sampler = _submit(joss, SAMPLER.encode(), "sampler.txt")
    nav = _submit(npl, NAVIGATION.encode(), "nav.txt", center="NPL")
    # The Citation's navigation is embargoed at NPL.
    citation = SAMPLER.replace("PLATFORM = C130", "PLATFORM = Citation").replace(
        "DID = 100", "DID = 101"
    )
    citation_nav = NAVIGATION.replace("PLATFORM = C130", "PLATFORM = Citation").replace(
        "DID = 300", "DID = 301"
    )
    citation_id = _submit(joss, citation.encode(), "citation.txt")
    embargo = SubmitOptions(access="embargoed", release_at=datetime(2030, 1, 1, tzinfo=UTC))
    _submit(npl, citation_nav.encode(), "citation_nav.txt", center="NPL", options=embargo)
    eventually(lambda: nav in joss.search_ids(platform="C130"), timeout=30)
    eventually(lambda: len(joss.search_ids(platform="Citation")) == 2, timeout=30)
    for body in (
        {"platform": "C130", "dataset": nav},
        {"platform": "Citation", "instrument": "C-130 navigation (INS/GPS)"},
    ):
        made = httpx.post(joss.url + "/api/v1/navigation", json=body, headers=headers, timeout=30)
        assert made.status_code == 201, made.text

    def merged() -> dict[str, Any] | None:
        merge = _merge_of(joss, sampler)
        return merge if merge and merge["status"] == "merged" else None

    merge = eventually(merged, timeout=90)
    assert merge["navigation"] == nav and merge["positioned"] == 105
    found = joss.search_ids(bbox="73,4,75,6", platform="C130")
    assert sampler in found

    def held_at_peer() -> dict[str, Any] | None:
        # Merged before the Citation's navigation was declared, its merge said "none
        # declared"; the worker looks again once it is declared.
        merge = _merge_of(joss, citation_id)
        return merge if merge and "held at center NPL" in merge["reason"] else None

    waiting = eventually(held_at_peer, timeout=60)
    assert waiting["status"] == "waiting"
    assert "held at center NPL" in waiting["reason"] and "not open" in waiting["reason"]
    assert citation_id not in joss.search_ids(bbox="73,4,75,6")
