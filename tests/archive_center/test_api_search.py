"""Health, search, one dataset, problem documents for bad input, and the OpenAPI routes."""

from __future__ import annotations

from typing import Any

import pytest

from tests.archive_center.conftest import EMBARGOED_SAMPLE, OPEN_SAMPLES, Node

PROBLEM = "application/problem+json"


def assert_problem(response: Any, status: int) -> dict[str, Any]:
    """The response is an RFC 9457 problem document with `status`, and leaks nothing."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["title"]
    assert body["type"]
    assert body["instance"] == response.request.url.path
    for leak in ("Traceback", "SELECT", "/tmp", "sqlalchemy", ".py"):
        assert leak not in response.text
    return body


def test_healthz_and_readyz(node: Node) -> None:
    assert node.client.get("/api/v1/healthz").json() == {"status": "ok", "center": "JOSS"}
    ready = node.client.get("/api/v1/readyz")
    assert ready.status_code == 200
    # No receiver is configured at this node: the supervisor lists none.
    assert ready.json() == {"status": "ready", "database": True, "storage": True, "receivers": []}


def test_search_lists_every_shared_dataset_with_facets(node: Node) -> None:
    page = node.client.get("/api/v1/datasets").json()
    ids = {item["public_id"] for item in page["items"]}
    assert ids == set(node.ids.values())
    assert page["facets"]["platform"]
    assert {c["center"] for c in page["centers"]} >= {"JOSS", "NPL"}


def test_search_filters_by_box_and_time(node: Node) -> None:
    track = node.ids["c130_rf07_track.txt"]
    got = node.client.get("/api/v1/datasets", params={"bbox": "-180,-90,180,90"}).json()
    assert track in {item["public_id"] for item in got["items"]}
    none = node.client.get("/api/v1/datasets", params={"start": "2010-01-01T00:00:00Z"}).json()
    assert none["items"] == []


def test_search_pages_with_a_cursor(node: Node) -> None:
    seen: list[str] = []
    params: dict[str, Any] = {"limit": 2}
    for _ in range(10):
        page = node.client.get("/api/v1/datasets", params=params).json()
        seen += [item["public_id"] for item in page["items"]]
        if not page["next_cursor"]:
            break
        params["cursor"] = page["next_cursor"]
    assert sorted(seen) == sorted(node.ids.values())


def test_dataset_detail_and_embargo_state(node: Node) -> None:
    detail = node.client.get(f"/api/v1/datasets/{node.ids[EMBARGOED_SAMPLE]}").json()
    assert detail["access_state"] == "embargoed"
    assert detail["versions"]
    open_detail = node.client.get(f"/api/v1/datasets/{node.ids[OPEN_SAMPLES[0]]}").json()
    assert open_detail["access_state"] == "open"


def test_unknown_parameter_is_a_400_problem(node: Node) -> None:
    body = assert_problem(node.client.get("/api/v1/datasets", params={"platfrom": "C130"}), 400)
    assert "platfrom" in body["detail"]
    assert body["errors"][0]["loc"] == ["query", "platfrom"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"start": "1999-02-31"}, "start"),
        ({"end": "yesterday"}, "end"),
        ({"bbox": "1,2,3"}, "bbox"),
        ({"bbox": "0,95,10,96"}, "bbox"),
        ({"bbox": "a,b,c,d"}, "bbox"),
        ({"limit": "0"}, "limit"),
        ({"sort": "random"}, "sort"),
        ({"start": "1999-03-01T00:00:00Z", "end": "1999-02-01T00:00:00Z"}, "start"),
    ],
)
def test_malformed_query_is_a_422_problem_naming_the_field(
    node: Node, params: dict[str, str], field: str
) -> None:
    body = assert_problem(node.client.get("/api/v1/datasets", params=params), 422)
    assert any(err["loc"][-1] == field for err in body["errors"]), body


def test_foreign_cursor_is_a_400_problem(node: Node) -> None:
    body = assert_problem(
        node.client.get("/api/v1/datasets", params={"cursor": "bm90LW91cnM"}), 400
    )
    assert "cursor" in body["detail"]


def test_missing_dataset_route_and_method_are_problems(node: Node) -> None:
    assert_problem(node.client.get("/api/v1/datasets/doesnotexist"), 404)
    assert_problem(node.client.get("/api/v1/datasets/doesnotexist/data"), 404)
    assert_problem(node.client.get("/api/v1/nowhere"), 404)
    assert_problem(node.client.delete("/api/v1/healthz"), 405)


def test_openapi_lists_exactly_the_app_routes(node: Node) -> None:
    from fastapi.routing import APIRoute

    from archive_center.app import API_PREFIX, api_routers, root_routers, standard_routers

    documented = {
        (method.upper(), path)
        for path, item in node.client.get("/openapi.json").json()["paths"].items()
        for method in item
    }
    served = {
        (method, API_PREFIX + route.path)
        for router in api_routers()
        for route in router.routes
        if isinstance(route, APIRoute)
        for method in route.methods
    } | {
        (method, route.path)  # OPeNDAP, STAC, OAI-PMH and Atom, where their clients look
        for router in root_routers() + standard_routers()
        for route in router.routes
        if isinstance(route, APIRoute) and route.include_in_schema
        for method in route.methods
    }
    assert documented == served
    # Later issues add their routers; the foundation's routes must all still be served.
    assert {path for _, path in served} >= {
        "/api/v1/healthz",
        "/api/v1/readyz",
        "/api/v1/datasets",
        "/api/v1/datasets/{public_id}",
        "/api/v1/datasets/{public_id}/data",
        "/api/v1/datasets/{public_id}/plot",
        "/api/v1/bundles",
        "/api/v1/auth/session",
        "/api/v1/auth/me",
        "/api/v1/datasets/{public_id}/grant",
        "/api/v1/datasets/{public_id}/access",
        "/api/v1/datasets/{public_id}/audit",
        "/api/v1/submissions",
        "/api/v1/submissions/{submission_id}",
        "/api/v1/products",
        "/api/v1/products/{product_id}/file",
        "/api/v1/products/{product_id}/thumbnail",
        "/api/v1/federation/changes",
        "/api/v1/federation/notify",
        "/api/v1/federation/digests",
        "/api/v1/federation/status",
    }
    for method, path in documented:  # each is answered by a route, not by "no such route"
        response = node.client.request(method, path.replace("{public_id}", "absent"), json={})
        assert response.status_code != 405
        if response.status_code == 204:  # e.g. signing out when not signed in
            continue
        if "json" not in response.headers.get("content-type", ""):
            continue  # XML (OAI-PMH, Atom), DAP, files: answered by their own route
        body = response.json()
        assert not isinstance(body, dict) or body.get("type") != "about:blank", (method, path)
