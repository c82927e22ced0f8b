"""The PI upload form: the report inline with each finding linked to its line, and the
PI's submissions (TestClient against a real node)."""

from __future__ import annotations

import re

from catalog.schemas import Role
from tests.archive_center.conftest import Node
from tests.conftest import SAMPLES
from tests.ui.test_staff_pages import csrf_of, signed_in


def upload(client, name: str, content: bytes):  # type: ignore[no-untyped-def]
    form = client.get("/upload")
    assert form.status_code == 200
    return client.post(
        "/upload",
        data={"csrf_token": csrf_of(form.text), "access": "", "release_at": "", "category": ""},
        files={"file": (name, content, "text/plain")},
    )


def test_upload_needs_a_signed_in_submitter(node: Node) -> None:
    from fastapi.testclient import TestClient

    anonymous = TestClient(node.app, follow_redirects=False)
    r = anonymous.get("/upload")
    assert r.status_code == 303 and r.headers["location"] == "/signin?next=/upload"
    assert anonymous.get("/submissions").status_code == 303


def test_broken_file_shows_its_finding_on_its_line_then_the_fix_is_accepted(node: Node) -> None:
    pi = signed_in(node, "pi_upload", Role.PI)
    broken = (SAMPLES / "invalid" / "non_numeric_value.txt").read_bytes()
    r = upload(pi, "kco_o3.txt", broken)
    assert r.status_code == 422
    assert "Rejected: kco_o3.txt" in r.text
    assert '<a href="#L50" class="line-link">line 50' in r.text
    row = re.search(
        r'<tr id="L50" class="flagged"><th scope="row">50</th><td><code>([^<]*)</code>', r.text
    )
    assert row and "abc" in row.group(1)
    fixed = (SAMPLES / "valid" / "kco_surface_hourly.txt").read_bytes()
    # The same DID as the seeded KCO file belongs to nobody yet, so a new DID avoids clashes.
    fixed = fixed.replace(b"DID = 31", b"DID = 9931", 1)
    r = upload(pi, "kco_o3.txt", fixed)
    assert r.status_code == 200, r.text
    assert "Accepted: kco_o3.txt" in r.text
    pid = re.search(r'href="/datasets/([A-Za-z0-9_-]+)">open its page', r.text)
    assert pid
    listing = pi.get("/submissions").text
    assert listing.count("kco_o3.txt") == 2
    assert "rejected" in listing and "registered" in listing
    found = node.client.get("/search", params={"q": "9931"}).text
    assert f"/datasets/{pid.group(1)}" in found


def test_submissions_of_others_are_not_shown(node: Node) -> None:
    owner = signed_in(node, "pi_owner", Role.PI)
    upload(owner, "empty.txt", b"")
    listing = owner.get("/submissions").text
    sid = re.search(r'href="/submissions/([^"]+)"', listing)
    assert sid
    assert owner.get(f"/submissions/{sid.group(1)}").status_code == 200
    other = signed_in(node, "pi_other", Role.PI)
    assert other.get(f"/submissions/{sid.group(1)}").status_code == 404
    assert "empty.txt" not in other.get("/submissions").text


def tiny_png() -> bytes:
    import io

    from matplotlib.figure import Figure

    fig = Figure(figsize=(2, 1.5))
    fig.add_subplot().plot([0, 1], [1, 0])
    out = io.BytesIO()
    fig.savefig(out, format="png", dpi=40)
    return out.getvalue()


def test_products_gallery_by_day_and_source(node: Node) -> None:
    pi = signed_in(node, "pi_products", Role.PI)
    r = upload(pi, "C130.9902101230.flight_track.png", tiny_png())
    assert r.status_code == 200, r.text
    assert "Listed as a product." in r.text
    gallery = node.client.get("/products").text
    assert '<h2 id="day-1999-02-10">1999-02-10</h2>' in gallery
    assert "<h3>C130</h3>" in gallery and "flight_track · 12:30 UTC" in gallery
    assert node.client.get("/products", params={"day": "1999-02-11"}).text.count("gallery") == 0
    assert "flight_track" in node.client.get("/products", params={"source": "C130"}).text
    assert node.client.get("/products", params={"day": "tomorrow"}).status_code == 400


def test_rejected_queue_is_for_staff(node: Node) -> None:
    pi = signed_in(node, "pi_rejects", Role.PI)
    upload(pi, "truncated.txt", (SAMPLES / "invalid" / "bad_timestamp.txt").read_bytes())
    assert pi.get("/staff/rejected").status_code == 403
    staff = signed_in(node, "staff_rejects", Role.STAFF)
    page = staff.get("/staff/rejected").text
    assert "truncated.txt" in page and "line 70" in page
