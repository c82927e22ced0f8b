"""Form refusals name the field that is wrong (no catch-all "check the date")."""

from __future__ import annotations

from catalog.schemas import Role
from tests.archive_center.conftest import Node
from tests.ui.test_staff_pages import KCO, csrf_of, signed_in


def test_the_access_form_names_a_wrong_date_and_a_wrong_state(node: Node) -> None:
    staff = signed_in(node, "staff_messages", Role.STAFF)
    pid = node.ids[KCO]
    token = csrf_of(staff.get(f"/datasets/{pid}").text)
    bad_date = staff.post(
        f"/datasets/{pid}/access",
        data={"state": "embargoed", "reason": "r", "release_at": "someday", "csrf_token": token},
    )
    assert bad_date.status_code == 400
    assert "Give the release date as YYYY-MM-DD" in bad_date.text
    bad_state = staff.post(
        f"/datasets/{pid}/access", data={"state": "secret", "reason": "r", "csrf_token": token}
    )
    assert bad_state.status_code == 400
    assert "Choose one of the listed access states." in bad_state.text
    assert node.client.get(f"/api/v1/datasets/{pid}").json()["access_state"] == "open"
