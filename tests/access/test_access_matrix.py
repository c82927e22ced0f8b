"""SECURITY.md's access matrix: every route x every caller x every state, with canaries.

The routes come from the app's own route table: a route without a row in `ACCESS_MATRIX`
fails `test_every_route_has_a_row`. To add a route, add one row: the key is
"METHOD /path" as FastAPI lists it, the value says which expectation applies.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from starlette.routing import Mount, Route

from archive_center.app import create_app
from archive_center.auth import READ_ONLY_POSTS
from tests.access.matrix_node import (
    CALLERS,
    DATASET_PASSWORD,
    NOW,
    READS,
    SEES,
    STAFF_LIKE,
    STATES,
    MatrixNode,
    data_canary,
    meta_canary,
    seed_matrix,
)
from tests.archive_center.conftest import database_url, make_settings  # noqa: F401


@dataclass(frozen=True)
class Row:
    """What a route promises. `kind` picks the check:

    public    no dataset involved; any caller gets a non-5xx answer and no canary
    search    lists only the datasets the caller may see (ids and canaries checked)
    metadata  200 when the caller may see the dataset, else exactly the missing-dataset 404
    data      200 when the caller may read, 403 when only see, else the missing 404
    bundle    a zip of the dataset when readable, else 404; the zip holds no other canary
    grant     password exchange: a wrong password is 403 on a visible password dataset, else 404
    staff     staff/admin only: 401 anonymous, 403 other roles (before any dataset lookup)
    session   sign-in plumbing, covered by tests/access/test_identity.py
    submission a PI's own uploads, covered by tests/submissions/test_api.py
    """

    kind: str
    method_body: dict[str, object] | None = None
    query: str = ""


ACCESS_MATRIX: dict[str, Row] = {
    "GET /openapi.json": Row("public"),
    "GET /docs": Row("public"),
    "GET /docs/oauth2-redirect": Row("public"),
    "GET /redoc": Row("public"),
    "GET /api/v1/healthz": Row("public"),
    "GET /api/v1/readyz": Row("public"),
    "GET /api/v1/datasets": Row("search"),
    "GET /api/v1/datasets/{public_id}": Row("metadata"),
    "GET /api/v1/datasets/{public_id}/data": Row("data", query="?format=original"),
    "GET /api/v1/datasets/{public_id}/plot": Row("data", query="?format=svg"),
    "POST /api/v1/bundles": Row("bundle"),
    "POST /api/v1/auth/session": Row("session"),
    "DELETE /api/v1/auth/session": Row("session"),
    "GET /api/v1/auth/me": Row("session"),
    "POST /api/v1/datasets/{public_id}/grant": Row("grant", {"password": "not the one!"}),
    "PUT /api/v1/datasets/{public_id}/access": Row(
        "staff", {"state": "embargoed", "reason": "matrix"}
    ),
    "DELETE /api/v1/datasets/{public_id}": Row("staff", query="?reason=matrix"),
    "GET /api/v1/datasets/{public_id}/audit": Row("staff"),
    # Submissions: the PI's own and staff only, covered by tests/submissions/test_api.py.
    "POST /api/v1/submissions": Row("submission"),
    "GET /api/v1/submissions": Row("submission"),
    "GET /api/v1/submissions/{submission_id}": Row("submission"),
    "GET /api/v1/products": Row("public"),
    "GET /api/v1/products/{product_id}/file": Row("public"),
    "GET /api/v1/products/{product_id}/thumbnail": Row("public"),
}
MISSING_ID = "AAAAAAAAAAAAAAAA"


def route_keys(app: object) -> set[str]:
    """ "METHOD /path" of every route and mount of the app."""
    keys: set[str] = set()
    for route in app.routes:  # type: ignore[attr-defined]
        if isinstance(route, Mount):
            keys.add(f"MOUNT {route.path}")
        elif isinstance(route, APIRoute | Route):
            keys.update(f"{m} {route.path}" for m in (route.methods or ()) if m != "HEAD")
    return keys


@pytest.fixture(scope="module")
def matrix(
    tmp_path_factory: pytest.TempPathFactory,
    database_url: str | None,  # noqa: F811
) -> Iterator[MatrixNode]:
    """The seeded node, a client of its public face, and a grant for the `holder` caller."""
    from archive_center.deps import get_now

    settings = make_settings(tmp_path_factory.mktemp("matrix"), database_url)
    settings.access.password_attempts = 10_000
    app = create_app(settings)
    public_app = create_app(settings, public_face=True)
    for each in (app, public_app):
        each.dependency_overrides[get_now] = lambda: NOW
    with TestClient(app) as client, TestClient(public_app) as public_client:
        ids, headers = seed_matrix(app, tmp_path_factory.mktemp("files"))
        grant = client.post(
            f"/api/v1/datasets/{ids['password']}/grant", json={"password": DATASET_PASSWORD}
        )
        assert grant.status_code == 200, grant.text
        client.cookies.clear()
        headers["holder"] = {"X-FieldCat-Grant": grant.json()["holder"]}
        yield MatrixNode(app, client, public_client, ids, headers)


def test_every_route_has_a_row(matrix: MatrixNode) -> None:
    missing = route_keys(matrix.app) - set(ACCESS_MATRIX)
    assert not missing, f"routes without a row in ACCESS_MATRIX: {sorted(missing)}"


def _send(matrix: MatrixNode, caller: str, key: str, public_id: str | None) -> httpx.Response:
    method, path = key.split(" ", 1)
    row = ACCESS_MATRIX[key]
    if public_id is not None:
        path = path.replace("{public_id}", public_id)
    client = matrix.public_client if caller == "outsider" else matrix.client
    body = row.method_body
    if row.kind == "bundle":
        body = {"datasets": [public_id], "format": "csv"}
    response = client.request(method, path + row.query, headers=matrix.headers[caller], json=body)
    client.cookies.clear()
    return response


def _text(response: httpx.Response) -> str:
    parts = [response.text if response.content else ""]
    parts += [f"{k}: {v}" for k, v in response.headers.items()]
    if response.headers.get("content-type") == "application/zip" and response.status_code == 200:
        with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
            parts += [archive.read(n).decode("utf-8", "replace") for n in archive.namelist()]
    return "\n".join(parts)


def _assert_no_canaries(text: str, caller: str, where: str) -> None:
    for index, state in enumerate(STATES):
        if caller not in SEES[state]:
            assert meta_canary(state) not in text, f"{where}: metadata of {state} leaked"
        if caller not in READS[state]:
            assert data_canary(index) not in text, f"{where}: data of {state} leaked"


def _same_as_missing(matrix: MatrixNode, caller: str, key: str, got: httpx.Response, pid: str):
    missing = _send(matrix, caller, key, MISSING_ID)
    assert got.status_code == missing.status_code == 404
    assert got.text.replace(pid, MISSING_ID) == missing.text
    ignore = {"content-length", "date"}
    assert {k: v for k, v in got.headers.items() if k not in ignore} == {
        k: v for k, v in missing.headers.items() if k not in ignore
    }


def _effective_caller(caller: str) -> str:
    return "anonymous" if caller == "outsider" else caller


def _expected_status(kind: str, caller: str, state: str) -> int | None:
    sees, reads = caller in SEES[state], caller in READS[state]
    if kind == "metadata":
        return 200 if sees else 404
    if kind == "data":
        return 200 if reads else 403 if sees else 404
    if kind == "bundle":
        return 200 if reads else 404
    if kind == "grant":
        return 403 if state == "password" and sees else 404
    if kind == "staff":
        return 401 if caller in ("anonymous", "holder") else 403
    return None


DATASET_KEYS = sorted(
    k for k, r in ACCESS_MATRIX.items() if "{public_id}" in k or r.kind == "bundle"
)


@pytest.mark.parametrize("key", DATASET_KEYS)
@pytest.mark.parametrize("caller", CALLERS)
def test_dataset_routes(matrix: MatrixNode, caller: str, key: str) -> None:
    row = ACCESS_MATRIX[key]
    if row.kind == "session":
        pytest.skip("sign-in plumbing: tests/access/test_identity.py")
    if row.kind == "staff" and caller in STAFF_LIKE:
        pytest.skip("staff writes change state: tests/access/test_access_admin.py")
    for state in STATES:
        pid = matrix.ids[state]
        response = _send(matrix, caller, key, pid)
        where = f"{key} as {caller} on {state}"
        expected = _expected_status(row.kind, _caller_for_policy(caller), state)
        if caller == "outsider" and not key.startswith("GET ") and row.kind != "bundle":
            expected = 403  # the public listener refuses every write
        assert response.status_code == expected, f"{where}: {response.status_code} {response.text}"
        _assert_no_canaries(_text(response), _caller_for_policy(caller), where)
        if expected == 404:
            _same_as_missing(matrix, caller, key, response, pid)
        if response.status_code == 200 and row.kind in ("data", "bundle"):
            assert data_canary(STATES.index(state)) in _text(response) or key.endswith("plot")
        if caller not in ("anonymous", "outsider") or response.status_code >= 400:
            assert response.headers.get("cache-control") == "no-store", where
        assert "Authorization" in response.headers.get("vary", ""), where
        assert "etag" not in response.headers or response.status_code == 200, where


def _caller_for_policy(caller: str) -> str:
    return _effective_caller(caller)


@pytest.mark.parametrize("caller", CALLERS)
def test_search_lists_exactly_what_the_caller_may_see(matrix: MatrixNode, caller: str) -> None:
    client = matrix.public_client if caller == "outsider" else matrix.client
    response = client.get("/api/v1/datasets?limit=1000", headers=matrix.headers[caller])
    assert response.status_code == 200
    listed = {item["public_id"] for item in response.json()["items"]}
    policy_caller = _caller_for_policy(caller)
    expected = {matrix.ids[s] for s in STATES if policy_caller in SEES[s]}
    assert listed & set(matrix.ids.values()) == expected
    _assert_no_canaries(_text(response), policy_caller, f"search as {caller}")
    for state in STATES:  # a free-text probe for a hidden canary finds nothing
        if policy_caller not in SEES[state]:
            probe = client.get(
                f"/api/v1/datasets?q={meta_canary(state)}", headers=matrix.headers[caller]
            )
            assert probe.json()["items"] == [] and probe.json().get("total") in (0, None)


@pytest.mark.parametrize("caller", CALLERS)
def test_public_routes_leak_nothing(matrix: MatrixNode, caller: str) -> None:
    client = matrix.public_client if caller == "outsider" else matrix.client
    for key, row in ACCESS_MATRIX.items():
        method, path = key.split(" ", 1)
        if row.kind != "public":
            continue
        response = client.request(method, path, headers=matrix.headers[caller])
        assert response.status_code < 500, key
        _assert_no_canaries(_text(response), _caller_for_policy(caller), key)


def test_public_listener_refuses_every_write(matrix: MatrixNode) -> None:
    for key in sorted(route_keys(matrix.public_client.app)):
        method, path = key.split(" ", 1)
        if method in ("GET", "HEAD", "OPTIONS", "MOUNT") or path in READ_ONLY_POSTS:
            continue
        path = path.replace("{public_id}", matrix.ids["open"])
        response = matrix.public_client.request(
            method, path, headers=matrix.headers["admin"], json={}
        )
        assert response.status_code == 403, key
        assert response.json()["type"].endswith("read-only-listener")


def test_public_listener_treats_credentials_as_anonymous(matrix: MatrixNode) -> None:
    me = matrix.public_client.get("/api/v1/auth/me", headers=matrix.headers["admin"])
    assert me.json()["role"] == "anonymous"
