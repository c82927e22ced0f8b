"""What axe-core (`test_every_page_browser.py`) does not check, on every page: exactly one
h1, a skip link to the content, a title naming the page and then the center, and every id
unique (axe checks only ids that ARIA refers to: its general duplicate-id rules are
deprecated and off; labels and anchors must point at one thing).
Language, labels and image descriptions are axe's."""

from __future__ import annotations

from collections import Counter
from html.parser import HTMLParser

import pytest

from catalog.schemas import Role
from tests.archive_center.conftest import EMBARGOED_SAMPLE, Node
from tests.ui.test_staff_pages import signed_in


class Audit(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.ids: list[str] = []
        self.h1 = 0
        self.title = ""
        self.skip = False
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if a.get("id"):
            self.ids.append(a["id"] or "")
        if tag == "h1":
            self.h1 += 1
        if tag == "a" and a.get("href") == "#content":
            self.skip = True
        self._in_title = tag == "title"

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data

    def handle_endtag(self, tag: str) -> None:
        self._in_title = False


def audit(html: str) -> None:
    page = Audit()
    page.feed(html)
    assert page.skip
    assert page.title.strip().endswith("FieldCat JOSS") and len(page.title) > len("FieldCat JOSS")
    assert page.h1 == 1
    duplicated = [i for i, n in Counter(page.ids).items() if n > 1]
    assert not duplicated, duplicated


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/search",
        "/search?platform=KCO&west=1",
        "/products",
        "/reports",
        "/federation",
        "/signin",
        "/datasets/{kco}",
        "/datasets/{embargoed}",
        "/datasets/nope",
    ],
)
def test_public_pages_are_accessible(node: Node, path: str) -> None:
    url = path.format(kco=node.ids["kco_surface_hourly.txt"], embargoed=node.ids[EMBARGOED_SAMPLE])
    audit(node.client.get(url).text)


def test_signed_in_pages_are_accessible(node: Node) -> None:
    staff = signed_in(node, "staff_a11y", Role.STAFF)
    for path in [
        "/upload",
        "/submissions",
        "/staff/embargoes",
        "/staff/rejected",
        "/staff/users",
        "/reports/daily/new",
        f"/datasets/{node.ids['kco_surface_hourly.txt']}",
    ]:
        audit(staff.get(path).text)
