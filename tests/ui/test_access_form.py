"""The staff 'Manage access' form: keeps what was typed, errors at its top with focus, the
campaign's past default explained, and not offered on mirrored records (TestClient)."""

from __future__ import annotations

import re
from html import unescape

from catalog.schemas import Role
from tests.archive_center.conftest import MIRROR_URL, Node
from tests.ui.test_staff_pages import csrf_of, signed_in

SOUNDING = "sagar_kanya_sounding.txt"
PAST_DEFAULT = "The campaign's default release date, 2000-03-31, has passed"


def field_value(html: str, field_id: str) -> str:
    found = re.search(rf'<input id="{field_id}"[^>]*\svalue="([^"]*)"', html)
    assert found, f"no value on #{field_id}"
    return unescape(found.group(1))


def selected_state(html: str) -> str:
    select = re.search(r'<select id="acc-state".*?</select>', html, re.S)
    assert select
    found = re.search(r'<option value="([^"]+)" selected>', select.group(0))
    assert found
    return found.group(1)


def test_a_refused_change_keeps_what_was_typed_and_says_why_at_the_top(node: Node) -> None:
    pid = node.ids[SOUNDING]
    staff = signed_in(node, "staff_form_typed", Role.STAFF)
    page = staff.get(f"/datasets/{pid}").text
    r = staff.post(
        f"/datasets/{pid}/access",
        data={"state": "password", "release_at": "2001-01-01T00:00", "password": "pw",
              "reason": "wait for the & partner's <QC>", "csrf_token": csrf_of(page)},
    )  # fmt: skip
    assert r.status_code == 400
    html = r.text
    assert selected_state(html) == "password"
    assert field_value(html, "acc-release") == "2001-01-01T00:00"
    assert field_value(html, "acc-reason") == "wait for the & partner's <QC>"
    assert 'value="pw"' not in html  # a password never comes back
    assert "Type the password again" in html
    form = html[html.index('<form class="access-form"') :]
    errors = re.search(r'<div class="errors" id="access-errors"[^>]*autofocus>(.*?)</div>', form)
    assert errors and "the release date must be in the future" in errors.group(1)
    assert form.index('id="access-errors"') < form.index('id="acc-state"')  # above the fields
    assert f'action="/datasets/{pid}/access#access-errors"' in html  # the browser lands on it


def test_an_empty_release_with_a_past_campaign_default_is_explained(node: Node) -> None:
    pid = node.ids[SOUNDING]
    staff = signed_in(node, "staff_form_default", Role.STAFF)
    page = staff.get(f"/datasets/{pid}").text
    assert PAST_DEFAULT in unescape(page)  # said before anyone submits
    assert 'aria-describedby="acc-release-note"' in page
    r = staff.post(
        f"/datasets/{pid}/access",
        data={"state": "embargoed", "release_at": "", "reason": "QC pending",
              "csrf_token": csrf_of(page)},
    )  # fmt: skip
    assert r.status_code == 400
    errors = re.search(r'id="access-errors".*?</div>', r.text, re.S)
    assert errors and PAST_DEFAULT in unescape(errors.group(0))
    assert "choose “Open”" in unescape(errors.group(0))
    assert (
        selected_state(r.text) == "embargoed" and field_value(r.text, "acc-reason") == "QC pending"
    )
    assert node.client.get(f"/api/v1/datasets/{pid}").json()["access_state"] == "open"


def test_a_mirrored_record_offers_its_origin_page_not_the_form(node: Node) -> None:
    pid = node.ids["mirror"]
    staff = signed_in(node, "staff_form_mirror", Role.STAFF)
    page = staff.get(f"/datasets/{pid}").text
    assert "Manage access (staff)" in page
    assert 'class="access-form"' not in page
    assert f'href="{MIRROR_URL}/datasets/{pid}"' in page
    r = staff.post(  # a stale form still gets a clear answer, with the link
        f"/datasets/{pid}/access",
        data={"state": "embargoed", "release_at": "2030-01-01T00:00", "reason": "stale form",
              "csrf_token": csrf_of(page)},
    )  # fmt: skip
    assert r.status_code == 400
    assert "belongs to center NPL; change it there" in r.text
    assert f'href="{MIRROR_URL}/datasets/{pid}"' in r.text
