"""The issue's scenarios in a real Chromium against a real node process."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import netCDF4
import pytest

from tests.ui.browser import (
    EMBARGOED,
    RunningNode,
    chromium,
    running_node,
    screenshot,
    sign_in,
)

pytestmark = [pytest.mark.browser, pytest.mark.solo]  # page-time bounds
KCO = "kco_surface_hourly.txt"  # a fixed station at 4.965N 73.466E, 1999-02-01..05


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningNode]:
    with running_node(tmp_path_factory.mktemp("ui-node")) as node:
        yield node


@pytest.fixture(scope="module")
def browser(server: RunningNode) -> Iterator[Any]:
    with chromium() as b:
        yield b


def drag_box(page: Any, west: float, south: float, east: float, north: float) -> None:
    """Press 'Draw a box' and drag the mouse over the map from the NW to the SE corner."""
    page.click("#draw-box")
    corners = page.evaluate(
        """([w, s, e, n]) => {
            const m = window.fieldcatMap, r = m.getContainer().getBoundingClientRect();
            const a = m.latLngToContainerPoint([n, w]), b = m.latLngToContainerPoint([s, e]);
            return [r.left + a.x, r.top + a.y, r.left + b.x, r.top + b.y];
        }""",
        [west, south, east, north],
    )
    page.mouse.move(corners[0], corners[1])
    page.mouse.down()
    page.mouse.move((corners[0] + corners[2]) / 2, (corners[1] + corners[3]) / 2, steps=4)
    page.mouse.move(corners[2], corners[3], steps=4)
    page.mouse.up()


def test_newcomer_searches_by_box_and_time_opens_plots_and_downloads(
    server: RunningNode, browser: Any, tmp_path: Path
) -> None:
    page = browser.new_page(accept_downloads=True, viewport={"width": 1400, "height": 1000})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{server.url}/search")
    assert page.title() == "Search · FieldCat JOSS"
    page.wait_for_function("window.fieldcatMap !== undefined")
    page.wait_for_selector("#map path.leaflet-interactive")  # dataset boxes drawn
    drag_box(page, 70.0, 0.0, 76.0, 8.0)
    west, south = float(page.input_value("#f-west")), float(page.input_value("#f-south"))
    east, north = float(page.input_value("#f-east")), float(page.input_value("#f-north"))
    assert west < 73.466 < east and south < 4.965 < north, (west, south, east, north)
    assert east - west < 20  # a box, not the whole ocean
    page.fill("#f-start", "1999-02-02")
    page.fill("#f-end", "1999-02-03")
    screenshot(page, "search-box-drawn")
    page.click("form.search-form button[type=submit]")
    page.wait_for_url("**/search?**")
    rows = page.locator("ol.results li.result")
    titles = [rows.nth(i).locator("a").first.inner_text() for i in range(rows.count())]
    assert len(titles) == 1, titles  # the track and the soundings lie elsewhere
    page.locator("ol.results .result-title a").first.click()
    page.wait_for_url(f"**/datasets/{server.ids[KCO]}")
    plot = page.locator("img.plot").first
    plot.scroll_into_view_if_needed()
    page.wait_for_function("document.querySelector('img.plot').complete")
    assert plot.evaluate("img => img.naturalWidth") > 100
    screenshot(page, "dataset-open")
    page.select_option("#dl-format", "netcdf")
    page.fill("#dl-start", "1999-02-02T00:00:00")
    page.fill("#dl-end", "1999-02-02T06:00:00")
    page.check("input[name=variables][value=O3]")
    with page.expect_download() as info:
        page.click("form.download-form button[type=submit]")
    out = tmp_path / "subset.nc"
    info.value.save_as(out)
    assert info.value.suggested_filename.endswith("_subset.nc")
    with netCDF4.Dataset(out) as nc:
        assert "O3" in nc.variables and "CO" not in nc.variables
        assert 1 <= len(nc.dimensions["time"]) <= 7
    assert not errors, errors
    page.close()


def test_search_works_without_javascript(server: RunningNode, browser: Any) -> None:
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{server.url}/search")
    for name, value in (("west", "70"), ("south", "0"), ("east", "76"), ("north", "8")):
        page.fill(f"#f-{name}", value)
    page.keyboard.press("Tab")
    page.fill("#f-q", "KCO")
    page.press("#f-q", "Enter")
    page.wait_for_url("**/search?**")
    links = page.locator("ol.results .result-title a")
    assert links.count() == 1
    screenshot(page, "search-no-javascript")
    context.close()


def test_embargoed_dataset_page_in_the_browser(server: RunningNode, browser: Any) -> None:
    page = browser.new_page()
    page.goto(f"{server.url}/datasets/{server.ids[EMBARGOED]}")
    assert page.locator(".release-note").count() == 1
    assert page.locator("img.plot").count() == 0
    assert page.locator("form.download-form").count() == 0
    screenshot(page, "dataset-embargoed")
    page.close()


def test_staff_embargo_then_lift_as_a_visitor_sees_it(server: RunningNode, browser: Any) -> None:
    pid = server.ids["sagar_kanya_sounding.txt"]
    staff_ctx, visitor_ctx = browser.new_context(), browser.new_context()
    staff, visitor = staff_ctx.new_page(), visitor_ctx.new_page()
    sign_in(staff, server.url, "staff")
    staff.goto(f"{server.url}/datasets/{pid}")
    staff.select_option("#acc-state", "embargoed")
    staff.fill("#acc-release", "2099-01-01T00:00")
    staff.fill("#acc-reason", "preliminary calibration")
    staff.click("form.access-form button[type=submit]")
    staff.wait_for_selector("table.audit >> text=preliminary calibration")
    screenshot(staff, "staff-embargo-set")

    visitor.goto(f"{server.url}/datasets/{pid}")
    assert "2099-01-01 00:00 UTC" in visitor.locator(".release-note").inner_text()
    assert visitor.locator("img.plot").count() == 0
    assert visitor.locator("form.download-form").count() == 0
    closed = visitor.request.get(f"{server.url}/datasets/{pid}/download?format=csv")
    assert closed.status == 403
    assert visitor.request.get(f"{server.url}/api/v1/datasets/{pid}/plot").status == 403
    screenshot(visitor, "visitor-embargoed")

    staff.goto(f"{server.url}/staff/embargoes")
    staff.click(f"a[href='/datasets/{pid}#access-h']")
    staff.select_option("#acc-state", "open")
    staff.fill("#acc-reason", "calibration checked")
    staff.click("form.access-form button[type=submit]")
    staff.wait_for_selector("table.audit >> text=calibration checked")

    visitor.reload()
    assert visitor.locator(".release-note").count() == 0
    visitor.wait_for_function("document.querySelector('img.plot').complete")
    assert visitor.locator("img.plot").first.evaluate("img => img.naturalWidth") > 100
    assert visitor.locator("form.download-form").count() == 1
    screenshot(visitor, "visitor-released")
    staff_ctx.close()
    visitor_ctx.close()


def test_pi_uploads_broken_then_fixed_file_and_finds_it(
    server: RunningNode, browser: Any, tmp_path: Path
) -> None:
    from tests.conftest import SAMPLES

    broken, fixed = tmp_path / "broken" / "kco_o3.txt", tmp_path / "fixed" / "kco_o3.txt"
    for path, source in ((broken, "invalid/non_numeric_value.txt"),
                         (fixed, "valid/kco_surface_hourly.txt")):  # fmt: skip
        path.parent.mkdir()
        path.write_bytes((SAMPLES / source).read_bytes().replace(b"DID = 31", b"DID = 7731", 1))
    context = browser.new_context()
    page = context.new_page()
    sign_in(page, server.url, "pi")
    page.click("header.site a[href='/upload']")
    page.set_input_files("#up-file", str(broken))
    page.click("form.upload-form button[type=submit]")
    page.wait_for_selector(".report-rejected")
    link = page.locator("a.line-link").first
    assert link.inner_text().startswith("line 50")
    link.click()
    assert page.evaluate("location.hash") == "#L50"
    target = page.locator("tr#L50")
    assert "flagged" in (target.get_attribute("class") or "")
    assert "abc" in target.inner_text()
    assert target.is_visible()
    screenshot(page, "upload-rejected")
    page.set_input_files("#up-file", str(fixed))
    page.click("form.upload-form button[type=submit]")
    page.wait_for_selector(".report-registered")
    screenshot(page, "upload-accepted")
    page.click("header.site a[href='/submissions']")
    assert page.locator("table.submissions tbody tr").count() == 2
    page.goto(f"{server.url}/search")
    page.fill("#f-q", "7731")
    page.press("#f-q", "Enter")
    page.wait_for_url("**/search?**")
    assert page.locator("ol.results li.result").count() == 1
    page.locator("ol.results .result-title a").first.click()
    assert "DID 7731" in page.locator("dl.meta").inner_text()
    context.close()
