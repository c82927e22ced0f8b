"""Two real nodes: `fieldcat peers verify` compares the field catalog's records too (open
products, reports with their structured details, expected deliveries). Once they have
travelled both sides agree; a mirror whose report was changed behind the change log, or
that lost a product, is reported with the record's type, and the command exits 1. A product
that is not open is never compared (it never travelled)."""

from __future__ import annotations

import io
from typing import Any

import httpx
from sqlalchemy import delete, update

from catalog.db import make_session_factory
from catalog.models import Product, Report
from tests.archive_center.fieldcat_process import fieldcat
from tests.federation.cluster import Node
from tests.federation.test_field_records_run import (
    DAILY,
    png_bytes,
    products_at,
    reports_at,
    staff_token,
)
from tests.federation.test_peers_verify_run import pair, verify  # noqa: F401 - the fixture
from tests.polling import eventually


def expected_at(node: Node, center: str) -> dict[str, dict[str, Any]]:
    return {e["id"]: e for e in node.get("/expected", center=center).json()["items"]}


def test_verify_compares_products_reports_and_expected_deliveries(
    pair: dict[str, Node],  # noqa: F811 - the fixture imported above
) -> None:
    joss, npl = pair["JOSS"], pair["NPL"]
    staff = staff_token(joss, "staff-verify-field")
    name = "c130.9903100400.flight_track.png"
    files = {"file": (name, io.BytesIO(png_bytes()), "image/png")}
    made = httpx.post(joss.url + "/api/v1/submissions", files=files, headers=staff, timeout=30)
    assert made.status_code == 201, made.text
    report = httpx.post(joss.url + "/api/v1/reports", json=DAILY, headers=staff, timeout=30)
    assert report.status_code == 201, report.text
    report_id = report.json()["public_id"]
    wanted = {"pi_name": "Ramanathan", "did": "verify-0", "due": "2000-03-31"}
    expected = httpx.post(joss.url + "/api/v1/expected", json=wanted, headers=staff, timeout=30)
    assert expected.status_code == 201, expected.text
    product = next(p for p in products_at(joss).values() if p["filename"] == name)
    eventually(lambda: product["public_id"] in products_at(npl), timeout=30)
    eventually(lambda: report_id in reports_at(npl), timeout=30)
    eventually(lambda: len(expected_at(npl, "JOSS")) == 1 or None, timeout=30)

    code, agreed = verify(npl, "JOSS")
    assert code == 0, agreed
    assert agreed["compared"] == 3  # a product, a report, an expected delivery

    with make_session_factory(npl.engine)() as session, session.begin():
        # NPL's copy of the report changed behind the log; NPL lost the product
        session.execute(update(Report).where(Report.public_id == report_id).values(title="Day 70"))
        session.execute(delete(Product).where(Product.public_id == product["public_id"]))
    code, report_diff = verify(npl, "JOSS")
    assert code == 1
    (differ,) = report_diff["differ"]
    assert differ["public_id"] == report_id
    assert differ["here"]["record_type"] == differ["there"]["record_type"] == "report"
    assert report_diff["missing_here"] == [product["public_id"]]
    plain = verify_text(npl, "JOSS")
    assert f"differs: report {report_id} here v1 there v1" in plain
    assert f"missing here: product {product['public_id']}" in plain

    with make_session_factory(joss.engine)() as session, session.begin():
        # a product made private at its origin is not compared (it is not shared)
        session.execute(
            update(Product)
            .where(Product.public_id == product["public_id"])
            .values(access_state="private")
        )
    code, after = verify(npl, "JOSS")
    assert after["missing_here"] == [] and [d["public_id"] for d in after["differ"]] == [report_id]


def verify_text(node: Node, peer: str) -> str:
    done = fieldcat("peers", "verify", peer, "--config", str(node.config))
    assert done.returncode == 1, done.stdout + done.stderr
    return done.stdout
