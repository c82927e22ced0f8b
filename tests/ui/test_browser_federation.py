"""The same search at two federated centers shows the same datasets (real nodes, Chromium)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.federation.cluster import Node, build_cluster, close_all, publish, start_all
from tests.polling import eventually
from tests.ui.browser import chromium, screenshot

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Node]]:
    nodes = build_cluster(tmp_path_factory.mktemp("ui-fed"), [("JOSS", "NPL")], ("JOSS", "NPL"))
    try:
        start_all(nodes)
        yield nodes
    finally:
        close_all(nodes)


def listed_ids(page: Any) -> set[str]:
    hrefs = page.locator("ol.results .result-title a").evaluate_all(
        "links => links.map(a => a.getAttribute('href'))"
    )
    return {h.rsplit("/", 1)[-1] for h in hrefs}


def test_the_same_search_at_two_centers_shows_the_same_datasets(
    pair: dict[str, Node], tmp_path: Path
) -> None:
    joss, npl = pair["JOSS"], pair["NPL"]
    from_joss = publish(joss, 3, label="jossflight")
    ids = set(from_joss) | set(publish(npl, 2, label="nplsonde"))
    for node in (joss, npl):
        eventually(lambda n=node: n.search_ids(q="record") >= ids, timeout=30)
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        seen = {}
        for node in (joss, npl):
            page.goto(f"{node.url}/search?q=record&west=60&south=-5&east=90&north=20"
                      "&start=1999-02-01&end=1999-02-28&limit=50")  # fmt: skip
            seen[node.code] = listed_ids(page)
            screenshot(page, f"federated-search-{node.code}")
        assert seen["JOSS"] == seen["NPL"] == ids
        page.goto(f"{npl.url}/federation")
        row = page.locator("tr.peer")
        assert row.count() == 1
        assert "JOSS" in row.inner_text() and "up to date" in row.inner_text()
        screenshot(page, "federation-status-NPL")
        page.goto(f"{npl.url}/datasets/{from_joss[0]}")
        assert "Held by center JOSS" in page.locator(".mirror").inner_text()
