"""The overlay page in Debian's Chromium: two datasets held at two centers (real nodes,
peered) drawn on one time axis, the aircraft's track on the map; the URL is the overlay."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from urllib.parse import urlencode

import pytest

from tests.cids.test_api_cids import _submit, sounding_text
from tests.conftest import SAMPLES
from tests.federation.cluster import Node, build_cluster, close_all, start_all
from tests.polling import eventually
from tests.ui.browser import chromium, screenshot

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Node]]:
    nodes = build_cluster(tmp_path_factory.mktemp("overlay"), [("JOSS", "NPL")], ("JOSS", "NPL"))
    try:
        start_all(nodes)
        yield nodes
    finally:
        close_all(nodes)


def test_the_overlay_draws_two_datasets_from_two_centers(pair: dict[str, Node]) -> None:
    joss, npl = pair["JOSS"], pair["NPL"]
    track = SAMPLES / "valid" / "c130_rf07_track.txt"
    flight = _submit(joss, track.read_bytes(), track.name)
    # An ascent launched from near the flight's track during the flight, held at NPL.
    text = sounding_text(777, 4.40, 73.62, datetime(1999, 3, 7, 4, 12)).encode()
    ascent = _submit(npl, text, "sonde_777.txt", center="NPL")
    eventually(lambda: ascent in joss.search_ids(q="radiosonde"), timeout=30)
    query = urlencode([("d", f"{flight}:O3"), ("d", f"{ascent}:TEMP")])
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(f"{joss.url}/overlay?{query}")
        screenshot(page, "overlay-two-centers")
        assert page.locator(".error").count() == 0
        figure = page.locator("figure.overlay svg")
        assert figure.count() == 1
        # One line per dataset on the time axis, each with points drawn.
        for index, least in ((0, 50), (1, 5)):
            path = page.locator(f"figure.overlay svg g#series-{index} path").first
            assert (path.get_attribute("d") or "").count("L") >= least
        # The legend names both centers' datasets; the flight's track is on the map.
        content = page.content()
        assert f"JOSS C130 O3 ({flight})" in content and "NPL " in content and ascent in content
        assert page.locator("figure.overlay svg g#track-0 path").count() >= 1
        # The profile axis holds the ascent (TEMP against height).
        assert "height (m)" in page.content()
        # Linkable: the same URL in a fresh page draws the same.
        again = browser.new_page()
        again.goto(page.url)
        assert again.locator("figure.overlay svg g#series-1 path").count() >= 1
