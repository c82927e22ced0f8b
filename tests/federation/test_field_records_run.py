"""Three real nodes: products and reports made at one center appear at the others, named by
their origin, and their withdrawals follow; a mirror's product file redirects to the origin."""

from __future__ import annotations

import io
import time
from datetime import UTC, datetime

import httpx

from catalog.db import make_session_factory
from catalog.schemas import Role
from catalog.users import create_user, issue_api_token
from tests.federation.cluster import Node
from tests.polling import eventually

CONVERGE_S = 2.0
"""The issue asks for "within a second", as datasets; 2 s leaves room for a loaded CI box."""


def staff_token(node: Node, name: str) -> dict[str, str]:
    """A staff user of `node`, made in its database; its bearer header."""
    now = datetime.now(UTC)
    with make_session_factory(node.engine)() as session, session.begin():
        user = create_user(session, username=name, password="pw-" * 4, role=Role.STAFF, now=now)
        token = issue_api_token(session, user, name="test", now=now)
    return {"Authorization": f"Bearer {token}"}


def png_bytes() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (320, 200), (200, 80, 20)).save(buffer, format="PNG")
    return buffer.getvalue()


def products_at(node: Node) -> dict[str, dict]:
    return {p["public_id"]: p for p in node.get("/products", limit=1000).json()["items"]}


def reports_at(node: Node) -> dict[str, dict]:
    return {r["public_id"]: r for r in node.get("/reports", limit=1000).json()["items"]}


def test_products_and_reports_travel_and_their_withdrawals_follow(
    cluster: dict[str, Node],
) -> None:
    joss, others = cluster["JOSS"], [cluster["NPL"], cluster["LMD"]]
    staff = staff_token(joss, "staff-fieldrec")
    name = "c130.9903070400.flight_track.png"
    files = {"file": (name, io.BytesIO(png_bytes()), "image/png")}
    made = httpx.post(joss.url + "/api/v1/submissions", files=files, headers=staff, timeout=30)
    assert made.status_code == 201, made.text
    daily = {"kind": "daily", "report_date": "1999-03-07", "title": "Day 66: RF07 to the ITCZ"}
    report = httpx.post(joss.url + "/api/v1/reports", json=daily, headers=staff, timeout=30)
    assert report.status_code == 201, report.text
    report_id = report.json()["public_id"]
    product = next(p for p in products_at(joss).values() if p["filename"] == name)
    started = time.monotonic()
    for node in others:
        eventually(lambda n=node: product["public_id"] in products_at(n), timeout=15)
        eventually(lambda n=node: report_id in reports_at(n), timeout=15)
    assert time.monotonic() - started < CONVERGE_S
    for node in others:
        mirrored = products_at(node)[product["public_id"]]
        assert mirrored["center"] == "JOSS" and mirrored["is_mirror"]
        assert mirrored["sha256"] == product["sha256"] and not product["is_mirror"]
        file = httpx.get(node.url + mirrored["links"]["file"], timeout=30)
        assert file.status_code == 307
        assert file.headers["location"] == joss.url + product["links"]["file"]
        followed = httpx.get(node.url + mirrored["links"]["file"], follow_redirects=True)
        assert followed.content == png_bytes()
        thumb = httpx.get(node.url + mirrored["links"]["thumbnail"], follow_redirects=True)
        assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/png"
        got = reports_at(node)[report_id]
        assert got["center"] == "JOSS" and got["title"] == daily["title"]
        gallery = httpx.get(node.url + "/products", timeout=30).text
        assert (
            'flight_track · 04:00 UTC · <abbr class="origin" title="filed at center JOSS">'
            in gallery
        )
        assert daily["title"] in httpx.get(node.url + "/reports", timeout=30).text
    # a mirror may not withdraw another center's record
    npl_copy = products_at(others[0])[product["public_id"]]
    npl_staff = staff_token(others[0], "staff-fieldrec-npl")
    refused = httpx.delete(
        f"{others[0].url}/api/v1/products/{npl_copy['id']}",
        params={"reason": "not ours"}, headers=npl_staff,
    )  # fmt: skip
    assert refused.status_code == 409
    gone = httpx.delete(
        f"{joss.url}/api/v1/products/{product['id']}", params={"reason": "wrong flight"},
        headers=staff,
    )  # fmt: skip
    assert gone.status_code == 204, gone.text
    joss_report = reports_at(joss)[report_id]
    gone = httpx.delete(
        f"{joss.url}/api/v1/reports/{joss_report['id']}", params={"reason": "typed twice"},
        headers=staff,
    )  # fmt: skip
    assert gone.status_code == 204, gone.text
    for node in others:
        eventually(lambda n=node: product["public_id"] not in products_at(n), timeout=15)
        eventually(lambda n=node: report_id not in reports_at(n), timeout=15)
    assert product["public_id"] not in products_at(joss) and report_id not in reports_at(joss)


def test_the_log_never_carries_a_withdrawn_records_content(cluster: dict[str, Node]) -> None:
    """After withdrawal, a peer reading the log from the start learns nothing of the product."""
    lmd = cluster["LMD"]
    staff = staff_token(lmd, "staff-fieldrec-lmd")
    daily = {"kind": "status", "report_date": "1999-03-08", "title": "Lidar: secret-canary"}
    made = httpx.post(lmd.url + "/api/v1/reports", json=daily, headers=staff, timeout=30)
    assert made.status_code == 201
    gone = httpx.delete(f"{lmd.url}/api/v1/reports/{made.json()['id']}",
                        params={"reason": "canary"}, headers=staff)  # fmt: skip
    assert gone.status_code == 204
    joss = cluster["JOSS"]
    eventually(lambda: made.json()["public_id"] not in reports_at(joss) or None)
    with make_session_factory(joss.engine)() as session:
        from sqlalchemy import select

        from catalog.models import Change

        rows = session.scalars(select(Change).where(Change.public_id == made.json()["public_id"]))
        payloads = [str(r.payload) for r in rows]
    assert all("secret-canary" not in p for p in payloads)


DAILY = {
    "kind": "daily", "report_date": "1999-03-10", "title": "Day 69",
    "details": {
        "flights": [{"platform": "C-130", "takeoff": "1999-03-10T04:05:00Z",
                     "landing": "1999-03-10T11:40:00Z", "mission": "RF09 ITCZ transect"}],
        "overpasses": [{"satellite": "NOAA-14", "time": "1999-03-10T08:31:00Z"}],
        "weather": "scattered cumulus", "notes": "ozonesonde at KCO",
    },
}  # fmt: skip


def test_structured_summaries_and_system_status_are_searchable_exported_and_mirrored(
    cluster: dict[str, Node],
) -> None:
    joss, npl = cluster["JOSS"], cluster["NPL"]
    staff = staff_token(joss, "staff-summaries")
    for code in ("lidar-kco", "radar-male"):
        system = {"code": code, "name": code, "password": f"{code}-form-pw"}
        made = httpx.post(joss.url + "/api/v1/systems", headers=staff, json=system)
        assert made.status_code == 201, made.text
    grant = httpx.post(joss.url + "/api/v1/systems/lidar-kco/grant",
                       json={"password": "lidar-kco-form-pw"})  # fmt: skip
    assert grant.status_code == 200, grant.text
    holder = {"X-FieldCat-Grant": grant.json()["holder"]}
    times = {"since": "1999-03-10T03:00:00Z", "until": "1999-03-10T09:00:00Z"}
    down = {"kind": "status", "report_date": "1999-03-10", "title": "lidar down",
            "details": {"system": "lidar-kco", "status": "down", **times}}  # fmt: skip
    assert httpx.post(joss.url + "/api/v1/reports", json=down, headers=holder).status_code == 201
    up = down | {"title": "lidar back", "details": down["details"] | {
        "status": "operating", "since": "1999-03-10T09:00:00Z", "until": None}}  # fmt: skip
    assert httpx.post(joss.url + "/api/v1/reports", json=up, headers=holder).status_code == 201
    other = down | {"details": down["details"] | {"system": "radar-male"}}
    refused = httpx.post(joss.url + "/api/v1/reports", json=other, headers=holder)
    assert refused.status_code == 401  # the lidar's grant opens no other system's form
    assert httpx.post(joss.url + "/api/v1/reports", json=DAILY, headers=staff).status_code == 201

    def history(node: Node) -> list[dict] | None:
        items = node.get("/systems/lidar-kco/status").json()["items"]
        return items if len(items) == 2 else None

    for node in (joss, npl):  # the history travels with the reports
        items = eventually(lambda n=node: history(n), timeout=15)
        assert [i["status"] for i in items] == ["operating", "down"]
        assert all(i["center"] == "JOSS" for i in items)
    systems = {s["code"]: s for s in joss.get("/systems").json()["items"]}
    assert systems["lidar-kco"]["current"]["status"] == "operating"
    eventually(lambda: npl.get("/reports", q="itcz transect").json()["items"] or None)
    found = npl.get("/reports", q="itcz transect").json()["items"]
    assert [r["title"] for r in found] == ["Day 69"]
    assert found[0]["details"]["flights"][0]["mission"] == "RF09 ITCZ transect"
    assert npl.get("/reports", system="lidar-kco", start="1999-03-10").json()["items"]
    csv_text = npl.get("/reports/export", format="csv", start="1999-03-10", end="1999-03-10").text
    assert "lidar-kco,down,1999-03-10T03:00:00Z" in csv_text and "C-130 RF09 ITCZ" in csv_text
    exported = npl.get("/reports/export", format="json", kind="daily", q="itcz").json()
    assert exported["items"][0]["details"]["overpasses"][0]["satellite"] == "NOAA-14"
    page = httpx.get(npl.url + "/calendar", params={"month": "1999-03"}).text
    assert "C-130 RF09 ITCZ transect 04:05" in page and "lidar-kco: down" in page


def test_expected_deliveries_are_judged_against_every_centers_datasets(
    cluster: dict[str, Node],
) -> None:
    from tests.federation.cluster import publish

    joss, npl, lmd = cluster["JOSS"], cluster["NPL"], cluster["LMD"]
    staff = staff_token(joss, "staff-expected")
    [delivered] = publish(npl, label="questionnaire")  # DID questionnaire-0, held at NPL
    eventually(lambda: delivered in joss.search_ids() or None, timeout=15)
    entries = [
        {"pi_name": "Ramanathan", "did": "questionnaire-0"},  # delivered at NPL
        {"pi_name": "Ramanathan", "did": "never-sent"},  # due by the release rule: past
        {"pi_name": "Mitra", "platform": "Sagar Kanya", "due": "2999-01-01"},
    ]
    for entry in entries:
        made = httpx.post(joss.url + "/api/v1/expected", json=entry, headers=staff)
        assert made.status_code == 201, made.text
    late = httpx.post(joss.url + "/api/v1/expected", json=entries[1], headers=staff).json()
    assert late["due"] == "2000-03-31"  # campaign end 1999-03-31 + 12 months (research)

    def judged() -> dict[str, dict] | None:
        items = lmd.get("/expected", center="JOSS").json()["items"]
        return {i["did"] or i["platform"]: i for i in items} if len(items) >= 3 else None

    items = eventually(judged, timeout=15)  # recorded at JOSS, seen at LMD
    assert items["questionnaire-0"]["standing"] == "received"
    assert items["questionnaire-0"]["dataset"] == delivered
    assert items["never-sent"]["standing"] == "late"
    assert items["Sagar Kanya"]["standing"] == "waiting"
    tally = {(t["pi_name"], t["center"]): t for t in lmd.get("/expected").json()["tally"]}
    assert tally[("Ramanathan", "JOSS")]["received"] == 1
    assert tally[("Ramanathan", "JOSS")]["late"] >= 1
    page = httpx.get(lmd.url + "/expected").text
    assert "Ramanathan" in page and "late" in page and "waiting" in page
    assert httpx.post(lmd.url + "/api/v1/expected", json=entries[0]).status_code == 401


def test_many_clients_filing_reports_at_once_lose_nothing(cluster: dict[str, Node]) -> None:
    """Twenty reports posted at once: each filed once, the log gap-free, all mirrored."""
    from concurrent.futures import ThreadPoolExecutor

    joss, npl = cluster["JOSS"], cluster["NPL"]
    staff = staff_token(joss, "staff-concurrent")

    def post(i: int) -> str:
        body = {"kind": "daily", "report_date": "1999-03-11", "title": f"burst {i}"}
        answer = httpx.post(joss.url + "/api/v1/reports", json=body, headers=staff, timeout=60)
        assert answer.status_code == 201, answer.text
        return str(answer.json()["public_id"])

    with ThreadPoolExecutor(20) as pool:
        made = set(pool.map(post, range(20)))
    assert len(made) == 20
    eventually(lambda: made <= set(reports_at(npl)) or None, timeout=30)
    titles = [r["title"] for r in reports_at(npl).values() if r["title"].startswith("burst ")]
    assert sorted(titles) == sorted(f"burst {i}" for i in range(20))  # none doubled


def test_expected_deliveries_are_edited_and_withdrawn_and_the_peers_follow(
    cluster: dict[str, Node],
) -> None:
    joss, npl, lmd = cluster["JOSS"], cluster["NPL"], cluster["LMD"]
    staff = staff_token(joss, "staff-expected-edit")
    wanted = {"pi_name": "Crutzen", "did": "to-withdraw", "due": "2999-01-01"}
    made = httpx.post(joss.url + "/api/v1/expected", headers=staff, json=wanted)
    assert made.status_code == 201, made.text
    entry = made.json()["id"]

    def at(node: Node) -> dict | None:
        items = node.get("/expected", center="JOSS").json()["items"]
        return next((i for i in items if i["id"] == entry), None)

    eventually(lambda: at(lmd), timeout=15)
    edited = httpx.patch(joss.url + f"/api/v1/expected/{entry}", headers=staff,
                         json={"due": "1999-04-01", "description": "moved up"})  # fmt: skip
    assert edited.status_code == 200 and edited.json()["standing"] == "late", edited.text
    seen = eventually(lambda: (e := at(lmd)) and e["due"] == "1999-04-01" and e, timeout=15)
    assert seen["description"] == "moved up" and seen["standing"] == "late"

    def edit(i: int) -> int:  # racing edits: each one is a new origin version, none is lost
        answer = httpx.patch(joss.url + f"/api/v1/expected/{entry}", headers=staff,
                             json={"description": f"note {i}"}, timeout=60)  # fmt: skip
        if answer.status_code == 503:
            assert "retry-after" in answer.headers
        return answer.status_code

    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(6) as pool:
        assert set(pool.map(edit, range(6))) <= {200, 503}
    final = at(joss)
    assert final is not None and final["description"].startswith("note ")
    eventually(lambda: (e := at(lmd)) and e["description"] == final["description"], timeout=15)
    # A mirror refuses to change another center's entry; a PI may not; a reason is required.
    npl_staff = staff_token(npl, "staff-npl-expected")
    eventually(lambda: at(npl), timeout=15)
    mirrored = httpx.delete(npl.url + f"/api/v1/expected/{entry}", headers=npl_staff,
                            params={"reason": "not ours"})  # fmt: skip
    assert mirrored.status_code == 409, mirrored.text
    assert httpx.delete(joss.url + f"/api/v1/expected/{entry}").status_code == 401
    assert httpx.delete(joss.url + f"/api/v1/expected/{entry}", headers=staff).status_code == 422

    def withdraw(_: int) -> int:
        answer = httpx.delete(joss.url + f"/api/v1/expected/{entry}", headers=staff,
                              params={"reason": "PI left the campaign"}, timeout=60)  # fmt: skip
        if answer.status_code == 503:
            assert "retry-after" in answer.headers
        return answer.status_code

    with ThreadPoolExecutor(6) as pool:  # racing withdrawals: one wins, none fails
        codes = list(pool.map(withdraw, range(6)))
    assert codes.count(204) == 1 and set(codes) <= {204, 404, 503}, codes
    assert at(joss) is None
    eventually(lambda: at(lmd) is None and at(npl) is None, timeout=15)
