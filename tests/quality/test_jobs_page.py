"""The jobs page (`GET /jobs`): a PI sees their own definitions and runs, with duration,
state, result or error; another PI sees none of them; staff see all; anonymous callers are
sent to sign in."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from archive_center.job_queue import configure, run_attempt
from catalog.schemas import Role
from catalog.users import create_user, issue_api_token
from tests.archive_center.conftest import NOW, Node

DUE = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def tokens(node: Node) -> dict[str, dict[str, str]]:
    out = {}
    with node.app.state.session_factory() as session, session.begin():
        for name, role in (("jp-pi", Role.PI), ("jp-other", Role.PI), ("jp-staff", Role.STAFF)):
            user = create_user(session, username=name, password="pw-pw-pw-pw", role=role, now=NOW)
            token = issue_api_token(session, user, name="t", now=NOW)
            out[name] = {"Authorization": f"Bearer {token}"}
    return out


@pytest.fixture(scope="module")
def ran(node: Node, tokens: dict[str, dict[str, str]]) -> dict[str, Any]:
    """Two digest jobs of the PI, run once each: one succeeds, one lacks its center."""
    c, pi = node.client, tokens["jp-pi"]
    good = {
        "name": "good digest", "kind": "daily-digest", "period": "daily",
        "params": {"campaign": "INDOEX", "center": "JOSS"}, "first_due": DUE.isoformat(),
    }  # fmt: skip
    bad = {**good, "name": "broken digest", "params": {"campaign": "INDOEX"}}
    ids = []
    for body in (good, bad):
        made = c.post("/api/v1/jobs", json=body, headers=pi)
        assert made.status_code == 201, made.text
        ids.append(made.json()["id"])
    engine = node.app.state.engine
    configure(engine, node.app.state.store, "JOSS", "INDOEX")
    run_attempt(engine, ids[0], DUE, 1)
    with pytest.raises(KeyError):
        run_attempt(engine, ids[1], DUE, 1)
    return {"ids": ids}


def test_the_pi_sees_runs_with_duration_result_and_error(
    node: Node, tokens: dict[str, dict[str, str]], ran: dict[str, Any]
) -> None:
    page = node.client.get("/jobs", headers=tokens["jp-pi"])
    assert page.status_code == 200, page.text
    html = page.text
    assert "good digest" in html and "broken digest" in html
    assert "succeeded" in html and "report_id" in html
    assert "failed" in html and "attempt 1 of 4" in html and "KeyError" in html
    assert "Next due: 2026-01-01 00:00:00 UTC" in html


def test_another_pi_sees_none_and_staff_see_all(
    node: Node, tokens: dict[str, dict[str, str]], ran: dict[str, Any]
) -> None:
    other = node.client.get("/jobs", headers=tokens["jp-other"])
    assert other.status_code == 200 and "good digest" not in other.text
    assert "No jobs defined." in other.text
    staff = node.client.get("/jobs", headers=tokens["jp-staff"])
    assert "good digest" in staff.text and "broken digest" in staff.text


def test_anonymous_callers_are_not_shown_jobs(node: Node, ran: dict[str, Any]) -> None:
    page = node.client.get("/jobs", follow_redirects=False)
    assert page.status_code in (303, 401) and "good digest" not in page.text
