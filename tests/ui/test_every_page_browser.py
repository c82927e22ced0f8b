"""Every page of a real node in Debian's Chromium, signed out, as a PI and as staff (issue
#15): axe-core finds no violation at desktop width and at 390 px, and no page scrolls
sideways at 1280, 390 or 320 px (WCAG 1.4.10, reflow).

axe-core's minified build is vendored under `tests/ui/vendor/axe-core/` (MPL-2.0, its
LICENSE beside it): a test asset, never served to users. It is injected into each page with
the page's Content-Security-Policy bypassed (the pages allow only their own scripts).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from archive_center.demo.seeding import DEMO_PASSWORD, demo_usernames
from tests.conftest import SAMPLES
from tests.federation.cluster import Node
from tests.ui.browser import EMBARGOED, chromium, sign_in
from tests.ui.portal_cluster import portal_pair

pytestmark = pytest.mark.browser
AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
HELD = {
    "JOSS": ("c130_rf07_track.txt", "kco_surface_hourly.txt", EMBARGOED),
    "NPL": ("sagar_kanya_sounding.txt",),
}
AXE_WIDTHS = (1280, 390)
REFLOW_WIDTHS = (1280, 390, 320)
RUN_AXE = """async () => {
  const result = await axe.run(document, { resultTypes: ["violations"] });
  return result.violations.map(v => v.id + " (" + v.impact + "): " + v.help + " at "
    + v.nodes.slice(0, 3).map(n => n.target.join(" ")).join(" | "));
}"""


def pages(ids: dict[str, str]) -> dict[str | None, list[tuple[str, int]]]:
    """Each role's pages (path, expected status): a signed-in user sees the public ones too."""
    track, station = ids["c130_rf07_track.txt"], ids["kco_surface_hourly.txt"]
    closed, mirrored = ids[EMBARGOED], ids["sagar_kanya_sounding.txt"]
    public = [
        "/", "/search", "/search?q=sounding", "/search?q=C-130&sort=title",
        "/products", "/reports", "/calendar", "/expected", "/overlay", "/collocate",
        "/federation", "/registry", "/signin",
        f"/datasets/{track}", f"/datasets/{station}", f"/datasets/{closed}",
        f"/datasets/{mirrored}", f"/datasets/{station}/qc",
    ]  # fmt: skip
    signed_in = ["/upload", "/submissions", "/jobs", "/jobs/new", "/account",
                 "/reports/daily/new", "/reports/status/new"]  # fmt: skip
    staff = ["/staff/embargoes", "/staff/rejected", "/staff/users", "/staff/streams",
             "/staff/mail", "/transfers", "/transfers/new",
             f"/registry/places/{ids['place']}/edit"]  # fmt: skip
    ok = [(p, 200) for p in public] + [
        ("/search?platform=KCO&west=1", 400),
        ("/datasets/nope", 404),
    ]
    return {
        None: ok,
        "pi": ok + [(p, 200) for p in signed_in],
        "staff": ok + [(p, 200) for p in signed_in + staff],
    }


@pytest.fixture(scope="module")
def pair(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[dict[str, Node], dict[str, str]]]:
    embargoed = frozenset({EMBARGOED})
    with portal_pair(tmp_path_factory.mktemp("every-page"), HELD, embargoed) as running:
        running[1]["place"] = str(seed_registry(running[0]["JOSS"]))
        yield running


def seed_registry(node: Node) -> int:
    """A station and an instrument calibrated and deployed there, so staff see the registry
    page's forms; the station's id."""
    from datetime import UTC, datetime

    from catalog.registry import (
        InstrumentInput,
        PlaceInput,
        add_calibration,
        add_deployment,
        add_instrument,
        add_place,
    )

    now, start = datetime.now(UTC), datetime(1999, 1, 1, tzinfo=UTC)
    with node.session() as session, session.begin():
        place = add_place(session, PlaceInput(kind="station", name="Page Mast"), now)
        tool = add_instrument(session, InstrumentInput(name="Page photometer"), now)
        add_calibration(session, tool.id, valid_from=start, valid_to=None, parameters={}, now=now)
        add_deployment(session, tool.id, place.id, start, None, now)
        return place.id


@pytest.fixture(scope="module")
def browser(pair: Any) -> Iterator[Any]:
    with chromium() as b:
        yield b


def rejected_upload(page: Any, base: str) -> str:
    """Upload a file the validator refuses (its report flags lines); its submission page."""
    page.goto(f"{base}/upload")
    page.set_input_files("#up-file", str(SAMPLES / "invalid" / "non_numeric_value.txt"))
    page.click("form.upload-form button[type=submit]")
    page.wait_for_selector(".report-rejected")
    page.goto(f"{base}/submissions")
    href = page.locator("table.submissions a[href^='/submissions/']").first.get_attribute("href")
    assert href
    return str(href)


@pytest.mark.parametrize("role", [None, "pi", "staff"])
def test_every_page_passes_axe_and_reflows(pair: Any, browser: Any, role: str | None) -> None:
    nodes, ids = pair
    base = nodes["JOSS"].url
    context = browser.new_context(bypass_csp=True, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    paths = pages(ids)[role]
    if role is not None:
        pi, staff = demo_usernames("JOSS")
        sign_in(page, base, pi if role == "pi" else staff, DEMO_PASSWORD)
    if role == "pi":
        paths = [*paths, (rejected_upload(page, base), 200)]
    found: list[str] = []
    for width in REFLOW_WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        for path, status in paths:
            response = page.goto(f"{base}{path}")
            assert response is not None and response.status == status, (path, response)
            if page.locator("#map").count():  # the one part drawn after "load"
                page.wait_for_function("() => window.fieldcatCoastline === true")
            overflow = page.evaluate(
                "() => document.documentElement.scrollWidth - window.innerWidth"
            )
            if overflow > 0:
                found.append(f"{path} at {width} px scrolls sideways by {overflow} px")
            if width in AXE_WIDTHS:
                page.add_script_tag(path=str(AXE))
                found += [f"{path} at {width} px: {v}" for v in page.evaluate(RUN_AXE)]
    context.close()
    assert not found, "\n".join(found)
    assert not errors, errors
