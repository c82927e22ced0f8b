"""Registry edits on one node (SQLite and PostgreSQL): a removed deployment stops linking its
datasets, which are linked again by the automatic rule; a place is changed; staff only; the
staff forms of the /registry page do the same, keep what was typed when refused, carry the
CSRF token, and stream a certificate under the upload cap."""

from __future__ import annotations

import hashlib
import io
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from catalog.audit import list_events
from catalog.models import Dataset
from catalog.registry_models import Calibration, DatasetDeployment
from catalog.schemas import Role
from catalog.users import create_user, issue_api_token
from tests.archive_center.conftest import NOW, Node
from tests.ui.test_staff_pages import csrf_of, signed_in

MAST = {"kind": "station", "name": "Relink Mast", "latitude": 5.1, "longitude": 73.1}


@pytest.fixture(scope="module")
def tokens(node: Node) -> dict[str, dict[str, str]]:
    out = {}
    with node.app.state.session_factory() as session, session.begin():
        for name, role in (("edit-pi", Role.PI), ("edit-staff", Role.STAFF)):
            user = create_user(session, username=name, password="pw-pw-pw-pw", role=role, now=NOW)
            token = issue_api_token(session, user, name="t", now=NOW)
            out[name] = {"Authorization": f"Bearer {token}"}
    return out


def made(answer: Any, status: int = 201) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    body: dict[str, Any] = answer.json()
    return body


def series_file(did: int, platform: str, instrument: str) -> bytes:
    start = datetime(1999, 2, 1, tzinfo=UTC)
    rows = "\n".join(
        f"{(start + timedelta(hours=i)).strftime('%Y-%m-%dT%H:%M:%SZ')} {30 + i}" for i in range(5)
    )
    return (
        f"DID = {did}\nFILE START TIME (UTC) = {start:%Y-%m-%dT%H:%M:%SZ}\n"
        f"FILE STOP TIME (UTC) = {start + timedelta(hours=4):%Y-%m-%dT%H:%M:%SZ}\n"
        f"PI NAME = Test, PI\nPLATFORM = {platform}\nINSTRUMENT = {instrument}\n"
        "LOCATION = mast\nDATA VERSION = 1\nREMARKS = relink\n"
        f"##END OF HEADER##\nDATE/TIME O3\nUTC ppbv\n{rows}\n"
    ).encode()


def linked(node: Node, pid: str) -> tuple[int | None, dict[str, Any] | None, int]:
    """The dataset's deployment link, the registry record it carries, its origin version."""
    with node.app.state.session_factory() as session:
        dataset = session.scalars(select(Dataset).where(Dataset.public_id == pid)).one()
        link = session.get(DatasetDeployment, dataset.id)
        return (
            None if link is None else link.deployment_id,
            dataset.deployment,
            dataset.origin_version,
        )


def test_a_removed_deployment_unlinks_and_the_rule_links_again(
    node: Node, tokens: dict[str, dict[str, str]]
) -> None:
    c, staff = node.client, tokens["edit-staff"]
    mast = made(c.post("/api/v1/places", json=MAST, headers=staff))
    ozone = made(c.post("/api/v1/instruments", json={"name": "Relink O3"}, headers=staff))
    at_mast = {"place_id": mast["id"], "start": "1999-01-01T00:00:00Z"}
    url = f"/api/v1/instruments/{ozone['id']}/deployments"
    (auto,) = made(c.post(url, json=at_mast, headers=staff))["deployments"]
    files = {"file": ("o3.txt", io.BytesIO(series_file(7801, "Relink Mast", "Relink O3")))}
    sent = made(c.post("/api/v1/submissions", files=files, headers=tokens["edit-pi"]))
    pid = sent["dataset"]
    assert linked(node, pid)[0] == auto["id"]

    # staff link it by hand to another instrument's deployment elsewhere
    boat = made(
        c.post("/api/v1/places", json={"kind": "platform", "name": "Relink boat"}, headers=staff)
    )
    other = made(c.post("/api/v1/instruments", json={"name": "Boat O3"}, headers=staff))
    on_boat = {"place_id": boat["id"], "start": "1999-01-01T00:00:00Z"}
    other_url = f"/api/v1/instruments/{other['id']}/deployments"
    (chosen,) = made(c.post(other_url, json=on_boat, headers=staff))["deployments"]
    body = {"deployment_id": chosen["id"]}
    made(c.put(f"/api/v1/datasets/{pid}/deployment", json=body, headers=staff), 200)
    assert linked(node, pid)[1]["place"] == "Relink boat"  # type: ignore[index]

    # a wrong pair is a 404 and changes nothing; a PI may not remove
    assert c.delete(f"{url}/{chosen['id']}", headers=staff).status_code == 404
    assert c.delete(f"{other_url}/{chosen['id']}", headers=tokens["edit-pi"]).status_code == 403
    assert c.delete(f"{other_url}/{chosen['id']}").status_code == 401
    version = linked(node, pid)[2]

    # the chosen deployment goes: the automatic rule links the dataset to the mast again
    assert c.delete(f"{other_url}/{chosen['id']}", headers=staff).status_code == 204
    link, record, again = linked(node, pid)
    assert link == auto["id"] and record is not None and record["place"] == "Relink Mast"
    assert again == version + 1  # published: the peers see the new record
    detail = c.get(f"/api/v1/datasets/{pid}").json()
    assert detail["deployment"]["instrument"] == "Relink O3"
    assert "Relink O3 on station Relink Mast (registry)" in c.get(f"/datasets/{pid}").text

    # the last matching deployment goes: no link, no record
    assert c.delete(f"{url}/{auto['id']}", headers=staff).status_code == 204
    assert linked(node, pid)[:2] == (None, None)
    assert "on station Relink Mast" not in c.get(f"/datasets/{pid}").text
    with node.app.state.session_factory() as session:
        events = [e for e in list_events(session, limit=10) if e.action == "deployment.delete"]
    assert events[0].before["datasets"] == [pid] and events[0].before["place_name"] == "Relink Mast"
    assert events[1].before["deployment"] == chosen["id"]


def test_a_place_is_changed_by_staff_only(node: Node, tokens: dict[str, dict[str, str]]) -> None:
    c, staff = node.client, tokens["edit-staff"]
    place = made(c.post("/api/v1/places", json={**MAST, "name": "Edit Mast"}, headers=staff))
    made(c.post("/api/v1/places", json={**MAST, "name": "Taken Mast"}, headers=staff))
    url = f"/api/v1/places/{place['id']}"
    moved = {**MAST, "name": "Edit Tower", "latitude": -4.5, "description": "moved"}
    assert c.put(url, json=moved).status_code == 401
    assert c.put(url, json=moved, headers=tokens["edit-pi"]).status_code == 403
    assert c.put("/api/v1/places/999999", json=moved, headers=staff).status_code == 404
    assert c.put(url, json={**moved, "latitude": 91}, headers=staff).status_code == 422
    taken = c.put(url, json={**moved, "name": "taken mast"}, headers=staff)
    assert taken.status_code == 409 and "already registered" in taken.text
    done = made(c.put(url, json=moved, headers=staff), 200)
    assert done["name"] == "Edit Tower" and done["latitude"] == -4.5
    assert done["origin_version"] == 2 and done["description"] == "moved"
    names = [s["name"] for s in c.get("/api/v1/stations").json()]
    assert "Edit Tower" in names and "Edit Mast" not in names
    with node.app.state.session_factory() as session:
        (event,) = [e for e in list_events(session, limit=5) if e.action == "place.edit"]
    assert event.before["name"] == "Edit Mast" and event.after["name"] == "Edit Tower"


@pytest.fixture(scope="module")
def staff_page(node: Node) -> TestClient:
    return signed_in(node, "edit-staff-page", Role.STAFF)


def test_the_staff_forms_on_the_registry_page(
    node: Node, tokens: dict[str, dict[str, str]], staff_page: TestClient
) -> None:
    c, staff = node.client, tokens["edit-staff"]
    place = made(c.post("/api/v1/places", json={**MAST, "name": "Form Mast"}, headers=staff))
    tool = made(c.post("/api/v1/instruments", json={"name": "Form photometer"}, headers=staff))
    cal_url = f"/api/v1/instruments/{tool['id']}/calibrations"
    for year in (1998, 1999):
        made(c.post(cal_url, json={"valid_from": f"{year}-01-01T00:00:00Z"}, headers=staff))
    deploy = {"place_id": place["id"], "start": "1999-01-01T00:00:00Z"}
    details = made(
        c.post(f"/api/v1/instruments/{tool['id']}/deployments", json=deploy, headers=staff)
    )
    first, second = details["calibrations"]
    (dep,) = details["deployments"]

    anonymous = c.get("/registry").text
    assert "registry-remove" not in anonymous and "/edit" not in anonymous
    page = staff_page.get("/registry")
    assert page.status_code == 200 and f"/registry/places/{place['id']}/edit" in page.text
    token = csrf_of(page.text)
    base = f"/registry/instruments/{tool['id']}"

    # without the token: refused before anything
    no_token = staff_page.post(f"{base}/calibrations/{first['id']}/delete")
    assert no_token.status_code == 403
    removed = staff_page.post(
        f"{base}/calibrations/{first['id']}/delete", data={"csrf_token": token}
    )
    assert removed.status_code == 303 and removed.headers["location"] == (
        f"/registry#{tool['public_id']}"
    )
    again = staff_page.post(f"{base}/calibrations/{first['id']}/delete", data={"csrf_token": token})
    assert again.status_code == 404 and 'id="registry-errors"' in again.text
    gone = staff_page.post(f"{base}/deployments/{dep['id']}/delete", data={"csrf_token": token})
    assert gone.status_code == 303
    now = c.get("/api/v1/instruments").json()
    mine = next(i for i in now if i["id"] == tool["id"])
    assert [x["id"] for x in mine["calibrations"]] == [second["id"]] and mine["deployments"] == []

    # the certificate, streamed; a name typed in the form is kept when refused
    pdf = b"%PDF-1.4 form certificate " + bytes(range(256)) * 8
    target = f"/registry/calibrations/{second['id']}/certificate"
    sent = staff_page.post(
        target,
        data={"csrf_token": token, "name": "form-cal.pdf"},
        files={"file": ("local.pdf", pdf, "application/pdf")},
    )
    assert sent.status_code == 303, sent.text
    with node.app.state.session_factory() as session:
        cal = session.get(Calibration, second["id"])
        assert cal is not None and cal.certificate_sha256 == hashlib.sha256(pdf).hexdigest()
        assert cal.certificate_name == "form-cal.pdf"
    assert c.get(f"/api/v1/calibrations/{second['id']}/certificate").content == pdf
    other = staff_page.post(
        target,
        data={"csrf_token": token, "name": "other-name.pdf"},
        files={"file": ("x.pdf", b"another file", "application/pdf")},
    )
    assert other.status_code == 409 and 'id="registry-errors"' in other.text
    assert 'value="other-name.pdf"' in other.text  # kept, in that calibration's form
    no_file_token = staff_page.post(target, files={"file": ("x.pdf", pdf, "application/pdf")})
    assert no_file_token.status_code == 403

    # the place form: filled with the place, refused with what was typed, then saved
    form = staff_page.get(f"/registry/places/{place['id']}/edit")
    assert form.status_code == 200 and 'value="Form Mast"' in form.text
    fields = {"csrf_token": token, "kind": "station", "name": "Form Tower", "latitude": "95",
              "longitude": "73.1", "altitude": "", "description": "typed text"}  # fmt: skip
    refused = staff_page.post(f"/registry/places/{place['id']}", data=fields)
    assert refused.status_code == 400 and 'id="place-errors"' in refused.text
    assert 'value="Form Tower"' in refused.text and "typed text" in refused.text
    assert 'value="95"' in refused.text
    saved = staff_page.post(f"/registry/places/{place['id']}", data={**fields, "latitude": "5.5"})
    assert saved.status_code == 303
    stations = {s["id"]: s for s in c.get("/api/v1/stations").json()}
    assert stations[place["id"]]["name"] == "Form Tower"
    assert stations[place["id"]]["latitude"] == 5.5


def test_a_certificate_over_the_cap_is_refused_while_streaming(
    node: Node, tokens: dict[str, dict[str, str]], staff_page: TestClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    c, staff = node.client, tokens["edit-staff"]
    tool = made(c.post("/api/v1/instruments", json={"name": "Capped photometer"}, headers=staff))
    cal_url = f"/api/v1/instruments/{tool['id']}/calibrations"
    (cal,) = made(c.post(cal_url, json={"valid_from": "1999-01-01T00:00:00Z"}, headers=staff))[
        "calibrations"
    ]
    token = csrf_of(staff_page.get("/registry").text)
    monkeypatch.setattr(node.app.state.settings, "max_upload_bytes", 4096)
    big = staff_page.post(
        f"/registry/calibrations/{cal['id']}/certificate",
        data={"csrf_token": token, "name": "big.pdf"},
        files={"file": ("big.pdf", b"x" * 10_000, "application/pdf")},
    )
    assert big.status_code == 413 and 'id="registry-errors"' in big.text
    with node.app.state.session_factory() as session:
        assert session.get(Calibration, cal["id"]).certificate_sha256 is None  # type: ignore[union-attr]
