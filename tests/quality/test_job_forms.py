"""The job and transfer source pages on the seeded node, signed in through the sign-in page
(cookies and CSRF tokens as a browser has them): a PI defines, changes, pauses, resumes,
runs now and deletes a job; another PI cannot touch it; staff add, change and delete a
transfer source whose secret is never shown; a refused form keeps what was typed."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from catalog.job_models import JobDefinition, TransferSource
from catalog.registry import InstrumentInput, add_instrument
from catalog.schemas import Role
from tests.archive_center.conftest import NOW, Node
from tests.ui.test_staff_pages import csrf_of, ensure_user, signed_in

SECRET = "a-pre-shared-secret-0123456789"


@pytest.fixture(scope="module")
def people(node: Node) -> dict[str, Any]:
    with node.app.state.session_factory() as session, session.begin():
        instrument = add_instrument(session, InstrumentInput(name="Form ozone"), NOW).id
    ensure_user(node, "jf-pi2", Role.PI)
    return {
        "pi": signed_in(node, "jf-pi", Role.PI),
        "other": signed_in(node, "jf-other", Role.PI),
        "staff": signed_in(node, "jf-staff", Role.STAFF),
        "instrument": instrument,
    }


def definition(node: Node, name: str) -> JobDefinition | None:
    with node.app.state.session_factory() as session:
        return session.scalar(select(JobDefinition).where(JobDefinition.name == name))


def existing(node: Node, name: str) -> JobDefinition:
    found = definition(node, name)
    assert found is not None, f"no job {name!r}"
    return found


def post_form(client: TestClient, page: str, target: str, **fields: Any) -> Any:
    """Post `fields` to `target` with the CSRF token of the form on `page`."""
    token = csrf_of(client.get(page).text)
    return client.post(target, data={**fields, "csrf_token": token})


def job_fields(people: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return {"name": "nightly qc", "kind": "rerun-qc", "period": "daily",
            "next_due": "2026-07-01T03:00", "instrument_id": str(people["instrument"]),
            "source_id": "", "merge_id": ""} | changes  # fmt: skip


def test_a_pi_defines_changes_pauses_runs_and_deletes_a_job(
    node: Node, people: dict[str, Any]
) -> None:
    pi = people["pi"]
    made = post_form(pi, "/jobs/new", "/jobs", **job_fields(people))
    assert made.status_code == 303, made.text
    job = definition(node, "nightly qc")
    assert job is not None and job.params == {"instrument_id": people["instrument"]}
    assert job.period == "daily" and f"{job.next_due:%Y-%m-%d %H:%M}" == "2026-07-01 03:00"
    listing = pi.get("/jobs").text
    assert "nightly qc" in listing and "Re-run the QC" in listing and "Not run yet." in listing
    form = pi.get(f"/jobs/{job.id}/edit").text
    assert 'value="nightly qc"' in form and 'value="2026-07-01T03:00"' in form
    changed = post_form(pi, f"/jobs/{job.id}/edit", f"/jobs/{job.id}",
                        **job_fields(people, period="weekly"))  # fmt: skip
    assert changed.status_code == 303
    job = existing(node, "nightly qc")
    assert job.period == "weekly"
    for action, enabled in (("pause", False), ("resume", True)):
        done = post_form(pi, "/jobs", f"/jobs/{job.id}/action", action=action)
        assert done.status_code == 303 and done.headers["location"] == f"/jobs#job-{job.id}"
        assert existing(node, "nightly qc").enabled is enabled
    post_form(pi, "/jobs", f"/jobs/{job.id}/action", action="pause")
    assert "Paused" in pi.get("/jobs").text
    refused = post_form(pi, "/jobs", f"/jobs/{job.id}/action", action="run")
    assert refused.status_code == 400 and "resume it" in refused.text
    post_form(pi, "/jobs", f"/jobs/{job.id}/action", action="resume")
    post_form(pi, "/jobs", f"/jobs/{job.id}/action", action="run")
    job = existing(node, "nightly qc")
    assert job.next_due.replace(tzinfo=None) == NOW.replace(tzinfo=None)  # due at once
    gone = post_form(pi, "/jobs", f"/jobs/{job.id}/action", action="delete")
    assert gone.status_code == 303 and definition(node, "nightly qc") is None


def test_a_refused_job_form_keeps_what_was_typed(node: Node, people: dict[str, Any]) -> None:
    pi = people["pi"]
    fields = job_fields(people, name="typed name", instrument_id="")
    refused = post_form(pi, "/jobs/new", "/jobs", **fields)
    assert refused.status_code == 400
    html = refused.text
    assert 'id="job-errors" role="alert" tabindex="-1" autofocus' in html
    assert "Choose the instrument" in html
    assert 'value="typed name"' in html and 'value="2026-07-01T03:00"' in html
    assert 'value="weekly" selected' not in html and 'value="daily" selected' in html
    assert definition(node, "typed name") is None
    missing = post_form(pi, "/jobs/new", "/jobs", **job_fields(people, instrument_id="999999"))
    assert missing.status_code == 400 and "no instrument" in missing.text


def test_only_the_owner_and_staff_manage_a_job(node: Node, people: dict[str, Any]) -> None:
    pi, other, staff = people["pi"], people["other"], people["staff"]
    post_form(pi, "/jobs/new", "/jobs", **job_fields(people, name="owned"))
    job = definition(node, "owned")
    assert job is not None
    assert other.get(f"/jobs/{job.id}/edit").status_code == 404
    for action in ("pause", "delete"):
        assert post_form(other, "/jobs", f"/jobs/{job.id}/action", action=action).status_code == 404
    edit = post_form(other, "/jobs", f"/jobs/{job.id}", **job_fields(people, name="stolen"))
    assert edit.status_code == 404 and definition(node, "owned") is not None
    no_token = pi.post(f"/jobs/{job.id}/action", data={"action": "delete"})
    assert no_token.status_code == 403 and definition(node, "owned") is not None
    assert staff.get(f"/jobs/{job.id}/edit").status_code == 200
    fields = job_fields(people, name="owned", period="hourly")
    changed = post_form(staff, "/jobs", f"/jobs/{job.id}", **fields)
    assert changed.status_code == 303
    job = definition(node, "owned")
    assert job is not None and job.period == "hourly"
    with node.app.state.session_factory() as session:
        from catalog.models import User

        owner = session.get(User, job.owner_user_id)
        assert owner is not None and owner.username == "jf-pi"  # a staff edit keeps the owner


def source_fields(node: Node, **changes: Any) -> dict[str, Any]:
    with node.app.state.session_factory() as session:
        from catalog.models import User

        pi = session.scalar(select(User.id).where(User.username == "jf-pi2"))
    return {"name": "iagos", "url": "https://iagos.example/api", "auth": "token",
            "key_id": "", "secret": SECRET, "owner_user_id": str(pi), "campaign": "INDOEX",
            "category": "", "access": "open", "period": "hourly"} | changes  # fmt: skip


def source(node: Node, name: str) -> TransferSource | None:
    with node.app.state.session_factory() as session:
        return session.scalar(select(TransferSource).where(TransferSource.name == name))


def test_staff_add_change_and_delete_a_transfer_source(node: Node, people: dict[str, Any]) -> None:
    staff = people["staff"]
    assert people["pi"].get("/transfers").status_code == 403
    made = post_form(staff, "/transfers/new", "/transfers", **source_fields(node))
    assert made.status_code == 303, made.text
    found = source(node, "iagos")
    assert found is not None and found.secret == SECRET and found.access == "open"
    pull = definition(node, "pull iagos")
    assert pull is not None and pull.kind == "pull-transfer" and pull.period == "hourly"
    assert pull.owner_user_id == found.owner_user_id and pull.params == {"source_id": found.id}
    page = staff.get("/transfers").text
    assert "iagos.example" in page and "pull iagos" in page and SECRET not in page
    form = staff.get(f"/transfers/{found.id}/edit").text
    assert SECRET not in form and 'value="https://iagos.example/api"' in form
    fields = source_fields(node, secret="", auth="hmac", key_id="k1", period="daily")
    kept = post_form(staff, f"/transfers/{found.id}/edit", f"/transfers/{found.id}", **fields)
    assert kept.status_code == 303
    found = source(node, "iagos")
    assert found is not None and found.secret == SECRET and found.auth == "hmac"
    assert existing(node, "pull iagos").period == "daily"
    new_secret = "another-secret-9876543210"
    post_form(staff, f"/transfers/{found.id}/edit", f"/transfers/{found.id}",
              **source_fields(node, secret=new_secret))  # fmt: skip
    found = source(node, "iagos")
    assert found is not None and found.secret == new_secret
    gone = post_form(staff, "/transfers", f"/transfers/{found.id}/delete")
    assert gone.status_code == 303 and source(node, "iagos") is None
    assert definition(node, "pull iagos") is None


def test_a_refused_source_form_keeps_what_was_typed_but_the_secret(
    node: Node, people: dict[str, Any]
) -> None:
    staff = people["staff"]
    fields = source_fields(node, name="typed source", url="ftp://nope.example", key_id="kk")
    refused = post_form(staff, "/transfers/new", "/transfers", **fields)
    assert refused.status_code == 400
    html = refused.text
    assert 'id="source-errors" role="alert" tabindex="-1" autofocus' in html
    assert "http:// or https://" in html and SECRET not in html
    assert 'value="typed source"' in html and 'value="ftp://nope.example"' in html
    assert 'value="kk"' in html and source(node, "typed source") is None
    short = post_form(staff, "/transfers/new", "/transfers",
                      **source_fields(node, name="short", secret="tiny"))  # fmt: skip
    assert short.status_code == 400 and "at least 16" in short.text
    no_pi = post_form(staff, "/transfers/new", "/transfers",
                      **source_fields(node, name="no pi", owner_user_id=""))  # fmt: skip
    assert no_pi.status_code == 400 and "Choose the PI" in no_pi.text


def test_a_pi_schedules_only_their_own_transfer_sources(node: Node, people: dict[str, Any]) -> None:
    staff = people["staff"]
    post_form(staff, "/transfers/new", "/transfers", **source_fields(node, name="theirs"))
    theirs = source(node, "theirs")
    assert theirs is not None
    form = people["pi"].get("/jobs/new").text
    assert "theirs" not in form  # jf-pi2's source is not offered to jf-pi
    fields = job_fields(people, name="pull theirs", kind="pull-transfer",
                        instrument_id="", source_id=str(theirs.id))  # fmt: skip
    refused = post_form(people["pi"], "/jobs/new", "/jobs", **fields)
    assert refused.status_code == 400 and "whose PI they are" in refused.text
