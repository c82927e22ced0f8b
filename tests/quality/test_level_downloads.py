"""Level as a download choice: `level=` serves the newest version released at that level.

A PI sends version 1, releases Level 1 of it, then sends a corrected version 2 (which starts
at Level 0 again): the current download is version 2, `level=1` is still version 1's bytes,
`level=2` is a 404 naming the level, and a level that does not exist is a 400.
"""

from __future__ import annotations

import io
from typing import Any

import pytest

from catalog.schemas import Role
from catalog.users import create_user, issue_api_token
from tests.archive_center.conftest import NOW, Node

DID = 7702


def header_file(version: int, value: float) -> bytes:
    rows = "\n".join(f"1999-02-01T0{h}:00:00Z {value + h:.2f}" for h in range(6))
    return (
        f"DID = {DID}\nFILE START TIME (UTC) = 1999-02-01T00:00:00Z\n"
        "FILE STOP TIME (UTC) = 1999-02-01T05:00:00Z\nPI NAME = Level, PI\n"
        "PLATFORM = Level Mast\nINSTRUMENT = Level monitor\nLOCATION = mast\n"
        f"DATA VERSION = {version}\nREMARKS = level download test\n"
        f"##END OF HEADER##\nDATE/TIME O3\nUTC ppbv\n{rows}\n"
    ).encode()


@pytest.fixture(scope="module")
def pi(node: Node) -> dict[str, str]:
    with node.app.state.session_factory() as session, session.begin():
        user = create_user(
            session, username="lvl-pi", password="pw-pw-pw-pw", role=Role.PI, now=NOW
        )
        token = issue_api_token(session, user, name="t", now=NOW)
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def staff(node: Node) -> dict[str, str]:
    with node.app.state.session_factory() as session, session.begin():
        user = create_user(
            session, username="lvl-staff", password="pw-pw-pw-pw", role=Role.STAFF, now=NOW
        )
        token = issue_api_token(session, user, name="t", now=NOW)
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def versions(node: Node, pi: dict[str, str]) -> dict[str, Any]:
    c = node.client
    first, second = header_file(1, 30.0), header_file(2, 40.0)
    sent = c.post("/api/v1/submissions", files={"file": ("a.txt", io.BytesIO(first))}, headers=pi)
    assert sent.status_code == 201, sent.text
    pid = sent.json()["dataset"]
    body = {"level": 1, "note": "QC reviewed"}
    released = c.put(f"/api/v1/datasets/{pid}/level", json=body, headers=pi)
    assert released.status_code == 200, released.text
    again = c.post("/api/v1/submissions", files={"file": ("b.txt", io.BytesIO(second))}, headers=pi)
    assert again.status_code == 201 and again.json()["dataset"] == pid, again.text
    return {"pid": pid, "first": first, "second": second}


def test_the_current_version_is_served_without_a_level(
    node: Node, versions: dict[str, Any]
) -> None:
    response = node.client.get(f"/api/v1/datasets/{versions['pid']}/data")
    assert response.status_code == 200 and response.content == versions["second"]
    assert node.client.get(f"/api/v1/datasets/{versions['pid']}").json()["level"] == 0


def test_level_1_serves_the_older_released_version(node: Node, versions: dict[str, Any]) -> None:
    response = node.client.get(f"/api/v1/datasets/{versions['pid']}/data", params={"level": 1})
    assert response.status_code == 200 and response.content == versions["first"]
    assert "_v1_L1." in response.headers["content-disposition"]


def test_level_0_is_the_newest_version(node: Node, versions: dict[str, Any]) -> None:
    response = node.client.get(f"/api/v1/datasets/{versions['pid']}/data", params={"level": 0})
    assert response.status_code == 200 and response.content == versions["second"]


def test_a_converted_level_download_reads_that_version(
    node: Node, versions: dict[str, Any]
) -> None:
    params: dict[str, Any] = {"level": 1, "format": "csv"}
    response = node.client.get(f"/api/v1/datasets/{versions['pid']}/data", params=params)
    assert response.status_code == 200, response.text
    assert "30.00" in response.text and "40.00" not in response.text


def test_no_version_at_level_2_is_a_404(node: Node, versions: dict[str, Any]) -> None:
    response = node.client.get(f"/api/v1/datasets/{versions['pid']}/data", params={"level": 2})
    assert response.status_code == 404 and "level 2" in response.text


def test_an_unknown_level_is_a_400(node: Node, versions: dict[str, Any]) -> None:
    response = node.client.get(f"/api/v1/datasets/{versions['pid']}/data", params={"level": 3})
    assert response.status_code == 400


def _rule(node: Node, pid: str, who: dict[str, str], **body: Any) -> Any:
    return node.client.put(f"/api/v1/datasets/{pid}/level-access", json=body, headers=who)


def test_an_embargo_over_level_0_while_level_1_is_open(
    node: Node, versions: dict[str, Any], pi: dict[str, str]
) -> None:
    """Current version 2 is Level 0; version 1 is Level 1. Embargo Level 0 only."""
    pid, c = versions["pid"], node.client
    until = "2030-01-01T00:00:00Z"
    reason = "preliminary data"
    other = {"Authorization": "Bearer nobody"}
    assert _rule(
        node, pid, other, level=0, state="embargoed", release_at=until, reason=reason
    ).status_code in (401, 403)
    done = _rule(node, pid, pi, level=0, state="embargoed", release_at=until, reason=reason)
    assert done.status_code == 200, done.text
    assert done.json()["level_access"]["0"]["state"] == "embargoed"
    closed = c.get(f"/api/v1/datasets/{pid}/data")
    assert closed.status_code == 403 and "2030-01-01" in closed.text
    assert c.get(f"/api/v1/datasets/{pid}/data", params={"level": 0}).status_code == 403
    opened = c.get(f"/api/v1/datasets/{pid}/data", params={"level": 1})
    assert opened.status_code == 200 and opened.content == versions["first"]
    owner = c.get(f"/api/v1/datasets/{pid}/data", headers=pi)
    assert owner.status_code == 200 and owner.content == versions["second"]
    assert c.get(f"/api/v1/datasets/{pid}").json()["level_access"]["0"]["release_at"]
    assert c.get(f"/api/v1/datasets/{pid}/plot").status_code == 403


def test_the_reverse_rule_and_inherit_are_audited(
    node: Node, versions: dict[str, Any], pi: dict[str, str], staff: dict[str, str]
) -> None:
    pid, c = versions["pid"], node.client
    until = "2030-01-01T00:00:00Z"
    assert (
        _rule(
            node, pid, pi, level=1, state="embargoed", release_at=until, reason="review"
        ).status_code
        == 200
    )
    assert _rule(node, pid, pi, level=0, state="open", reason="shared now").status_code == 200
    assert c.get(f"/api/v1/datasets/{pid}/data").status_code == 200
    assert c.get(f"/api/v1/datasets/{pid}/data", params={"level": 1}).status_code == 403
    assert _rule(node, pid, pi, level=1, state="inherit", reason="done").status_code == 200
    assert _rule(node, pid, pi, level=0, state="inherit", reason="done").status_code == 200
    assert c.get(f"/api/v1/datasets/{pid}/data", params={"level": 1}).status_code == 200
    assert c.get(f"/api/v1/datasets/{pid}").json()["level_access"] is None
    events = c.get(f"/api/v1/datasets/{pid}/audit", headers=staff).json()
    rules = [e for e in events if e["action"] == "level.access"]
    assert len(rules) == 5 and all(e["reason"] for e in rules)
    assert rules[0]["after"]["rule"] is None or rules[-1]["after"]["rule"] is None


def test_an_embargo_needs_its_release_date(
    node: Node, versions: dict[str, Any], pi: dict[str, str]
) -> None:
    answer = _rule(node, versions["pid"], pi, level=2, state="embargoed", reason="no date")
    assert answer.status_code == 400
    answer = _rule(node, versions["pid"], pi, level=2, state="inherit", reason="no rule")
    assert answer.status_code == 409


def test_a_rule_this_center_cannot_read_closes_the_data(
    node: Node, versions: dict[str, Any]
) -> None:
    """A malformed rule (as a peer might send) never opens data: it reads as an embargo."""
    from sqlalchemy import select

    from catalog.models import Dataset

    pid = versions["pid"]
    with node.app.state.session_factory() as session, session.begin():
        dataset = session.scalars(select(Dataset).where(Dataset.public_id == pid)).one()
        dataset.level_access = {"0": {"state": "wide-open"}}
    try:
        assert node.client.get(f"/api/v1/datasets/{pid}/data").status_code == 403
    finally:
        with node.app.state.session_factory() as session, session.begin():
            dataset = session.scalars(select(Dataset).where(Dataset.public_id == pid)).one()
            dataset.level_access = None


def _platforms(node: Node) -> dict[str, int]:
    page = node.client.get("/api/v1/datasets", params={"limit": 1}).json()
    return {f["value"]: f["count"] for f in page["facets"]["platform"]}


def test_facets_show_the_registry_names(
    node: Node, versions: dict[str, Any], staff: dict[str, str]
) -> None:
    """Registered as `LEVEL mast`, the platform the files call `Level Mast` is faceted under
    the registry's spelling, with the same count; other platforms are unchanged."""
    before = _platforms(node)
    assert before.get("Level Mast") == 1
    place = {"kind": "station", "name": "LEVEL mast", "latitude": 4.0, "longitude": 73.0}
    made = node.client.post("/api/v1/places", json=place, headers=staff)
    assert made.status_code == 201, made.text
    after = _platforms(node)
    assert after.pop("LEVEL mast") == 1 and "Level Mast" not in after
    before.pop("Level Mast")
    assert after == before
    filtered = node.client.get("/api/v1/datasets", params={"platform": "LEVEL mast"}).json()
    assert [i["public_id"] for i in filtered["items"]] == [versions["pid"]]
