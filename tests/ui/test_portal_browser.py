"""The researcher's portal in a real Chromium against two real federated nodes (issue #15):
find by how people ask, narrow by the time strip and a box, take three datasets from two
centers away as an order, or every result of a search; results first on narrow screens;
the dataset page's own track. (Every page's reflow at 320 and 390 px and axe-core:
`test_every_page_browser.py`.)"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import SAMPLES
from tests.federation.cluster import Node
from tests.ui.browser import chromium, screenshot
from tests.ui.portal_cluster import portal_pair
from tests.ui.test_browser import drag_box

pytestmark = pytest.mark.browser
HELD = {
    "JOSS": ("c130_rf07_track.txt", "kco_surface_hourly.txt"),
    "NPL": ("sagar_kanya_sounding.txt",),
}


@pytest.fixture(scope="module")
def pair(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[dict[str, Node], dict[str, str]]]:
    with portal_pair(tmp_path_factory.mktemp("portal"), HELD) as running:
        yield running


@pytest.fixture(scope="module")
def browser(pair: Any) -> Iterator[Any]:
    with chromium() as b:
        yield b


def listed(page: Any) -> list[str]:
    hrefs = page.locator("ol.results .result-title a").evaluate_all(
        "links => links.map(a => a.getAttribute('href'))"
    )
    return [h.rsplit("/", 1)[-1] for h in hrefs]


def search_for(page: Any, base: str, text: str) -> list[str]:
    page.goto(f"{base}/search")
    page.fill("#f-q", text)
    page.click("#search-form button[type=submit]")
    page.wait_for_load_state("load")
    return listed(page)


def test_a_researcher_finds_data_the_way_they_ask(pair: Any, browser: Any) -> None:
    nodes, ids = pair
    base = nodes["JOSS"].url
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    assert search_for(page, base, "sounding") == [ids["sagar_kanya_sounding.txt"]]
    assert search_for(page, base, "C-130") == [ids["c130_rf07_track.txt"]]
    assert search_for(page, base, "Lober") == [ids["kco_surface_hourly.txt"]]  # part of a PI
    assert page.locator("#f-sort").input_value() == "relevance"
    page.goto(f"{base}/api/v1/suggestions?field=pi&prefix=mit")
    assert "Mitra, Ashok (NPL)" in page.content()  # autocomplete, from the other center too
    page.close()


def test_narrow_by_time_strip_and_box_then_order_three_from_two_centers(
    pair: Any, browser: Any, tmp_path: Path
) -> None:
    nodes, ids = pair
    base = nodes["JOSS"].url
    page = browser.new_page(accept_downloads=True, viewport={"width": 1400, "height": 1000})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{base}/search")
    assert sorted(listed(page)) == sorted(ids.values())
    page.wait_for_function("() => (window.fieldcatTracks || 0) >= 1")  # the flight's track
    bars = page.locator("#time-strip a[data-start]")
    first, last = bars.nth(0).bounding_box(), bars.nth(5).bounding_box()
    page.mouse.move(first["x"] + 2, first["y"] + first["height"] - 2)
    page.mouse.down()
    page.mouse.move(last["x"] + last["width"] - 2, last["y"] + last["height"] - 2, steps=5)
    with page.expect_navigation():
        page.mouse.up()
    assert "start=" in page.url and "end=" in page.url
    assert listed(page) == [ids["kco_surface_hourly.txt"]]  # Feb 1-14: the station only
    page.goto(f"{base}/search")
    drag_box(page, 60, -5, 80, 3)  # around the Sagar Kanya sounding (2.1S 71.8E)
    page.click("#search-form button[type=submit]")
    page.wait_for_load_state("load")
    assert listed(page) == [ids["sagar_kanya_sounding.txt"]]
    page.goto(f"{base}/search")
    for row in page.locator("ol.results .result").all():
        row.locator(".add-basket").click()
    assert page.locator("#basket-count").inner_text() == "3"
    page.click("#order-basket")
    link = page.wait_for_selector("#order-zip", timeout=60_000)
    assert "3 of 3" in link.inner_text()
    with page.expect_download() as download:
        link.click()
    path = tmp_path / "order.zip"
    download.value.save_as(path)
    with zipfile.ZipFile(io.BytesIO(path.read_bytes())) as archive:
        names = archive.namelist()
        manifest = archive.read("MANIFEST.txt").decode()
        fetched = [n for n in names if n.endswith(".dat")]
        assert len(fetched) == 1  # the NPL sounding, fetched from its origin
        sounding = (SAMPLES / "valid" / "sagar_kanya_sounding.txt").read_bytes()
        assert archive.read(fetched[0]) == sounding
    assert sum(n.endswith("README.txt") for n in names) == 3
    assert manifest.count("sha256:") == len(names) - 1
    assert "Not in this order" not in manifest
    screenshot(page, "portal-order-ready")
    assert not errors, errors


def test_all_results_of_a_search_are_one_order(pair: Any, browser: Any, tmp_path: Path) -> None:
    nodes, ids = pair
    base = nodes["JOSS"].url
    page = browser.new_page(accept_downloads=True, viewport={"width": 1400, "height": 1000})
    page.goto(f"{base}/search?sort=title")
    assert len(listed(page)) == len(ids)  # both centers' datasets
    page.click("#order-all")  # no basket needed
    link = page.wait_for_selector("#order-zip", timeout=60_000)
    assert f"{len(ids)} of {len(ids)}" in link.inner_text()
    with page.expect_download() as download:
        link.click()
    path = tmp_path / "all.zip"
    download.value.save_as(path)
    with zipfile.ZipFile(path) as archive:
        assert sum(n.endswith("README.txt") for n in archive.namelist()) == len(ids)
    page.close()


def test_the_dataset_page_draws_its_own_track_or_point(pair: Any, browser: Any) -> None:
    nodes, ids = pair
    base = nodes["JOSS"].url
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    drawn = "() => window.fieldcatCoastline === true"
    page.goto(f"{base}/datasets/{ids['c130_rf07_track.txt']}")
    page.wait_for_function("() => (window.fieldcatTracks || 0) === 1")  # the flight, a line
    page.wait_for_function(drawn)
    assert page.locator("#map path.leaflet-interactive").count() >= 2  # its box and its track
    screenshot(page, "portal-dataset-track")
    page.goto(f"{base}/datasets/{ids['kco_surface_hourly.txt']}")  # a station: its point
    page.wait_for_function(drawn)
    page.wait_for_load_state("networkidle")
    assert page.evaluate("() => window.fieldcatTracks") is None
    assert page.locator("#map path.leaflet-interactive").count() == 1  # the point's marker
    screenshot(page, "portal-dataset-point")
    page.close()


@pytest.mark.parametrize("width", [320, 390])
def test_narrow_screens_show_results_first(pair: Any, browser: Any, width: int) -> None:
    nodes, _ = pair
    base = nodes["JOSS"].url
    page = browser.new_page(viewport={"width": width, "height": 800})
    page.goto(f"{base}/search")
    results = page.locator("ol.results").bounding_box()
    toggle = page.locator("#filters-toggle")
    assert toggle.is_visible() and toggle.get_attribute("aria-expanded") == "false"
    assert not page.locator("#search-form").is_visible()  # results first, filters behind it
    assert results["y"] < 800 * 2
    toggle.click()
    assert page.locator("#f-q").is_visible()
    screenshot(page, f"portal-search-{width}")
    page.close()
