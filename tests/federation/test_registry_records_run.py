"""Three real nodes: the instrument registry travels as records of its own. An instrument, a
calibration and a deployment made at one center appear at the others with their origin;
edits raise the origin version; a retirement or deletion follows as a tombstone; a peer
cannot edit a mirrored entry; the same serial at two centers is two records; a peer's facets
use the mirrored registry's names for the mirrored datasets."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
from sqlalchemy import select

from catalog.models import AuditEvent, Change
from tests.federation.cluster import Node, change, publish
from tests.federation.test_field_records_run import CONVERGE_S, staff_token
from tests.polling import eventually

STATION = {"kind": "station", "name": "Kaashidhoo Observatory", "latitude": 4.97,
           "longitude": 73.47, "altitude": 1.0, "description": "KCO"}  # fmt: skip
PICARRO = {"name": "Picarro G2401", "kind": "CRDS analyser",
           "components": [{"name": "analyser", "serial": "CFKADS-2001"}]}  # fmt: skip
CALIBRATION = {"valid_from": "1999-01-01T00:00:00Z", "valid_to": "1999-12-31T00:00:00Z",
               "parameters": {"slope": 1.002, "offset": -0.4},
               "certificate_name": "cal-1999.pdf", "certificate_sha256": "ab" * 32}  # fmt: skip


def post(node: Node, path: str, body: dict[str, Any], headers: dict[str, str]) -> httpx.Response:
    return httpx.post(f"{node.url}/api/v1{path}", json=body, headers=headers, timeout=30)


def instruments_at(node: Node) -> dict[str, dict[str, Any]]:
    return {i["public_id"]: i for i in node.get("/instruments").json()}


def stations_at(node: Node) -> dict[str, dict[str, Any]]:
    return {s["public_id"]: s for s in node.get("/stations").json()}


def held(node: Node, public_id: str, version: int) -> dict[str, Any] | None:
    found = instruments_at(node).get(public_id)
    return found if found is not None and found["origin_version"] == version else None


def test_registry_entries_travel_and_peers_cannot_edit_them(cluster: dict[str, Node]) -> None:
    joss, npl, lmd = cluster["JOSS"], cluster["NPL"], cluster["LMD"]
    staff = staff_token(joss, "staff-registry")
    station = post(joss, "/places", STATION, staff)
    assert station.status_code == 201, station.text
    made = post(joss, "/instruments", PICARRO, staff)
    assert made.status_code == 201, made.text
    iid, pid = made.json()["id"], made.json()["public_id"]
    assert made.json()["center"] == "JOSS" and not made.json()["is_mirror"]
    assert post(joss, f"/instruments/{iid}/calibrations", CALIBRATION, staff).status_code == 201
    deploy = {"place_id": station.json()["id"], "start": "1999-01-01T00:00:00Z"}
    deployed = post(joss, f"/instruments/{iid}/deployments", deploy, staff)
    assert deployed.status_code == 201, deployed.text
    assert deployed.json()["origin_version"] == 3  # made, calibrated, deployed

    started = time.monotonic()
    for node in (npl, lmd):
        eventually(lambda n=node: held(n, pid, 3), timeout=15)
    assert time.monotonic() - started < CONVERGE_S
    for node in (npl, lmd):
        mirrored = instruments_at(node)[pid]
        assert mirrored["center"] == "JOSS" and mirrored["is_mirror"]
        assert mirrored["origin_url"] == f"{joss.url}/registry#{pid}"
        assert mirrored["components"] == PICARRO["components"]
        (cal,) = mirrored["calibrations"]
        assert cal["parameters"] == CALIBRATION["parameters"]
        assert cal["certificate_sha256"] == CALIBRATION["certificate_sha256"]
        (dep,) = mirrored["deployments"]
        assert dep["place"] == STATION["name"] and dep["place_kind"] == "station"
        place = stations_at(node)[station.json()["public_id"]]
        assert place["center"] == "JOSS" and place["latitude"] == STATION["latitude"]

    page = httpx.get(f"{npl.url}/registry", timeout=30).text
    assert f'<tr id="{pid}"><td>Picarro G2401' in page
    assert f'href="{joss.url}/registry#{pid}">edit it at JOSS</a>' in page
    own = httpx.get(f"{joss.url}/registry", timeout=30).text
    assert f'<tr id="{pid}">' in own and "edit it at" not in own.split(f'id="{pid}"')[1][:600]

    # an edit raises the origin version, and the peers follow
    edit = {**PICARRO, "description": "inlet moved to the tower top"}
    edited = httpx.put(f"{joss.url}/api/v1/instruments/{iid}", json=edit, headers=staff)
    assert edited.status_code == 200 and edited.json()["origin_version"] == 4
    for node in (npl, lmd):
        got = eventually(lambda n=node: held(n, pid, 4), timeout=15)
        assert got["description"] == edit["description"]

    # a peer cannot edit a mirrored entry: 409 naming the origin
    npl_staff = staff_token(npl, "staff-registry")
    local_id = instruments_at(npl)[pid]["id"]
    refusals = [
        post(npl, f"/instruments/{local_id}/calibrations", CALIBRATION, npl_staff),
        post(npl, f"/instruments/{local_id}/deployments", deploy | {"place_id": 1}, npl_staff),
        httpx.put(f"{npl.url}/api/v1/instruments/{local_id}", json=edit, headers=npl_staff),
        httpx.delete(f"{npl.url}/api/v1/instruments/{local_id}", headers=npl_staff),
        httpx.put(f"{npl.url}/api/v1/instruments/{local_id}/qc/o3", headers=npl_staff,
                  json={"tests": {"gross_range": {"fail_span": [0, 200]}}}),
    ]  # fmt: skip
    for refused in refusals:
        assert refused.status_code == 409, refused.text
        assert "mirrored from center JOSS" in refused.text and "edit it there" in refused.text
    assert held(npl, pid, 4) is not None

    # the same instrument (same serial) registered at NPL is a second record, each with its
    # origin, each naming the other
    twin = post(npl, "/instruments", PICARRO, npl_staff)
    assert twin.status_code == 201, twin.text
    twin_pid = twin.json()["public_id"]
    eventually(lambda: twin_pid in instruments_at(lmd), timeout=15)
    at_lmd = instruments_at(lmd)
    assert at_lmd[pid]["center"] == "JOSS" and at_lmd[twin_pid]["center"] == "NPL"
    assert at_lmd[pid]["same_serial"] == [{"center": "NPL", "public_id": twin_pid}]
    assert at_lmd[twin_pid]["same_serial"] == [{"center": "JOSS", "public_id": pid}]

    # retirement and deletion follow as tombstones; the twin stays
    retired = httpx.delete(f"{joss.url}/api/v1/instruments/{iid}", headers=staff)
    assert retired.status_code == 204, retired.text
    gone = httpx.delete(f"{joss.url}/api/v1/places/{station.json()['id']}", headers=staff)
    assert gone.status_code == 204, gone.text
    for node in (npl, lmd):
        eventually(lambda n=node: pid not in instruments_at(n), timeout=15)
        eventually(lambda n=node: station.json()["public_id"] not in stations_at(n), timeout=15)
    assert twin_pid in instruments_at(lmd)
    with joss.session() as session:  # the earlier entries were rewritten as tombstones
        logged = session.scalars(select(Change).where(Change.public_id == pid)).all()
    assert len(logged) == 5  # made, calibrated, deployed, edited, retired
    assert {(c.kind, c.record_type) for c in logged} == {("tombstone", "instrument")}


def test_a_peers_facets_use_the_mirrored_registry_names(cluster: dict[str, Node]) -> None:
    joss, npl = cluster["JOSS"], cluster["NPL"]
    staff = staff_token(joss, "staff-registry-facets")
    (pid,) = publish(joss, label="facet")
    change(joss, pid, platform="gan island mast")
    place = {"kind": "platform", "name": "Gan Island Mast"}
    assert post(joss, "/places", place, staff).status_code == 201

    def platforms() -> set[str] | None:
        page = npl.get("/datasets", limit=1).json()
        values = {f["value"] for f in page["facets"]["platform"]}
        return values if "Gan Island Mast" in values else None

    values = eventually(platforms, timeout=15)
    assert "gan island mast" not in values
    detail = npl.get(f"/datasets/{pid}").json()
    assert detail["platform"] == "gan island mast"  # the record itself is as its file says


def test_calibrations_posted_at_once_each_raise_the_version(cluster: dict[str, Node]) -> None:
    """Twelve calibrations of one instrument at once: each recorded once (or refused with a
    503 and Retry-After under overload), one origin version each, all mirrored."""
    joss, npl = cluster["JOSS"], cluster["NPL"]
    staff = staff_token(joss, "staff-registry-burst")
    made = post(joss, "/instruments", {"name": "Burst photometer"}, staff)
    assert made.status_code == 201, made.text
    iid, pid = made.json()["id"], made.json()["public_id"]

    def calibrate(i: int) -> bool:
        body = {**CALIBRATION, "certificate_name": f"burst-{i}.pdf"}
        answer = httpx.post(f"{joss.url}/api/v1/instruments/{iid}/calibrations", json=body,
                            headers=staff, timeout=60)  # fmt: skip
        if answer.status_code == 503:
            assert answer.headers["retry-after"]
            return False
        assert answer.status_code == 201, answer.text
        return True

    with ThreadPoolExecutor(12) as pool:
        recorded = sum(pool.map(calibrate, range(12)))
    assert recorded >= 1
    mirrored = eventually(lambda: held(npl, pid, 1 + recorded), timeout=30)
    names = sorted(c["certificate_name"] for c in mirrored["calibrations"])
    assert len(names) == len(set(names)) == recorded


def test_removed_parts_and_edited_places_reach_the_peers(cluster: dict[str, Node]) -> None:
    """One calibration and one deployment removed, a station renamed and moved: audited, the
    origin version raised, the peers follow within the usual convergence; a peer's copy is
    read-only (409) and a wrong pair is a 404."""
    joss, npl, lmd = cluster["JOSS"], cluster["NPL"], cluster["LMD"]
    staff = staff_token(joss, "staff-registry-edits")
    station = post(joss, "/places", {**STATION, "name": "Hanimaadhoo Mast"}, staff).json()
    made = post(joss, "/instruments", {"name": "Edited nephelometer"}, staff)
    iid, pid = made.json()["id"], made.json()["public_id"]
    for year in (1998, 1999):
        period = {"valid_from": f"{year}-01-01T00:00:00Z", "valid_to": f"{year}-12-31T00:00:00Z"}
        body = {**CALIBRATION, **period, "certificate_name": f"cal-{year}.pdf"}
        assert post(joss, f"/instruments/{iid}/calibrations", body, staff).status_code == 201
    deploy = {"place_id": station["id"], "start": "1999-01-01T00:00:00Z"}
    details = post(joss, f"/instruments/{iid}/deployments", deploy, staff).json()
    assert details["origin_version"] == 4
    (dep,) = details["deployments"]
    first, second = details["calibrations"]
    for node in (npl, lmd):
        eventually(lambda n=node: held(n, pid, 4), timeout=15)

    url = f"{joss.url}/api/v1/instruments/{iid}"
    gone = httpx.delete(f"{url}/calibrations/{first['id']}", headers=staff)
    assert gone.status_code == 204, gone.text
    assert httpx.delete(f"{url}/calibrations/{first['id']}", headers=staff).status_code == 404
    other = post(joss, "/instruments", {"name": "Another nephelometer"}, staff).json()
    wrong_pair = f"{joss.url}/api/v1/instruments/{other['id']}/deployments/{dep['id']}"
    assert httpx.delete(wrong_pair, headers=staff).status_code == 404
    assert httpx.delete(f"{url}/deployments/{dep['id']}", headers=staff).status_code == 204
    moved = {**STATION, "name": "Hanimaadhoo Observatory", "latitude": 6.78, "altitude": 2.0}
    renamed = httpx.put(f"{joss.url}/api/v1/places/{station['id']}", json=moved, headers=staff)
    assert renamed.status_code == 200, renamed.text
    assert renamed.json()["origin_version"] == 2 and renamed.json()["latitude"] == 6.78

    started = time.monotonic()
    for node in (npl, lmd):
        copy = eventually(lambda n=node: held(n, pid, 6), timeout=15)
        assert [c["certificate_name"] for c in copy["calibrations"]] == [second["certificate_name"]]
        assert copy["deployments"] == []
        place = eventually(
            lambda n=node: (
                (p := stations_at(n).get(station["public_id"])) and p["origin_version"] == 2 and p
            ),
            timeout=15,
        )
        assert place["name"] == "Hanimaadhoo Observatory" and place["latitude"] == 6.78
    assert time.monotonic() - started < CONVERGE_S * 4

    with joss.session() as session:
        actions = [
            e.action for e in session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc()))
        ][:3]
    assert actions == ["place.edit", "deployment.delete", "calibration.delete"]

    npl_staff = staff_token(npl, "staff-registry-edits")
    copy_id = instruments_at(npl)[pid]["id"]
    (kept,) = instruments_at(npl)[pid]["calibrations"]
    npl_place = stations_at(npl)[station["public_id"]]["id"]
    refusals = [
        httpx.delete(f"{npl.url}/api/v1/instruments/{copy_id}/calibrations/{kept['id']}",
                     headers=npl_staff),
        httpx.put(f"{npl.url}/api/v1/places/{npl_place}", json=moved, headers=npl_staff),
    ]  # fmt: skip
    for refused in refusals:
        assert refused.status_code == 409, refused.text
        assert "mirrored from center JOSS" in refused.text
    assert held(npl, pid, 6) is not None


def test_many_clients_remove_and_rename_at_once(cluster: dict[str, Node]) -> None:
    """Twelve clients remove twelve calibrations at once, eight race to remove one
    deployment, twelve rename one platform: each removal happens once (the racers' others are
    404s), each write raises the origin version once, and the peers end where the origin is."""
    joss, npl = cluster["JOSS"], cluster["NPL"]
    staff = staff_token(joss, "staff-registry-crowd")
    made = post(joss, "/instruments", {"name": "Crowded photometer"}, staff).json()
    iid, pid = made["id"], made["public_id"]
    platform = post(joss, "/places", {"kind": "platform", "name": "Crowd ship"}, staff).json()
    for i in range(12):
        body = {**CALIBRATION, "certificate_name": f"crowd-{i}.pdf"}
        assert post(joss, f"/instruments/{iid}/calibrations", body, staff).status_code == 201
    deploy = {"place_id": platform["id"], "start": "1999-01-01T00:00:00Z"}
    details = post(joss, f"/instruments/{iid}/deployments", deploy, staff).json()
    (dep,) = details["deployments"]
    url = f"{joss.url}/api/v1/instruments/{iid}"

    def send(request: tuple[str, str, dict[str, Any] | None]) -> int:
        method, target, body = request
        for _ in range(20):  # an overloaded node answers 503 with Retry-After: try again
            answer = httpx.request(method, target, json=body, headers=staff, timeout=60)
            if answer.status_code != 503:
                return answer.status_code
            time.sleep(float(answer.headers["retry-after"]))
        raise AssertionError(f"{method} {target} stayed busy")

    requests: list[tuple[str, str, dict[str, Any] | None]] = [
        ("DELETE", f"{url}/calibrations/{c['id']}", None) for c in details["calibrations"]
    ]
    requests += [("DELETE", f"{url}/deployments/{dep['id']}", None)] * 8
    requests += [
        ("PUT", f"{joss.url}/api/v1/places/{platform['id']}",
         {"kind": "platform", "name": f"Crowd ship {i}"})
        for i in range(12)
    ]  # fmt: skip
    with ThreadPoolExecutor(16) as pool:
        statuses = list(pool.map(send, requests))
    assert statuses[:12] == [204] * 12
    assert sorted(statuses[12:20]) == [204] + [404] * 7
    assert statuses[20:] == [200] * 12
    final = instruments_at(joss)[pid]
    assert final["calibrations"] == [] and final["deployments"] == []
    assert final["origin_version"] == 1 + 12 + 1 + 12 + 1
    ship = {p["public_id"]: p for p in joss.get("/platforms").json()}[platform["public_id"]]
    assert ship["origin_version"] == 13

    mirrored = eventually(lambda: held(npl, pid, final["origin_version"]), timeout=30)
    assert mirrored["calibrations"] == [] and mirrored["deployments"] == []
    at_npl = eventually(
        lambda: (p := {q["public_id"]: q for q in npl.get("/platforms").json()}.get(
            platform["public_id"])) and p["origin_version"] == 13 and p,
        timeout=30,
    )  # fmt: skip
    assert at_npl["name"] == ship["name"]
