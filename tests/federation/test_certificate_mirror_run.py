"""Three real nodes: a calibration certificate uploaded at its origin travels as the
instrument's new origin version (its SHA-256 and name); a peer answers its GET with a 307 to
the origin's URL, which serves the same bytes, and refuses an upload there (409)."""

from __future__ import annotations

import hashlib

import httpx

from tests.federation.cluster import Node
from tests.federation.test_field_records_run import staff_token
from tests.federation.test_registry_records_run import held, instruments_at, post
from tests.polling import eventually

CERTIFICATE = b"%PDF-1.4\n% Dobson calibration 1999\n" + bytes(range(256)) * 8


def test_a_mirrored_certificate_redirects_to_its_origin(cluster: dict[str, Node]) -> None:
    joss, npl = cluster["JOSS"], cluster["NPL"]
    staff = staff_token(joss, "staff-certificates")
    made = post(joss, "/instruments", {"name": "Dobson spectrophotometer 118"}, staff)
    assert made.status_code == 201, made.text
    iid, pid = made.json()["id"], made.json()["public_id"]
    cal = post(joss, f"/instruments/{iid}/calibrations", {"valid_from": "1999-01-01T00:00:00Z"},
               staff)  # fmt: skip
    assert cal.status_code == 201, cal.text
    origin_cal = cal.json()["calibrations"][0]["id"]
    put = httpx.put(
        f"{joss.url}/api/v1/calibrations/{origin_cal}/certificate", params={"name": "d118.pdf"},
        content=CERTIFICATE, headers=staff, timeout=30,
    )  # fmt: skip
    assert put.status_code == 200 and put.json()["origin_version"] == 3, put.text

    mirrored = eventually(lambda: held(npl, pid, 3), timeout=15)
    (copy,) = mirrored["calibrations"]
    assert copy["certificate_sha256"] == hashlib.sha256(CERTIFICATE).hexdigest()
    assert copy["certificate_name"] == "d118.pdf"
    url = f"{npl.url}/api/v1/calibrations/{copy['id']}/certificate"
    moved = httpx.get(url, timeout=30)
    assert moved.status_code == 307
    assert moved.headers["location"] == f"{joss.url}/api/v1/calibrations/{origin_cal}/certificate"
    assert httpx.get(url, follow_redirects=True, timeout=30).content == CERTIFICATE

    npl_staff = staff_token(npl, "staff-certificates")
    refused = httpx.put(url, content=CERTIFICATE, headers=npl_staff, timeout=30)
    assert refused.status_code == 409 and "mirrored from center JOSS" in refused.text
    assert instruments_at(npl)[pid]["origin_version"] == 3
