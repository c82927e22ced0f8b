"""The staff access form in Chromium: a refused change lands on the form, its message at the
top with focus, and what was typed still there."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.ui.browser import RunningNode, chromium, running_node, screenshot, sign_in

pytestmark = pytest.mark.browser
KCO = "kco_surface_hourly.txt"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningNode]:
    with running_node(tmp_path_factory.mktemp("form-node")) as node:
        yield node


def in_viewport(page: Any, selector: str) -> bool:
    return bool(
        page.locator(selector).evaluate(
            "e => { const r = e.getBoundingClientRect();"
            " return r.top > -2 && r.bottom <= window.innerHeight; }"
        )
    )


def test_a_refused_change_lands_on_the_message_with_the_form_as_typed(
    server: RunningNode,
) -> None:
    pid = server.ids[KCO]
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1200, "height": 800})
        sign_in(page, server.url, "staff")
        page.goto(f"{server.url}/datasets/{pid}")
        note = page.locator("#acc-release-note").inner_text()
        assert "2000-03-31, has passed" in note  # the INDOEX default, before any submission
        page.select_option("#acc-state", "embargoed")
        page.fill("#acc-release", "")
        page.fill("#acc-reason", "QC pending on the humidity channel")
        page.click("form.access-form button[type=submit]")
        page.wait_for_load_state("load")
        page.wait_for_function(
            "document.activeElement && document.activeElement.id === 'access-errors'",
            timeout=5000,
        )
        assert page.evaluate("location.hash") == "#access-errors"
        assert in_viewport(page, "#access-errors")
        assert page.evaluate("window.scrollY") > 500  # not left at the top of a long page
        assert "choose “Open”" in page.locator("#access-errors").inner_text()
        assert page.input_value("#acc-state") == "embargoed"
        assert page.input_value("#acc-reason") == "QC pending on the humidity channel"
        screenshot(page, "staff-access-refused")

        page.fill("#acc-release", "2099-01-01T00:00")  # the rest is still filled in
        page.click("form.access-form button[type=submit]")
        page.wait_for_selector("table.audit >> text=QC pending on the humidity channel")
        assert page.locator("#access-errors").count() == 0
