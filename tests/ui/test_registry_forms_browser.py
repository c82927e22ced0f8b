"""The registry's staff forms in Chromium at 320 px, on a real node: staff upload a
calibration's certificate, remove a deployment and a calibration, and change a station; a
refused form lands on its message, focused, with what was typed still there; no page scrolls
sideways."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.ui.browser import RunningNode, chromium, running_node, screenshot, sign_in

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningNode]:
    with running_node(tmp_path_factory.mktemp("registry-forms")) as node:
        yield node


def seed(node: RunningNode) -> dict[str, Any]:
    """A station, an instrument calibrated twice and deployed there (in the node's database)."""
    from catalog.db import make_engine, make_session_factory
    from catalog.registry import (
        InstrumentInput,
        PlaceInput,
        add_calibration,
        add_deployment,
        add_instrument,
        add_place,
    )
    from web.settings import load_settings

    settings = load_settings(node.root / "center.toml")
    engine = make_engine(settings.effective_database_url)
    now = datetime.now(UTC)
    try:
        with make_session_factory(engine)() as session, session.begin():
            place = add_place(session, PlaceInput(kind="station", name="Browser Mast"), now)
            tool = add_instrument(session, InstrumentInput(name="Browser photometer"), now)
            cals = [
                add_calibration(session, tool.id, valid_from=datetime(y, 1, 1, tzinfo=UTC),
                                valid_to=None, parameters={}, now=now)
                for y in (1998, 1999)
            ]  # fmt: skip
            start = datetime(1999, 1, 1, tzinfo=UTC)
            deployment = add_deployment(session, tool.id, place.id, start, None, now)
            session.flush()
            return {"place": place.id, "instrument": tool.id, "public_id": tool.public_id,
                    "calibrations": [c.id for c in cals], "deployment": deployment.id}  # fmt: skip
    finally:
        engine.dispose()


def overflow(page: Any) -> int:
    return int(page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth"))


def focused_on(page: Any, element_id: str) -> None:
    page.wait_for_function(
        f"document.activeElement && document.activeElement.id === '{element_id}'", timeout=5000
    )


def instrument(base: str, iid: int) -> dict[str, Any]:
    found: dict[str, Any] = next(
        i for i in httpx.get(f"{base}/api/v1/instruments", timeout=30).json() if i["id"] == iid
    )
    return found


def test_the_registry_forms_at_320_px(server: RunningNode, tmp_path: Path) -> None:
    base, ids = server.url, seed(server)
    first, second = ids["calibrations"]
    certificate = tmp_path / "cal-1999.pdf"
    certificate.write_bytes(b"%PDF-1.4 browser certificate " + bytes(range(256)) * 4)
    other = tmp_path / "other.pdf"
    other.write_bytes(b"%PDF-1.4 another certificate")
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 320, "height": 800})
        sign_in(page, base, "staff")
        page.goto(f"{base}/registry")
        assert overflow(page) <= 0, "/registry scrolls sideways at 320 px"

        # the certificate, uploaded through the form; a different file again is refused
        page.set_input_files(f"#cert-{second}-file", str(certificate))
        page.click(f"form[action='/registry/calibrations/{second}/certificate'] button")
        page.wait_for_load_state("load")
        assert page.url == f"{base}/registry#{ids['public_id']}"
        (cal,) = [
            c for c in instrument(base, ids["instrument"])["calibrations"] if c["id"] == second
        ]
        assert cal["certificate_name"] == "cal-1999.pdf"
        got = httpx.get(f"{base}/api/v1/calibrations/{second}/certificate", timeout=30)
        assert got.content == certificate.read_bytes()
        page.fill(f"#cert-{second}-name", "typed-name.pdf")
        page.set_input_files(f"#cert-{second}-file", str(other))
        page.click(f"form[action='/registry/calibrations/{second}/certificate'] button")
        focused_on(page, "registry-errors")
        assert "SHA-256" in page.locator("#registry-errors").inner_text()
        assert page.input_value(f"#cert-{second}-name") == "typed-name.pdf"
        assert overflow(page) <= 0
        screenshot(page, "registry-refused-320")

        # one deployment and one calibration removed
        page.goto(f"{base}/registry")
        page.click(f"form[action='/registry/instruments/{ids['instrument']}/deployments/"
                   f"{ids['deployment']}/delete'] button")  # fmt: skip
        page.wait_for_load_state("load")
        page.click(f"form[action='/registry/instruments/{ids['instrument']}/calibrations/"
                   f"{first}/delete'] button")  # fmt: skip
        page.wait_for_load_state("load")
        now = instrument(base, ids["instrument"])
        assert now["deployments"] == [] and [c["id"] for c in now["calibrations"]] == [second]

        # the station: refused with what was typed, then saved
        page.click(f"a[href='/registry/places/{ids['place']}/edit']")
        page.wait_for_load_state("load")
        assert overflow(page) <= 0, "the place form scrolls sideways at 320 px"
        page.fill("#p-name", "Browser Tower")
        page.fill("#p-latitude", "95")
        page.fill("#p-description", "moved to the tower")
        page.click("form.place-form button[type=submit]")
        focused_on(page, "place-errors")
        assert "latitude" in page.locator("#place-errors").inner_text()
        assert page.input_value("#p-name") == "Browser Tower"
        assert page.input_value("#p-description") == "moved to the tower"
        assert overflow(page) <= 0
        screenshot(page, "registry-place-refused-320")
        page.fill("#p-latitude", "6.5")
        page.click("form.place-form button[type=submit]")
        page.wait_for_load_state("load")
        assert page.url.startswith(f"{base}/registry#")
        station = next(
            s for s in httpx.get(f"{base}/api/v1/stations", timeout=30).json()
            if s["id"] == ids["place"]
        )  # fmt: skip
        assert station["name"] == "Browser Tower" and station["latitude"] == 6.5
        assert overflow(page) <= 0
