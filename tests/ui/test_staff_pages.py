"""Sign-in, and staff setting and lifting an embargo through the pages (TestClient)."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from catalog.schemas import Role
from catalog.users import create_user
from tests.archive_center.conftest import EMBARGOED_SAMPLE, Node

KCO = "kco_surface_hourly.txt"
PASSWORD = "correct horse battery staple"


def ensure_user(node: Node, username: str, role: Role) -> None:
    from sqlalchemy import select

    from catalog.models import User

    with node.app.state.session_factory() as session, session.begin():
        if session.scalar(select(User).where(User.username == username)) is None:
            create_user(session, username=username, password=PASSWORD, role=role)


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "no CSRF token in the form"
    return found.group(1)


def signed_in(node: Node, username: str, role: Role) -> TestClient:
    ensure_user(node, username, role)
    client = TestClient(node.app, follow_redirects=False)
    form = client.get("/signin?next=/search")
    r = client.post(
        "/signin",
        data={"username": username, "password": PASSWORD, "next": "/search",
              "csrf_token": csrf_of(form.text)},
    )  # fmt: skip
    assert r.status_code == 303 and r.headers["location"] == "/search"
    return client


def test_sign_in_shows_the_user_and_signs_out(node: Node) -> None:
    client = signed_in(node, "pi_page", Role.PI)
    page = client.get("/search").text
    assert "Signed in as <strong>pi_page</strong> (pi)" in page
    r = client.post("/signout", data={"csrf_token": csrf_of(page)})
    assert r.status_code == 303
    assert "Signed in as" not in client.get("/search").text


def test_wrong_password_and_missing_csrf_are_refused(node: Node) -> None:
    ensure_user(node, "pi_wrong", Role.PI)
    client = TestClient(node.app, follow_redirects=False)
    token = csrf_of(client.get("/signin").text)
    r = client.post(
        "/signin", data={"username": "pi_wrong", "password": "nope", "csrf_token": token}
    )
    assert r.status_code == 401
    assert "Wrong user name or password." in r.text
    r = client.post("/signin", data={"username": "pi_wrong", "password": PASSWORD})
    assert r.status_code == 403
    assert "fieldcat_session" not in r.cookies


def test_sign_in_never_redirects_off_site(node: Node) -> None:
    ensure_user(node, "pi_next", Role.PI)
    client = TestClient(node.app, follow_redirects=False)
    token = csrf_of(client.get("/signin").text)
    r = client.post(
        "/signin",
        data={"username": "pi_next", "password": PASSWORD, "next": "//evil.example/x",
              "csrf_token": token},
    )  # fmt: skip
    assert r.headers["location"] == "/"


def test_staff_pages_need_staff(node: Node) -> None:
    anonymous = TestClient(node.app, follow_redirects=False)
    r = anonymous.get("/staff/embargoes")
    assert r.status_code == 303 and r.headers["location"].startswith("/signin?next=/staff")
    pi = signed_in(node, "pi_staffcheck", Role.PI)
    assert pi.get("/staff/embargoes").status_code == 403
    page = pi.get(f"/datasets/{node.ids[KCO]}").text
    r = pi.post(
        f"/datasets/{node.ids[KCO]}/access",
        data={"state": "embargoed", "reason": "not yours", "csrf_token": csrf_of(page)},
    )
    assert r.status_code == 403
    assert node.client.get(f"/api/v1/datasets/{node.ids[KCO]}").json()["access_state"] == "open"


def test_staff_set_and_lift_an_embargo(node: Node) -> None:
    pid = node.ids[KCO]
    staff = signed_in(node, "staff_embargo", Role.STAFF)
    listing = staff.get("/staff/embargoes").text
    assert f"/datasets/{node.ids[EMBARGOED_SAMPLE]}" in listing
    page = staff.get(f"/datasets/{pid}").text
    assert "Manage access (staff)" in page
    r = staff.post(
        f"/datasets/{pid}/access",
        data={"state": "embargoed", "release_at": "2027-06-01T00:00", "reason": "QC pending",
              "csrf_token": csrf_of(page)},
    )  # fmt: skip
    assert r.status_code == 303, r.text
    visitor = node.client.get(f"/datasets/{pid}")
    assert "2027-06-01 00:00 UTC" in visitor.text
    assert 'class="plot"' not in visitor.text and "download-form" not in visitor.text
    assert node.client.get(f"/api/v1/datasets/{pid}/plot").status_code == 403
    page = staff.get(f"/datasets/{pid}").text
    assert "QC pending" in page and "staff_embargo" in page  # the audit trail
    r = staff.post(
        f"/datasets/{pid}/access",
        data={"state": "open", "reason": "QC done", "csrf_token": csrf_of(page)},
    )
    assert r.status_code == 303
    visitor = node.client.get(f"/datasets/{pid}")
    assert 'class="plot"' in visitor.text and "download-form" in visitor.text


def test_staff_form_errors_are_shown(node: Node) -> None:
    pid = node.ids[KCO]
    staff = signed_in(node, "staff_errors", Role.STAFF)
    page = staff.get(f"/datasets/{pid}").text
    r = staff.post(
        f"/datasets/{pid}/access",
        data={"state": "embargoed", "release_at": "2001-01-01T00:00", "reason": "past",
              "csrf_token": csrf_of(page)},
    )  # fmt: skip
    assert r.status_code == 400
    assert "the release date must be in the future" in r.text


def test_admins_manage_users_staff_only_see_them(node: Node) -> None:
    staff = signed_in(node, "staff_users", Role.STAFF)
    page = staff.get("/staff/users")
    assert page.status_code == 200 and "staff_users" in page.text
    assert "Add a user" not in page.text
    r = staff.post(
        "/staff/users",
        data={"username": "sneaky", "password": PASSWORD, "role": "admin",
              "csrf_token": csrf_of(page.text)},
    )  # fmt: skip
    assert r.status_code == 403
    admin = signed_in(node, "admin_users", Role.ADMIN)
    page = admin.get("/staff/users").text
    r = admin.post(
        "/staff/users",
        data={"username": "new_pi", "password": PASSWORD, "role": "pi", "display_name": "New PI",
              "csrf_token": csrf_of(page)},
    )  # fmt: skip
    assert r.status_code == 303
    page = admin.get("/staff/users").text
    assert "New PI" in page
    r = admin.post("/staff/users/new_pi", data={"role": "staff", "csrf_token": csrf_of(page)})
    assert r.status_code == 303
    page = admin.get("/staff/users").text
    row = page.split("<td>new_pi</td>", 1)[1].split("</tr>", 1)[0]
    assert "<td>Staff</td><td>no</td>" in row  # the unticked box deactivated the user
    dup = admin.post(
        "/staff/users",
        data={
            "username": "new_pi",
            "password": PASSWORD,
            "role": "pi",
            "csrf_token": csrf_of(page),
        },
    )
    assert dup.status_code == 400 and "exists already" in dup.text
