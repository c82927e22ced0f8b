"""`/docs` and `/redoc` on a closed network: the pages name no other host, and Swagger UI
renders the operations in Chromium with every non-loopback request blocked."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.archive_center.conftest import Node
from tests.ui.browser import RunningNode, chromium, running_node

URL_ATTRIBUTES = {"src", "href", "action", "data-src"}


class _Urls(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found += [v for k, v in attrs if k in URL_ATTRIBUTES and v]

    def handle_data(self, data: str) -> None:  # inline scripts and styles name URLs too
        self.found += re.findall(r"(?:https?:)?//[A-Za-z0-9.-]+[^\s'\"`)]*", data)


def foreign_urls(html: str, own_host: str) -> list[str]:
    """Every absolute URL of the page whose host is not `own_host`."""
    parser = _Urls()
    parser.feed(html)
    return [u for u in parser.found if urlsplit(u).netloc not in ("", own_host)]


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
def test_docs_pages_name_no_other_host_and_their_assets_are_served(node: Node, path: str) -> None:
    r = node.client.get(path)
    assert r.status_code == 200
    assert foreign_urls(r.text, "testserver") == []
    assets = re.findall(r"""(?:src|href)=["'](/static/[^"']+)""", r.text)
    assert any(a.endswith(".js") for a in assets)
    for asset in assets:
        served = node.client.get(asset)
        assert served.status_code == 200 and len(served.content) > 500, asset


def test_the_parser_sees_a_cdn() -> None:
    html = '<script src="https://cdn.jsdelivr.net/x.js"></script><link href="/static/a.css">'
    assert foreign_urls(html, "testserver") == ["https://cdn.jsdelivr.net/x.js"]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningNode]:
    with running_node(tmp_path_factory.mktemp("docs-node")) as running:
        yield running


@pytest.mark.browser
def test_swagger_ui_renders_the_operations_offline(server: RunningNode) -> None:
    with chromium() as browser:
        page = browser.new_page()
        blocked: list[str] = []
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))

        def offline(route: Any) -> None:
            host = urlsplit(route.request.url).hostname
            if host in ("127.0.0.1", "localhost"):
                route.continue_()
            else:
                blocked.append(route.request.url)
                route.abort()

        page.route("**/*", offline)
        page.goto(f"{server.url}/docs")
        page.wait_for_selector(".opblock-summary-path", timeout=20000)
        paths = page.locator(".opblock-summary-path").all_inner_texts()
        assert any("/api/v1/datasets/{public_id}" in p.replace("\u200b", "") for p in paths)
        assert blocked == []
        page.goto(f"{server.url}/redoc")
        page.wait_for_selector("h1", timeout=20000)
        assert "FieldCat" in page.locator("h1").first.inner_text()
        page.wait_for_function(
            "document.body.innerText.includes('Read Dataset')", timeout=20000
        )  # an operation of the API, drawn by ReDoc from /openapi.json
        assert blocked == [] and errors == []
