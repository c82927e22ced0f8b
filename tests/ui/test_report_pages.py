"""Daily summaries and status reports: each form behind its own password; public listings."""

from __future__ import annotations

from fastapi.testclient import TestClient

from catalog.schemas import Role
from tests.archive_center.conftest import Node
from tests.ui.test_staff_pages import csrf_of, signed_in

FORM_PASSWORD = "daily form password"


def test_staff_set_the_form_password_and_a_holder_writes_a_report(node: Node) -> None:
    staff = signed_in(node, "staff_reports", Role.STAFF)
    form = staff.get("/reports/daily/new").text
    assert 'action="/reports/daily"' in form  # staff need no form password
    r = staff.post("/reports/daily/form-password",
                   data={"password": FORM_PASSWORD, "csrf_token": csrf_of(form)})  # fmt: skip
    assert r.status_code == 303

    field = TestClient(node.app, follow_redirects=False)
    locked = field.get("/reports/daily/new").text
    assert 'action="/reports/daily/password"' in locked and 'action="/reports/daily"' not in locked
    token = csrf_of(locked)
    wrong = field.post("/reports/daily/password", data={"password": "nope", "csrf_token": token})
    assert wrong.status_code == 401
    refused = field.post(
        "/reports/daily",
        data={"report_date": "1999-02-20", "title": "sneaky", "csrf_token": token},
    )
    assert refused.status_code == 403
    ok = field.post(
        "/reports/daily/password", data={"password": FORM_PASSWORD, "csrf_token": token}
    )
    assert ok.status_code == 303 and "fieldcat_grant" in ok.cookies
    status_form = field.get("/reports/status/new").text  # another form: its own password
    assert 'action="/reports/status/password"' in status_form
    r = field.post(
        "/reports/daily",
        data={"report_date": "1999-02-20", "title": "C-130 RF07 flew <the> haze layer",
              "body": "Takeoff 04:00 UTC from Male.", "csrf_token": token},
    )  # fmt: skip
    assert r.status_code == 303
    listing = node.client.get("/reports", params={"kind": "daily"}).text
    assert "C-130 RF07 flew &lt;the&gt; haze layer" in listing
    assert "Takeoff 04:00 UTC from Male." in listing
    assert "sneaky" not in listing
    assert node.client.get("/reports/bogus/new").status_code == 404


def test_pi_cannot_set_form_passwords(node: Node) -> None:
    pi = signed_in(node, "pi_reports", Role.PI)
    page = pi.get("/reports/status/new").text
    r = pi.post("/reports/status/form-password",
                data={"password": "whatever123", "csrf_token": csrf_of(page)})  # fmt: skip
    assert r.status_code == 403


def test_home_shows_the_newest_daily_summary(node: Node) -> None:
    staff = signed_in(node, "staff_home", Role.STAFF)
    form = staff.get("/reports/daily/new").text
    staff.post(
        "/reports/daily",
        data={"report_date": "1999-03-31", "title": "Last day of the IFP", "body": "All landed.",
              "csrf_token": csrf_of(form)},
    )  # fmt: skip
    home = node.client.get("/").text
    assert "Daily summary, 1999-03-31" in home and "Last day of the IFP" in home
