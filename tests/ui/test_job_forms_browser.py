"""The job and transfer source forms in Chromium at 320 px: no page scrolls sideways, a staff
member adds a source (and so its pull job), and a refused form lands on its message, focused,
with what was typed still there and the secret field empty."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.ui.browser import RunningNode, chromium, running_node, screenshot, sign_in

pytestmark = pytest.mark.browser
SECRET = "browser-pre-shared-secret-42"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningNode]:
    with running_node(tmp_path_factory.mktemp("job-forms")) as node:
        yield node


def overflow(page: Any) -> int:
    return int(page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth"))


def fill_source(page: Any, base: str, name: str) -> None:
    page.goto(f"{base}/transfers/new")
    page.fill("#t-name", name)
    page.fill("#t-url", "https://iagos.example/api/v1")
    page.check("#t-auth-hmac")
    page.fill("#t-key", "fieldcat")
    page.fill("#t-secret", SECRET)
    page.select_option("#t-owner", label="pi (pi)")
    page.select_option("#t-period", "daily")
    page.click("form.transfer-form button[type=submit]")
    page.wait_for_load_state("load")


def test_the_forms_at_320_px_and_a_refused_source(server: RunningNode) -> None:
    base = server.url
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 320, "height": 800})
        sign_in(page, base, "staff")
        for path in ("/jobs/new", "/transfers/new"):
            page.goto(f"{base}{path}")
            assert overflow(page) <= 0, f"{path} scrolls sideways at 320 px"
        fill_source(page, base, "IAGOS")
        assert page.url == f"{base}/transfers"
        assert "pull IAGOS" in page.content() and SECRET not in page.content()
        for path in ("/transfers", "/jobs"):
            page.goto(f"{base}{path}")
            assert "pull IAGOS" in page.content()
            assert overflow(page) <= 0, f"{path} scrolls sideways at 320 px"
        screenshot(page, "jobs-320")

        fill_source(page, base, "IAGOS")  # the same name again: refused
        page.wait_for_function(
            "document.activeElement && document.activeElement.id === 'source-errors'",
            timeout=5000,
        )
        assert "exists" in page.locator("#source-errors").inner_text()
        assert page.input_value("#t-url") == "https://iagos.example/api/v1"
        assert page.input_value("#t-key") == "fieldcat" and page.is_checked("#t-auth-hmac")
        assert page.input_value("#t-period") == "daily"
        assert page.input_value("#t-secret") == "" and SECRET not in page.content()
        assert overflow(page) <= 0
        screenshot(page, "transfer-refused-320")
