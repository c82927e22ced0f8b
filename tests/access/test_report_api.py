"""`/api/v1/reports`: public listings; staff post, others only with the form's grant."""

from __future__ import annotations

from typing import get_args

from archive_center.routers.reports import ReportKind
from catalog.field_reports import REPORT_KINDS, report_form_key
from catalog.grants import set_form_password
from tests.access.conftest import NOW, Callers
from tests.archive_center.conftest import Node

DAILY = {"kind": "daily", "report_date": "1999-02-20", "title": "Day 51", "body": "C-130 RF07"}


def test_staff_post_reports_and_anyone_lists_them(node: Node, callers: Callers) -> None:
    made = node.client.post("/api/v1/reports", json=DAILY, headers=callers.headers["staff"])
    assert made.status_code == 201, made.text
    report = made.json()
    assert report["kind"] == "daily" and report["report_date"] == "1999-02-20"
    assert report["center"] == node.settings.center_code
    listed = node.client.get("/api/v1/reports", params={"kind": "daily"})
    assert listed.status_code == 200
    assert report in listed.json()["items"]
    status_only = node.client.get("/api/v1/reports", params={"kind": "status"}).json()["items"]
    assert report not in status_only
    page = node.client.get("/reports?kind=daily")  # the web listing shows the same report
    assert "Day 51" in page.text


def test_without_staff_role_or_grant_a_post_is_refused(node: Node, callers: Callers) -> None:
    before = len(node.client.get("/api/v1/reports").json()["items"])
    anonymous = node.client.post("/api/v1/reports", json=DAILY)
    assert anonymous.status_code == 401
    assert "/api/v1/reports/daily/grant" in anonymous.json()["detail"]
    pi = node.client.post("/api/v1/reports", json=DAILY, headers=callers.headers["other"])
    assert pi.status_code == 403
    assert len(node.client.get("/api/v1/reports").json()["items"]) == before


def test_a_form_grant_lets_an_operator_post_that_kind_only(node: Node, callers: Callers) -> None:
    with node.app.state.session_factory() as session, session.begin():
        set_form_password(session, report_form_key("status"), "lidar ops form", NOW)
    wrong = node.client.post("/api/v1/reports/status/grant", json={"password": "guess"})
    assert wrong.status_code == 403
    grant = node.client.post("/api/v1/reports/status/grant", json={"password": "lidar ops form"})
    assert grant.status_code == 200, grant.text
    assert grant.headers["cache-control"] == "no-store"
    node.client.cookies.clear()
    holder = {"X-FieldCat-Grant": grant.json()["holder"]}
    status = DAILY | {"kind": "status", "title": "Lidar down 0300-0900 UTC"}
    posted = node.client.post("/api/v1/reports", json=status, headers=holder)
    assert posted.status_code == 201, posted.text
    other_kind = node.client.post("/api/v1/reports", json=DAILY, headers=holder)
    assert other_kind.status_code == 401  # the status form's grant opens no other form
    unknown = node.client.post("/api/v1/reports/weekly/grant", json={"password": "x"})
    assert unknown.status_code == 422


def test_a_report_is_checked_before_it_is_kept(node: Node, callers: Callers) -> None:
    staff = callers.headers["staff"]
    for bad in ({"title": ""}, {"report_date": "1999-02-31"}, {"kind": "weekly"}):
        response = node.client.post("/api/v1/reports", json=DAILY | bad, headers=staff)
        assert response.status_code == 422, bad
    long = node.client.post("/api/v1/reports", json=DAILY | {"body": "x" * 20_001}, headers=staff)
    assert long.status_code == 422


def test_the_api_knows_every_report_kind_the_catalog_has() -> None:
    # ReportKind is a Literal (for validation and the OpenAPI schema); it must not drift.
    assert set(get_args(ReportKind)) == set(REPORT_KINDS)
