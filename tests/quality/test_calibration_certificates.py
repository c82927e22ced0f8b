"""Calibration certificate files: upload, byte-identical download, a declared SHA-256 that
differs refused, callers other than staff refused, concurrent uploads leave one file and
record, and the upload raises the instrument's origin version (its peers learn the SHA-256)."""

from __future__ import annotations

import hashlib
import threading
from typing import Any

import pytest
from sqlalchemy import select

from catalog.audit import list_events
from catalog.registry_models import Calibration, Instrument
from catalog.schemas import Role
from catalog.users import create_user, issue_api_token
from tests.archive_center.conftest import NOW, Node

PDF = b"%PDF-1.4\n% calibration certificate\n" + bytes(range(256)) * 40


@pytest.fixture(scope="module")
def tokens(node: Node) -> dict[str, str]:
    out = {}
    with node.app.state.session_factory() as session, session.begin():
        for name, role in (("cert-pi", Role.PI), ("cert-staff", Role.STAFF)):
            user = create_user(session, username=name, password="pw-pw-pw-pw", role=role, now=NOW)
            out[name] = issue_api_token(session, user, name="t", now=NOW)
    return out


def auth(tokens: dict[str, str], who: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens[who]}"}


def calibration(node: Node, tokens: dict[str, str], name: str, **extra: Any) -> tuple[int, int]:
    """A new instrument with one calibration: (instrument id, calibration id)."""
    staff = auth(tokens, "cert-staff")
    made = node.client.post("/api/v1/instruments", json={"name": name}, headers=staff)
    assert made.status_code == 201, made.text
    iid = made.json()["id"]
    body = {"valid_from": "1999-01-01T00:00:00Z", **extra}
    cal = node.client.post(f"/api/v1/instruments/{iid}/calibrations", json=body, headers=staff)
    assert cal.status_code == 201, cal.text
    return iid, cal.json()["calibrations"][-1]["id"]


def version(node: Node, iid: int) -> int:
    with node.app.state.session_factory() as session:
        instrument = session.get(Instrument, iid)
        assert instrument is not None
        return instrument.origin_version


def test_upload_then_download_byte_identical(node: Node, tokens: dict[str, str]) -> None:
    iid, cid = calibration(node, tokens, "Cert photometer")
    before = version(node, iid)
    url = f"/api/v1/calibrations/{cid}/certificate"
    assert node.client.get(url).status_code == 404
    put = node.client.put(url, params={"name": "cal-1999.pdf"}, content=PDF,
                          headers=auth(tokens, "cert-staff"))  # fmt: skip
    assert put.status_code == 200, put.text
    cal = put.json()["calibrations"][0]
    assert cal["certificate_sha256"] == hashlib.sha256(PDF).hexdigest()
    assert cal["certificate_name"] == "cal-1999.pdf"
    assert version(node, iid) == before + 1
    got = node.client.get(url)  # anonymous: the registry is public metadata
    assert got.status_code == 200 and got.content == PDF
    assert "cal-1999.pdf" in got.headers["content-disposition"]
    assert got.headers["content-type"] == "application/pdf"
    again = node.client.put(url, content=PDF, headers=auth(tokens, "cert-staff"))
    assert again.status_code == 200 and again.json()["calibrations"][0]["certificate_name"] == (
        "cal-1999.pdf"
    )
    with node.app.state.session_factory() as session:
        actions = [e.action for e in list_events(session, limit=20)]
    assert "calibration.certificate" in actions


def test_declared_sha256_must_match(node: Node, tokens: dict[str, str]) -> None:
    declared = hashlib.sha256(b"the real certificate").hexdigest()
    _, cid = calibration(node, tokens, "Cert declared", certificate_sha256=declared)
    url = f"/api/v1/calibrations/{cid}/certificate"
    wrong = node.client.put(url, content=b"another file", headers=auth(tokens, "cert-staff"))
    assert wrong.status_code == 409 and declared in wrong.text
    assert node.client.get(url).status_code == 404
    named = {**auth(tokens, "cert-staff"), "Content-Disposition": 'attachment; filename="c.txt"'}
    right = node.client.put(url, content=b"the real certificate", headers=named)
    assert right.status_code == 200, right.text
    assert right.json()["calibrations"][0]["certificate_name"] == "c.txt"
    assert node.client.get(url).content == b"the real certificate"


def test_only_staff_upload(node: Node, tokens: dict[str, str]) -> None:
    _, cid = calibration(node, tokens, "Cert guarded")
    url = f"/api/v1/calibrations/{cid}/certificate"
    assert node.client.put(url, content=PDF).status_code == 401
    assert node.client.put(url, content=PDF, headers=auth(tokens, "cert-pi")).status_code == 403
    missing = node.client.put("/api/v1/calibrations/999999/certificate", content=PDF,
                              headers=auth(tokens, "cert-staff"))  # fmt: skip
    assert missing.status_code == 404
    empty = node.client.put(url, content=b"", headers=auth(tokens, "cert-staff"))
    assert empty.status_code == 400
    with node.app.state.session_factory() as session:
        assert session.get(Calibration, cid).certificate_sha256 is None  # type: ignore[union-attr]


def test_concurrent_uploads_leave_one_file_and_record(node: Node, tokens: dict[str, str]) -> None:
    iid, cid = calibration(node, tokens, "Cert raced")
    before = version(node, iid)
    url = f"/api/v1/calibrations/{cid}/certificate"
    bodies = [PDF + str(i).encode() for i in range(6)]
    answers: list[int] = []

    def send(body: bytes) -> None:
        answers.append(
            node.client.put(url, content=body, headers=auth(tokens, "cert-staff")).status_code
        )

    threads = [threading.Thread(target=send, args=(b,)) for b in bodies]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(answers) == [200] + [409] * 5, answers
    with node.app.state.session_factory() as session:
        sha = session.scalar(select(Calibration.certificate_sha256).where(Calibration.id == cid))
    winner = next(b for b in bodies if hashlib.sha256(b).hexdigest() == sha)
    assert node.client.get(url).content == winner
    assert version(node, iid) == before + 1
