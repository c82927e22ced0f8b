"""Every integer the API and the federation routes take is bounded at the edge: whatever
number a client or a signed peer sends, the answer is never a 5xx (hypothesis).

The integers are found in the app's own OpenAPI document (query, path and body fields), so
a new integer parameter is covered without editing this test; a bound that does not fit the
database (an `Integer` column) is a failure of its own.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from catalog.schemas import Role
from catalog.sqltypes import INT32_MAX
from federation.signing import sign_headers
from tests.archive_center.conftest import NOW, Node

PEER, KEY_ID, SECRET = "NPL", "npl-test-key", "s" * 40
EDGES = [0, -1, 1, INT32_MAX, INT32_MAX + 1, 2**53, 2**63 - 1, 2**63, 2**64, -(2**63) - 1]
NUMBERS = st.one_of(st.sampled_from(EDGES), st.integers(), st.integers(10**18, 10**80))
KNOWN = {
    ("GET", "/api/v1/datasets", "query", "limit"),
    ("GET", "/api/v1/federation/changes", "query", "since"),
    ("GET", "/api/v1/federation/changes", "query", "limit"),
    ("POST", "/api/v1/federation/notify", "body", "last_seq"),
    ("GET", "/api/v1/products/{product_id}/file", "path", "product_id"),
    ("POST", "/api/v1/submissions", "form", "owner_user_id"),
}


@dataclass(frozen=True)
class IntegerField:
    """One integer a route takes, with the bounds its OpenAPI schema declares."""

    method: str
    path: str
    where: str
    name: str
    minimum: float | None
    maximum: float | None


def _integers(spec: dict[str, Any], schema: dict[str, Any], name: str) -> list[tuple[str, Any]]:
    if "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].split("/")[-1]]
    found = [(name, schema)] if schema.get("type") == "integer" else []
    for key in ("anyOf", "oneOf", "allOf"):
        for part in schema.get(key, []):
            found += _integers(spec, part, name)
    for prop, sub in schema.get("properties", {}).items():
        found += _integers(spec, sub, prop)
    return found


def integer_fields(spec: dict[str, Any]) -> list[IntegerField]:
    """Every integer parameter or body field of every operation in `spec`."""
    fields = []
    for path, operations in spec["paths"].items():
        for method, op in operations.items():
            spots: list[tuple[str, str, Any]] = []
            for param in op.get("parameters", []):
                spots += [
                    (param["in"], n, s) for n, s in _integers(spec, param.get("schema", {}), "")
                ]
                spots = [(w, n or param["name"], s) for w, n, s in spots]
            for media, content in op.get("requestBody", {}).get("content", {}).items():
                where = "body" if media == "application/json" else "form"
                spots += [(where, n, s) for n, s in _integers(spec, content.get("schema", {}), "")]
            for where, name, schema in spots:
                low, high = schema.get("minimum"), schema.get("maximum")
                fields.append(IntegerField(method.upper(), path, where, name, low, high))
    return fields


@pytest.fixture(scope="module")
def fields(node: Node) -> list[IntegerField]:
    """The app's integer fields."""
    return integer_fields(node.client.get("/openapi.json").json())


@pytest.fixture(scope="module")
def staff_token(node: Node) -> str:
    """An API token of a staff user (the upload form's fields are read for staff only)."""
    from catalog.users import create_user, issue_api_token

    with node.app.state.session_factory() as session, session.begin():
        user = create_user(session, username="edges-staff", password="x" * 16, role=Role.STAFF)
        return issue_api_token(session, user, name="edges", now=NOW)


@pytest.fixture(scope="module")
def peer_key(node: Node) -> None:
    """NPL as a peer of the node, with a signing key."""
    from federation.peers import add_key, ensure_peer

    with node.app.state.session_factory() as session, session.begin():
        ensure_peer(session, PEER, "http://npl.example:8101", "NPL", NOW)
        add_key(session, PEER, NOW, key_id=KEY_ID, secret=SECRET)


def test_every_integer_is_found_and_bounded_to_fit_the_database(
    fields: list[IntegerField],
) -> None:
    seen = {(f.method, f.path, f.where, f.name) for f in fields}
    assert KNOWN <= seen, f"the OpenAPI walk missed {KNOWN - seen}"
    unbounded = [f for f in fields if f.maximum is None or f.maximum > INT32_MAX]
    assert unbounded == [], "every integer needs a maximum that fits an Integer column"


def _signed(method: str, path: str, query: str, body: bytes) -> dict[str, str]:
    return sign_headers(
        sender=PEER, audience="JOSS", key_id=KEY_ID, secret=SECRET, method=method,
        path=path, query=query, body=body, now=NOW,
    )  # fmt: skip


def _send(node: Node, field: IntegerField, value: Any, token: str) -> int:
    client = node.client
    path = field.path
    for segment in ("{public_id}", "{submission_id}", "{kind}"):
        path = path.replace(segment, "x")
    federation = path.startswith("/api/v1/federation/")
    if field.where == "path":
        path = path.replace("{" + field.name + "}", str(value))
    if field.where == "query":
        query = urlencode({field.name: str(value)})
        headers = _signed(field.method, path, query, b"") if federation else {}
        return client.request(field.method, f"{path}?{query}", headers=headers).status_code
    if field.where == "body":
        body = json.dumps({field.name: value}).encode()
        headers = {"content-type": "application/json"}
        if federation:
            headers |= _signed(field.method, path, "", body)
        return client.request(field.method, path, content=body, headers=headers).status_code
    if field.where == "form":
        files = {"file": ("x.txt", b"not a data file\n", "text/plain")}
        return client.request(
            field.method, path, data={field.name: str(value)}, files=files,
            headers={"authorization": f"Bearer {token}"},
        ).status_code  # fmt: skip
    return client.request(field.method, path).status_code


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_no_integer_makes_a_5xx(
    node: Node, fields: list[IntegerField], peer_key: None, staff_token: str, data: st.DataObject
) -> None:
    field = data.draw(st.sampled_from(fields), label="field")
    value = data.draw(NUMBERS, label="value")
    status = _send(node, field, value, staff_token)
    assert status < 500, f"{field.method} {field.path} {field.where} {field.name}={value}"


@pytest.mark.parametrize("value", [INT32_MAX + 1, 2**63, 10**40])
def test_huge_numbers_from_signed_peers_are_refused_with_422(
    node: Node, peer_key: None, value: int
) -> None:
    path, query = "/api/v1/federation/changes", f"since={value}"
    answer = node.client.get(f"{path}?{query}", headers=_signed("GET", path, query, b""))
    assert answer.status_code == 422
    body = json.dumps({"last_seq": value}).encode()
    path = "/api/v1/federation/notify"
    headers = {"content-type": "application/json"} | _signed("POST", path, "", body)
    assert node.client.post(path, content=body, headers=headers).status_code == 422


def test_the_largest_allowed_numbers_are_served(node: Node, peer_key: None) -> None:
    path, query = "/api/v1/federation/changes", f"since={INT32_MAX}"
    answer = node.client.get(f"{path}?{query}", headers=_signed("GET", path, query, b""))
    assert answer.status_code == 200 and answer.json()["changes"] == []
