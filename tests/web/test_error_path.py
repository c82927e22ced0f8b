"""One error path: a problem document for API clients, the HTML error page for browsers.

Chosen by `Accept`: a browser's (text/html over JSON) gets a page on every path, API or
not; a JSON client gets a problem everywhere; a client without a preference gets what the
URL serves (a page for a GET of a page, a problem otherwise).
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from catalog.schemas import Role
from tests.archive_center.conftest import Node
from tests.ui.test_staff_pages import signed_in

BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
JSON = {"Accept": "application/json"}


def is_page(response) -> bool:  # type: ignore[no-untyped-def]
    html = response.headers["content-type"].startswith("text/html")
    return (
        html
        and response.text.lstrip().lower().startswith("<!doctype html")
        and "<h1>" in response.text
    )


def is_problem(response, status: int) -> bool:  # type: ignore[no-untyped-def]
    return (
        response.headers["content-type"].startswith("application/problem+json")
        and response.json()["status"] == status
    )


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/no/such/page", 404),
        ("GET", "/api/v1/no-such-route", 404),
        ("POST", "/search", 405),
        ("GET", "/datasets/doesNotExist1234", 404),
        ("GET", "/reports/bogus/new", 404),
        ("GET", "/reports?kind=" + "x" * 40, 422),
        ("GET", "/api/v1/datasets?limit=0", 422),
    ],
)
def test_a_browser_gets_an_html_page_and_a_json_client_a_problem(
    node: Node, method: str, path: str, status: int
) -> None:
    page = node.client.request(method, path, headers=BROWSER)
    assert page.status_code == status
    assert is_page(page), page.text[:300]
    assert "application/problem" not in page.text and '"status"' not in page.text
    assert page.headers["cache-control"] == "no-store"
    problem = node.client.request(method, path, headers=JSON)
    assert problem.status_code == status
    assert is_problem(problem, status), problem.text[:300]


def test_the_error_page_says_what_went_wrong_without_server_details(node: Node) -> None:
    r = node.client.get("/datasets/doesNotExist1234", headers=BROWSER)
    assert "<h1>Not found</h1>" in r.text and "doesNotExist1234" in r.text
    assert "Traceback" not in r.text and "/tmp" not in r.text
    invalid = node.client.get("/reports?kind=" + "x" * 40, headers=BROWSER)
    assert "kind" in invalid.text  # the field that could not be read is named


def test_without_a_preference_a_page_url_answers_html_and_an_api_url_json(node: Node) -> None:
    assert is_page(node.client.get("/no/such/page"))
    assert is_problem(node.client.get("/api/v1/no-such-route"), 404)
    # A form post without a browser's Accept is a script: it reads a problem.
    refused = node.client.post("/signout")
    assert refused.status_code == 403 and is_problem(refused, 403)
    assert refused.json()["type"].endswith("csrf-failed")


def test_a_browser_is_sent_to_sign_in_and_a_json_client_gets_401(node: Node) -> None:
    anonymous = TestClient(node.app, follow_redirects=False)
    browser = anonymous.get("/staff/users", headers=BROWSER)
    assert browser.status_code == 303
    assert browser.headers["location"] == "/signin?next=/staff/users"
    script = anonymous.get("/staff/users", headers=JSON)
    assert script.status_code == 401 and is_problem(script, 401)
    assert "www-authenticate" in script.headers


def test_a_wrong_role_gets_a_403_page(node: Node) -> None:
    pi = signed_in(node, "pi_error_path", Role.PI)
    r = pi.get("/staff/embargoes", headers=BROWSER)
    assert r.status_code == 403 and is_page(r)
    assert "staff" in r.text  # which role the page needs
    assert "Signed in as <strong>pi_error_path</strong>" in r.text  # still shown who they are


def test_the_public_listener_refuses_a_browser_write_with_a_page(node: Node) -> None:
    from archive_center.app import create_app

    public = create_app(node.settings, public_face=True)
    with TestClient(public) as client:
        page = client.post("/signin", data={"username": "x"}, headers=BROWSER)
        assert page.status_code == 403 and is_page(page)
        assert "read-only" in page.text
        problem = client.post("/api/v1/bundles/x", json={}, headers=JSON)
        assert problem.status_code == 403 and is_problem(problem, 403)


@pytest.mark.parametrize(
    ("accept", "method", "path", "html"),
    [
        ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", "GET", "/x", True),
        ("text/html,application/xhtml+xml,*/*;q=0.8", "POST", "/api/v1/x", True),
        ("application/json", "GET", "/search", False),
        ("application/problem+json, text/html;q=0.5", "GET", "/x", False),
        ("text/html, */*", "POST", "/upload", True),
        ("*/*", "GET", "/x", True),
        ("*/*", "POST", "/x", False),
        ("*/*", "GET", "/api/v1/datasets", False),
        ("", "GET", "/x", True),
        ("text/html;q=0, */*", "GET", "/x", False),
        ("image/png", "GET", "/api/v1/x", False),
    ],
)
def test_accept_negotiation(node: Node, accept: str, method: str, path: str, html: bool) -> None:
    from starlette.requests import Request

    from web.errors import wants_html

    scope = {
        "type": "http", "method": method, "path": path, "query_string": b"",
        "headers": [(b"accept", accept.encode())] if accept else [], "app": node.app,
    }  # fmt: skip
    assert wants_html(Request(scope)) is html
