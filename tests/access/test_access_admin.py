"""Staff manage access (audited, logged for peers); grants expire, are revoked, rate limited."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from catalog.models import AuditEvent, Change
from tests.access.conftest import NOW, PASSWORD, Callers
from tests.archive_center.conftest import OPEN_SAMPLES, Node

LATER = NOW + timedelta(days=200)


@pytest.fixture
def clock(node: Node) -> Iterator[list[object]]:
    """Move the node's clock: `clock[0] = instant`; restored afterwards."""
    moved: list[object] = [NOW]
    node.app.state.clock = lambda: moved[0]
    yield moved
    node.app.state.clock = lambda: NOW


def _put(node: Node, callers: Callers, pid: str, who: str = "staff", **body: object):
    return node.client.put(
        f"/api/v1/datasets/{pid}/access",
        json={"reason": "test", **body},
        headers=callers.headers[who],
    )


def _changes(node: Node, pid: str) -> list[Change]:
    with node.app.state.session_factory() as session:
        return list(
            session.scalars(select(Change).where(Change.public_id == pid).order_by(Change.seq))
        )


def test_reembargo_open_data_is_audited_and_logged(node: Node, callers: Callers) -> None:
    pid = node.ids[OPEN_SAMPLES[0]]
    before = _changes(node, pid)
    response = _put(node, callers, pid, state="embargoed", release_at=LATER.isoformat())
    assert response.status_code == 200, response.text
    assert response.json()["state"] == "embargoed"
    assert response.headers["cache-control"] == "no-store"
    anon = node.client.get(f"/api/v1/datasets/{pid}/data")
    assert anon.status_code == 403
    after = _changes(node, pid)
    assert len(after) == len(before) + 1
    assert after[-1].payload["access_state"] == "embargoed"
    assert after[-1].origin_version > before[-1].origin_version
    audit = node.client.get(f"/api/v1/datasets/{pid}/audit", headers=callers.headers["admin"])
    event = audit.json()[0]
    assert event["actor"] == "staff" and event["reason"] == "test"
    assert event["before"]["state"] == "open" and event["after"]["state"] == "embargoed"
    lifted = _put(node, callers, pid, state="open")
    assert lifted.status_code == 200
    assert node.client.get(f"/api/v1/datasets/{pid}/data").status_code == 200


def test_embargo_without_date_takes_the_campaign_default(
    node: Node, callers: Callers, clock: list[object]
) -> None:
    pid = node.ids[OPEN_SAMPLES[1]]
    clock[0] = datetime(1999, 4, 2, tzinfo=UTC)  # just after INDOEX's intensive phase
    response = _put(node, callers, pid, state="embargoed")
    assert response.status_code == 200, response.text
    # research data: 12 months after the intensive phase ended on 1999-03-31
    assert response.json()["release_at"].startswith("2000-03-31T00:00:00")
    clock[0] = NOW  # long after: the default lies in the past, so a date must be given
    stale = _put(node, callers, pid, state="embargoed")
    assert stale.status_code == 400 and "future" in stale.json()["detail"]
    assert _put(node, callers, pid, state="open").status_code == 200


def test_roles_and_reasons_are_enforced(node: Node, callers: Callers) -> None:
    pid = node.ids[OPEN_SAMPLES[2]]
    assert node.client.put(f"/api/v1/datasets/{pid}/access", json={}).status_code in (401, 422)
    denied = _put(node, callers, pid, who="owner", state="private")
    assert denied.status_code == 403 and denied.json()["type"].endswith("forbidden")
    no_reason = node.client.put(
        f"/api/v1/datasets/{pid}/access",
        json={"state": "private", "reason": ""},
        headers=callers.headers["staff"],
    )
    assert no_reason.status_code == 422
    past = _put(node, callers, pid, state="embargoed", release_at=(NOW - timedelta(1)).isoformat())
    assert past.status_code == 400


def test_mirrored_record_is_changed_only_at_its_origin(node: Node, callers: Callers) -> None:
    response = _put(node, callers, node.ids["mirror"], state="private")
    assert response.status_code == 409


def test_withdraw_sends_a_tombstone_and_hides_the_dataset(node: Node, callers: Callers) -> None:
    pid = node.ids[OPEN_SAMPLES[2]]
    response = node.client.delete(
        f"/api/v1/datasets/{pid}?reason=duplicate upload", headers=callers.headers["staff"]
    )
    assert response.status_code == 200, response.text
    assert _changes(node, pid)[-1].kind == "tombstone"
    assert node.client.get(f"/api/v1/datasets/{pid}").status_code == 404
    staff_view = node.client.get(f"/api/v1/datasets/{pid}", headers=callers.headers["staff"])
    assert staff_view.status_code == 200
    with node.app.state.session_factory() as session:
        event = session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
        assert event is not None and event.action == "withdraw"
        assert event.reason == "duplicate upload"


def _grant(node: Node, pid: str, password: str) -> object:
    response = node.client.post(f"/api/v1/datasets/{pid}/grant", json={"password": password})
    node.client.cookies.clear()
    return response


def test_grant_expires_and_password_change_revokes(
    node: Node, callers: Callers, clock: list[object]
) -> None:
    pid = node.ids[OPEN_SAMPLES[0]]
    assert _put(node, callers, pid, state="password", password="first secret",
                release_at=LATER.isoformat()).status_code == 200  # fmt: skip
    grant = _grant(node, pid, "first secret")
    assert grant.status_code == 200  # type: ignore[attr-defined]
    holder = {"X-FieldCat-Grant": grant.json()["holder"]}  # type: ignore[attr-defined]
    assert node.client.get(f"/api/v1/datasets/{pid}/data", headers=holder).status_code == 200
    clock[0] = NOW + timedelta(minutes=31)
    assert node.client.get(f"/api/v1/datasets/{pid}/data", headers=holder).status_code == 403
    clock[0] = NOW
    assert node.client.get(f"/api/v1/datasets/{pid}/data", headers=holder).status_code == 200
    assert _put(node, callers, pid, state="password", password="second secret",
                release_at=LATER.isoformat()).status_code == 200  # fmt: skip
    assert node.client.get(f"/api/v1/datasets/{pid}/data", headers=holder).status_code == 403
    assert _grant(node, pid, "first secret").status_code == 403  # type: ignore[attr-defined]
    assert _grant(node, pid, "second secret").status_code == 200  # type: ignore[attr-defined]
    assert _put(node, callers, pid, state="open").status_code == 200


def test_password_attempts_are_rate_limited(
    node: Node, callers: Callers, clock: list[object]
) -> None:
    pid = node.ids[OPEN_SAMPLES[1]]
    clock[0] = NOW + timedelta(hours=2)  # a fresh window
    assert _put(node, callers, pid, state="password", password="right secret",
                release_at=LATER.isoformat()).status_code == 200  # fmt: skip
    limit = node.settings.access.password_attempts
    for _ in range(limit):
        assert _grant(node, pid, "wrong secret").status_code == 403  # type: ignore[attr-defined]
    blocked = _grant(node, pid, "right secret")
    assert blocked.status_code == 429  # type: ignore[attr-defined]
    assert int(blocked.headers["retry-after"]) > 0  # type: ignore[attr-defined]
    clock[0] = NOW + timedelta(hours=3)  # the window has passed
    assert _grant(node, pid, "right secret").status_code == 200  # type: ignore[attr-defined]


def test_sign_in_is_rate_limited(node: Node, callers: Callers, clock: list[object]) -> None:
    clock[0] = NOW + timedelta(hours=5)
    body = {"username": "admin", "password": "wrong password"}
    for _ in range(node.settings.access.password_attempts):
        assert node.client.post("/api/v1/auth/session", json=body).status_code == 401
    body["password"] = PASSWORD
    assert node.client.post("/api/v1/auth/session", json=body).status_code == 429
    node.client.cookies.clear()


def test_right_passwords_never_use_up_the_window(
    node: Node, callers: Callers, clock: list[object]
) -> None:
    """Colleagues behind one address sign in all day: only wrong passwords count."""
    clock[0] = NOW + timedelta(hours=7)
    limit = node.settings.access.password_attempts
    right = {"username": "admin", "password": PASSWORD}
    for _ in range(limit + 3):
        assert node.client.post("/api/v1/auth/session", json=right).status_code == 200
        node.client.cookies.clear()
    wrong = {"username": "admin", "password": "wrong password"}
    for _ in range(limit - 1):  # one short of the limit: still let in with the right one
        assert node.client.post("/api/v1/auth/session", json=wrong).status_code == 401
    assert node.client.post("/api/v1/auth/session", json=right).status_code == 200
    node.client.cookies.clear()
    assert node.client.post("/api/v1/auth/session", json=wrong).status_code == 401
    assert node.client.post("/api/v1/auth/session", json=right).status_code == 429
    node.client.cookies.clear()


def test_cookie_session_write_needs_csrf(node: Node, callers: Callers) -> None:
    pid = node.ids[OPEN_SAMPLES[0]]
    signed = node.client.post(
        "/api/v1/auth/session", json={"username": "staff", "password": PASSWORD}
    )
    csrf = signed.json()["csrf_token"]
    body = {"state": "open", "reason": "csrf check"}
    refused = node.client.put(f"/api/v1/datasets/{pid}/access", json=body)
    assert refused.status_code == 403 and refused.json()["type"].endswith("csrf-failed")
    allowed = node.client.put(
        f"/api/v1/datasets/{pid}/access", json=body, headers={"X-CSRF-Token": csrf}
    )
    assert allowed.status_code == 200, allowed.text
    node.client.cookies.clear()


def test_worker_sweep_purges_lapsed_credentials(node: Node, callers: Callers) -> None:
    from catalog.auth_models import AccessGrant, PasswordAttempt, UserSession
    from catalog.grants import sweep_credentials

    node.client.post("/api/v1/auth/session", json={"username": "owner", "password": PASSWORD})
    node.client.cookies.clear()
    later = NOW + timedelta(days=30)
    assert sweep_credentials(node.app.state.engine, later) > 0
    with node.app.state.session_factory() as session:
        for table in (AccessGrant, UserSession, PasswordAttempt):
            assert session.scalars(select(table)).first() is None, table.__name__
