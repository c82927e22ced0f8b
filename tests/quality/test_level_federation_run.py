"""Two real nodes (JOSS - NPL): a level released at the origin is shown by the peer within a
second, through the signed change log like any metadata change."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest

from catalog.db import make_session_factory
from catalog.schemas import Role
from catalog.users import create_user, issue_api_token
from tests.federation.cluster import Node, build_cluster, close_all, publish, start_all
from tests.polling import eventually

pytestmark = pytest.mark.solo  # a release reaches the peer within a second


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Node]]:
    nodes = build_cluster(
        tmp_path_factory.mktemp("levels"), [("JOSS", "NPL")], codes=("JOSS", "NPL")
    )
    try:
        start_all(nodes)
        yield nodes
    finally:
        close_all(nodes)


def staff_token(node: Node) -> str:
    with make_session_factory(node.engine)() as session, session.begin():
        now = datetime.now(UTC)
        user = create_user(
            session, username="keeper", password="pw-pw-pw-pw", role=Role.STAFF, now=now
        )
        return issue_api_token(session, user, name="t", now=now)


def level_at(node: Node, public_id: str) -> int | None:
    response = node.get(f"/datasets/{public_id}")
    return response.json()["level"] if response.status_code == 200 else None


def test_a_released_level_reaches_the_peer_within_a_second(pair: dict[str, Node]) -> None:
    joss, npl = pair["JOSS"], pair["NPL"]
    (pid,) = publish(joss, 1, label="lvl")
    eventually(lambda: level_at(npl, pid) == 0, timeout=30)
    token = staff_token(joss)
    sent = time.monotonic()
    response = httpx.put(
        f"{joss.url}/api/v1/datasets/{pid}/level", json={"level": 1, "note": "QC reviewed"},
        headers={"Authorization": f"Bearer {token}"}, timeout=10,
    )  # fmt: skip
    assert response.status_code == 200, response.text
    eventually(lambda: level_at(npl, pid) == 1, timeout=10, every=0.02)
    elapsed = time.monotonic() - sent
    assert elapsed < 1.0, f"level 1 reached NPL after {elapsed:.2f} s"
    refused = httpx.put(
        f"{npl.url}/api/v1/datasets/{pid}/level", json={"level": 2, "note": "not here"},
        headers={"Authorization": f"Bearer {staff_token(npl)}"}, timeout=10,
    )  # fmt: skip
    assert refused.status_code == 409  # a mirror is released at its origin only


def rules_at(node: Node, public_id: str) -> object:
    response = node.get(f"/datasets/{public_id}")
    return response.json().get("level_access") if response.status_code == 200 else "absent"


def test_a_level_rule_reaches_the_peer_and_is_set_at_the_origin_only(
    pair: dict[str, Node],
) -> None:
    joss, npl = pair["JOSS"], pair["NPL"]
    (pid,) = publish(joss, 1, label="rule")
    eventually(lambda: rules_at(npl, pid) is None, timeout=30)
    body = {"level": 0, "state": "embargoed", "release_at": "2031-01-01T00:00:00Z", "reason": "r"}
    with make_session_factory(joss.engine)() as session, session.begin():
        now = datetime.now(UTC)
        user = create_user(
            session, username="rules", password="pw-pw-pw-pw", role=Role.STAFF, now=now
        )
        token = issue_api_token(session, user, name="t", now=now)
    response = httpx.put(
        f"{joss.url}/api/v1/datasets/{pid}/level-access", json={**body, "reason": "preliminary"},
        headers={"Authorization": f"Bearer {token}"}, timeout=10,
    )  # fmt: skip
    assert response.status_code == 200, response.text
    expected = {"0": {"state": "embargoed", "release_at": "2031-01-01T00:00:00+00:00"}}
    assert rules_at(joss, pid) == expected, rules_at(joss, pid)
    eventually(lambda: rules_at(npl, pid) == expected, timeout=10, every=0.05)
    with make_session_factory(npl.engine)() as session, session.begin():
        now = datetime.now(UTC)
        user = create_user(
            session, username="rules", password="pw-pw-pw-pw", role=Role.STAFF, now=now
        )
        npl_token = issue_api_token(session, user, name="t", now=now)
    refused = httpx.put(
        f"{npl.url}/api/v1/datasets/{pid}/level-access", json={**body, "reason": "not here"},
        headers={"Authorization": f"Bearer {npl_token}"}, timeout=10,
    )  # fmt: skip
    assert refused.status_code == 409  # a mirror's rules are set at its origin only


def test_a_datasets_registry_record_reaches_the_peer(pair: dict[str, Node]) -> None:
    """Staff link a dataset to a deployment at the origin: the peer shows the instrument, the
    station with its position, and the deployment's period."""
    joss, npl = pair["JOSS"], pair["NPL"]
    (pid,) = publish(joss, 1, label="registry")
    eventually(lambda: npl.get(f"/datasets/{pid}").status_code == 200, timeout=30)
    with make_session_factory(joss.engine)() as session, session.begin():
        now = datetime.now(UTC)
        user = create_user(
            session, username="reg", password="pw-pw-pw-pw", role=Role.STAFF, now=now
        )
        headers = {"Authorization": f"Bearer {issue_api_token(session, user, name='t', now=now)}"}
    api = f"{joss.url}/api/v1"
    station = {"kind": "station", "name": "Kaashidhoo", "latitude": 4.97, "longitude": 73.47}
    place = httpx.post(f"{api}/places", json=station, headers=headers, timeout=10).json()
    body = {"name": "Ozone analyser X", "kind": "ozone"}
    instrument = httpx.post(f"{api}/instruments", json=body, headers=headers, timeout=10).json()
    deploy = {"place_id": place["id"], "start": "1990-01-01T00:00:00Z"}
    deployment = httpx.post(
        f"{api}/instruments/{instrument['id']}/deployments", json=deploy, headers=headers,
        timeout=10,
    )  # fmt: skip
    assert deployment.status_code == 201, deployment.text
    chosen = httpx.put(
        f"{api}/datasets/{pid}/deployment", json={"deployment_id": deployment.json()["id"]},
        headers=headers, timeout=10,
    )  # fmt: skip
    assert chosen.status_code == 200, chosen.text

    def mirrored() -> object:
        return npl.get(f"/datasets/{pid}").json().get("deployment")

    record = eventually(mirrored, timeout=10, every=0.05)
    assert record["instrument"] == "Ozone analyser X" and record["place"] == "Kaashidhoo"
    assert record["place_kind"] == "station" and record["latitude"] == 4.97
    assert record["start"].startswith("1990-01-01") and record["stop"] is None
