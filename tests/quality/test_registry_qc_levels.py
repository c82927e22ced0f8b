"""The IAGOS chain on one node: registry, QA/QC with ioos_qc, overrides, levels.

A station and an instrument are registered and deployed; a PI's series with a planted spike,
a flat line and out-of-range values is submitted; the worker's QC step flags it, and the
stored flags equal ioos_qc's QARTOD tests run directly here on the same arrays.
"""

from __future__ import annotations

import io
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest
from ioos_qc import qartod

from archive_center.worker import derive_missing
from catalog.models import Dataset
from catalog.qc import effective_flags
from catalog.schemas import Role
from catalog.users import create_user, issue_api_token
from tests.archive_center.conftest import NOW, Node

STATION = {"kind": "station", "name": "Test Mast", "latitude": 4.97, "longitude": 73.47}
INSTRUMENT = "Ozone monitor O3M"
ROWS = 200
SPIKE, FLAT, OUT = 50, range(100, 121), (150, 151)
TESTS: dict[str, dict[str, Any]] = {
    "gross_range": {"fail_span": [0, 200], "suspect_span": [2, 150]},
    "spike": {"suspect_threshold": 10, "fail_threshold": 30},
    "flat_line": {"suspect_threshold": 3 * 3600, "fail_threshold": 6 * 3600, "tolerance": 0.001},
    "rate_of_change": {"threshold": 60 / 3600},
    "gap": {"fail_span": 2},
}


def series() -> np.ndarray[Any, Any]:
    values = 30 + 10 * np.sin(np.arange(ROWS) / 8.0)
    values[SPIKE] += 45
    values[FLAT.start : FLAT.stop] = 33.33
    values[list(OUT)] = 500.0
    return np.round(values, 2)


def header_file(did: int) -> bytes:
    start = datetime(1999, 2, 1, tzinfo=UTC)
    rows = "\n".join(
        f"{(start + timedelta(hours=i)).strftime('%Y-%m-%dT%H:%M:%SZ')} {v:.2f}"
        for i, v in enumerate(series())
    )
    stop = start + timedelta(hours=ROWS - 1)
    return (
        f"DID = {did}\nFILE START TIME (UTC) = {start:%Y-%m-%dT%H:%M:%SZ}\n"
        f"FILE STOP TIME (UTC) = {stop:%Y-%m-%dT%H:%M:%SZ}\nPI NAME = Test, PI\n"
        f"PLATFORM = Test Mast\nINSTRUMENT = {INSTRUMENT}\nLOCATION = mast\n"
        f"DATA VERSION = 1\nREMARKS = planted spike, flat line, out of range\n"
        f"##END OF HEADER##\nDATE/TIME O3\nUTC ppbv\n{rows}\n"
    ).encode()


def direct_flags() -> dict[str, np.ndarray[Any, Any]]:
    """ioos_qc called directly on the same arrays."""
    values = series()
    times = np.array(
        [np.datetime64("1999-02-01T00:00:00") + np.timedelta64(i, "h") for i in range(ROWS)]
    ).astype("datetime64[ns]")
    out = {
        "gross_range": qartod.gross_range_test(values, **TESTS["gross_range"]),
        "spike": qartod.spike_test(values, **TESTS["spike"]),
        "flat_line": qartod.flat_line_test(values, times, **TESTS["flat_line"]),
        "rate_of_change": qartod.rate_of_change_test(values, times, **TESTS["rate_of_change"]),
        "gap": qartod.time_gap_test(times, **TESTS["gap"]),
    }
    flags = {k: np.ma.filled(v, 9).astype(np.uint8) for k, v in out.items()}
    flags["aggregate"] = np.ma.filled(qartod.qartod_compare(list(flags.values())), 9)
    return flags


@pytest.fixture(scope="module")
def tokens(node: Node) -> dict[str, str]:
    out = {}
    with node.app.state.session_factory() as session, session.begin():
        for name, role in (("qc-pi", Role.PI), ("qc-other", Role.PI), ("qc-staff", Role.STAFF)):
            user = create_user(session, username=name, password="pw-pw-pw-pw", role=role, now=NOW)
            out[name] = issue_api_token(session, user, name="t", now=NOW)
    return out


def auth(tokens: dict[str, str], who: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens[who]}"}


@pytest.fixture(scope="module")
def chain(node: Node, tokens: dict[str, str]) -> dict[str, Any]:
    """Registry set up by staff, the PI's series submitted and QC'd by the worker's step."""
    c, staff = node.client, auth(tokens, "qc-staff")
    place = c.post("/api/v1/places", json=STATION, headers=staff)
    assert place.status_code == 201, place.text
    body = {"name": INSTRUMENT, "kind": "ozone", "components": [{"name": "cell", "serial": "S1"}]}
    instrument = c.post("/api/v1/instruments", json=body, headers=staff)
    assert instrument.status_code == 201, instrument.text
    iid = instrument.json()["id"]
    deploy = {"place_id": place.json()["id"], "start": "1999-01-01T00:00:00Z"}
    assert (
        c.post(f"/api/v1/instruments/{iid}/deployments", json=deploy, headers=staff).status_code
        == 201
    )
    cal = {
        "valid_from": "1999-01-01T00:00:00Z",
        "parameters": {"slope": 1.02},
        "certificate_name": "cal.pdf",
    }
    assert (
        c.post(f"/api/v1/instruments/{iid}/calibrations", json=cal, headers=staff).status_code
        == 201
    )
    qc = c.put(f"/api/v1/instruments/{iid}/qc/O3", json={"tests": TESTS}, headers=staff)
    assert qc.status_code == 200 and qc.json()["version"] == 1, qc.text
    files = {"file": ("o3.txt", io.BytesIO(header_file(7701)), "text/plain")}
    sent = c.post("/api/v1/submissions", files=files, headers=auth(tokens, "qc-pi"))
    assert sent.status_code == 201, sent.text
    pid = sent.json()["dataset"]
    derive_missing(node.app.state.engine, node.app.state.store, NOW, set())
    return {"pid": pid, "instrument_id": iid}


def stored(node: Node, pid: str) -> dict[str, np.ndarray[Any, Any]]:
    from sqlalchemy import select

    with node.app.state.session_factory() as session:
        dataset = session.scalars(select(Dataset).where(Dataset.public_id == pid)).one()
        return effective_flags(session, node.app.state.store, dataset.current_version)


def test_the_registry_lists_what_staff_registered(node: Node, chain: dict[str, Any]) -> None:
    instruments = node.client.get("/api/v1/instruments").json()
    mine = next(i for i in instruments if i["name"] == INSTRUMENT)
    assert mine["components"] == [{"name": "cell", "serial": "S1"}]
    assert mine["calibrations"][0]["parameters"] == {"slope": 1.02}
    assert mine["deployments"][0]["place"] == "Test Mast"
    stations = node.client.get("/api/v1/stations").json()
    assert [s["name"] for s in stations] == ["Test Mast"]
    assert node.client.get("/api/v1/platforms").json() == []


def test_a_station_gives_the_linked_dataset_its_location(node: Node, chain: dict[str, Any]) -> None:
    detail = node.client.get(f"/api/v1/datasets/{chain['pid']}").json()
    assert detail["bbox"][:2] == [STATION["longitude"], STATION["latitude"]]


def test_stored_flags_equal_ioos_qc_run_directly(node: Node, chain: dict[str, Any]) -> None:
    flags = stored(node, chain["pid"])["o3"]
    expected = direct_flags()["aggregate"]
    assert flags.tolist() == expected.tolist()
    assert flags[SPIKE] == 4 and flags[OUT[0]] == 4 and flags[OUT[1]] == 4
    assert set(flags[FLAT.stop - 5 : FLAT.stop].tolist()) <= {3, 4}
    assert flags[10] == 1


def test_the_report_counts_per_test_and_stretches(
    node: Node, chain: dict[str, Any], tokens: dict[str, str]
) -> None:
    report = node.client.get(f"/api/v1/datasets/{chain['pid']}/qc").json()
    assert report["qc_done"] is True and report["level"] == 0
    (o3,) = report["variables"]
    direct = direct_flags()
    for test in TESTS:
        found, counts = np.unique(direct[test], return_counts=True)
        assert o3["counts"][test] == {str(int(f)): int(n) for f, n in zip(found, counts)}
    assert any(a <= OUT[0] and OUT[1] <= b and f == 4 for a, b, f in o3["stretches"])
    assert [SPIKE, SPIKE, 4] in o3["stretches"]


def legend(node: Node, pid: str) -> list[str]:
    """The plot's legend as the report's effective counts say it should read."""
    (o3,) = node.client.get(f"/api/v1/datasets/{pid}/qc").json()["variables"]
    counts = o3["counts"]["effective"]
    return [f"{name} ({counts.get(flag, 0)})" for flag, name in (("3", "suspect"), ("4", "bad"))]


def refuse_original(*args: object) -> None:
    raise AssertionError("the QC page read the original")


def test_the_report_page_shows_counts_and_a_plot_of_flagged_points(
    node: Node, chain: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    drawn = list(node.app.state.store.derived_dir.glob(f"{chain['pid']}/*.qcsvg*"))
    assert [p.suffix for p in drawn] == [".qcsvg0"]  # drawn when QC ran
    monkeypatch.setattr("catalog.qc_plot.read_original", refuse_original)
    page = node.client.get(f"/datasets/{chain['pid']}/qc")
    assert page.status_code == 200, page.text
    assert "<svg" in page.text and all(label in page.text for label in legend(node, chain["pid"]))
    assert "spike" in page.text and "gross_range" in page.text
    dataset_page = node.client.get(f"/datasets/{chain['pid']}").text
    assert f"{INSTRUMENT} on station Test Mast" in dataset_page
    assert f"/datasets/{chain['pid']}/qc" in dataset_page


def test_a_pi_override_changes_the_flag_and_the_audit(
    node: Node, chain: dict[str, Any], tokens: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    pid, c = chain["pid"], node.client
    before = legend(node, pid)
    body = {"variable": "O3", "first": SPIKE, "last": SPIKE, "flag": 1, "reason": "real plume"}
    assert (
        c.post(
            f"/api/v1/datasets/{pid}/qc/overrides", json=body, headers=auth(tokens, "qc-other")
        ).status_code
        == 403
    )
    assert c.post(f"/api/v1/datasets/{pid}/qc/overrides", json=body).status_code == 401
    done = c.post(f"/api/v1/datasets/{pid}/qc/overrides", json=body, headers=auth(tokens, "qc-pi"))
    assert done.status_code == 201, done.text
    assert stored(node, pid)["o3"][SPIKE] == 1
    report = c.get(f"/api/v1/datasets/{pid}/qc").json()
    assert report["overrides"][0]["reason"] == "real plume"
    events = c.get(f"/api/v1/datasets/{pid}/audit", headers=auth(tokens, "qc-staff")).json()
    override = next(e for e in events if e["action"] == "qc.override")
    assert override["actor"] == "qc-pi" and override["after"]["flag"] == 1
    # The plot is drawn again from the stored series, never from the original.
    monkeypatch.setattr("catalog.qc_plot.read_original", refuse_original)
    after = legend(node, pid)
    assert after != before
    page = c.get(f"/datasets/{pid}/qc").text
    assert all(label in page for label in after)


def test_the_pi_releases_levels_upwards_only(
    node: Node, chain: dict[str, Any], tokens: dict[str, str]
) -> None:
    pid, c = chain["pid"], node.client
    body = {"level": 1, "note": "QC reviewed"}
    assert (
        c.put(
            f"/api/v1/datasets/{pid}/level", json=body, headers=auth(tokens, "qc-other")
        ).status_code
        == 403
    )
    done = c.put(f"/api/v1/datasets/{pid}/level", json=body, headers=auth(tokens, "qc-pi"))
    assert done.status_code == 200 and done.json()["level"] == 1, done.text
    assert (
        c.put(f"/api/v1/datasets/{pid}/level", json=body, headers=auth(tokens, "qc-pi")).status_code
        == 409
    )
    assert c.get(f"/api/v1/datasets/{pid}").json()["level"] == 1
    events = c.get(f"/api/v1/datasets/{pid}/audit", headers=auth(tokens, "qc-staff")).json()
    release = next(e for e in events if e["action"] == "level.release")
    assert release["before"]["level"] == 0 and release["after"]["level"] == 1


def _download(node: Node, pid: str, fmt: str, qc: str, tmp: Any) -> Any:
    response = node.client.get(f"/api/v1/datasets/{pid}/data", params={"format": fmt, "qc": qc})
    assert response.status_code == 200, response.text
    path = tmp / f"export.{fmt}"
    path.write_bytes(response.content)
    return path


def test_flags_survive_netcdf_csv_and_icartt(
    node: Node, chain: dict[str, Any], tmp_path: Any
) -> None:
    import netCDF4
    import pandas as pd

    import formats

    pid = chain["pid"]
    flags = stored(node, pid)["o3"].tolist()
    with netCDF4.Dataset(_download(node, pid, "netcdf", "flags", tmp_path)) as ds:
        var = ds.variables["O3_qartod"]
        assert var[:].tolist() == flags
        assert var.flag_values.tolist() == [1, 2, 3, 4, 9]
        assert var.flag_meanings == "good not_evaluated suspect bad missing"
        assert "O3_qartod" in ds.variables["O3"].ancillary_variables.split()
    table = pd.read_csv(_download(node, pid, "csv", "flags", tmp_path), comment="#")
    column = next(c for c in table.columns if c.startswith("O3_qartod"))
    assert table[column].astype(int).tolist() == flags
    icartt = formats.read(_download(node, pid, "icartt", "flags", tmp_path))
    assert icartt.column("O3_qartod").values.astype(int).tolist() == flags


def test_downloads_mask_or_drop_flagged_values(
    node: Node, chain: dict[str, Any], tmp_path: Any
) -> None:
    import pandas as pd

    pid = chain["pid"]
    flags = np.array(stored(node, pid)["o3"])
    rejected = np.isin(flags, (3, 4))
    assert rejected.any()
    masked = pd.read_csv(_download(node, pid, "csv", "mask", tmp_path), comment="#")
    o3 = next(c for c in masked.columns if c.startswith("O3") and "qartod" not in c)
    assert masked[o3].isna().to_numpy().tolist() == rejected.tolist()
    dropped = pd.read_csv(_download(node, pid, "csv", "drop", tmp_path), comment="#")
    assert len(dropped) == ROWS - int(rejected.sum())
    assert not dropped[o3].isna().any()
    subset = node.client.get(
        f"/api/v1/datasets/{pid}/data", params={"format": "csv", "qc": "flags", "variables": "O3"}
    )
    assert "O3_qartod" in subset.text.splitlines()[0] or "O3_qartod" in subset.text[:2000]


def test_a_new_qc_config_version_runs_qc_again(
    node: Node, chain: dict[str, Any], tokens: dict[str, str]
) -> None:
    tests = {"gross_range": {"fail_span": [0, 600]}}
    c, iid = node.client, chain["instrument_id"]
    again = c.put(
        f"/api/v1/instruments/{iid}/qc/O3", json={"tests": tests}, headers=auth(tokens, "qc-staff")
    )
    assert again.status_code == 200 and again.json()["version"] == 2
    assert c.get(f"/api/v1/datasets/{chain['pid']}/qc").json()["qc_done"] is False
    derive_missing(node.app.state.engine, node.app.state.store, NOW, set())
    (o3,) = c.get(f"/api/v1/datasets/{chain['pid']}/qc").json()["variables"]
    assert o3["config_version"] == 2 and o3["counts"]["gross_range"] == {"1": ROWS}
    bad = c.put(
        f"/api/v1/instruments/{iid}/qc/O3",
        json={"tests": {"nope": {}}},
        headers=auth(tokens, "qc-staff"),
    )
    assert bad.status_code == 400 or bad.status_code == 422


def test_the_level_facet_counts_and_filters(node: Node, chain: dict[str, Any]) -> None:
    page = node.client.get("/api/v1/datasets", params={"limit": 1000}).json()
    levels = {f["value"]: f["count"] for f in page["facets"]["level"]}
    by_level = {}
    for item in page["items"]:
        by_level[str(item["level"])] = by_level.get(str(item["level"]), 0) + 1
    assert levels == by_level and levels.get("1") == 1
    level1 = node.client.get("/api/v1/datasets", params={"level": "1"}).json()
    assert [i["public_id"] for i in level1["items"]] == [chain["pid"]]
    assert node.client.get("/api/v1/datasets", params={"level": "7"}).status_code == 400


def test_jobs_api_and_the_worker_run_a_daily_digest(
    node: Node, chain: dict[str, Any], tokens: dict[str, str]
) -> None:
    import threading

    from archive_center.job_queue import start_jobs

    c = node.client
    body = {
        "name": "digest", "kind": "daily-digest", "period": "daily",
        "params": {"campaign": "INDOEX", "center": "JOSS"}, "first_due": "2026-01-01T00:00:00Z",
    }  # fmt: skip
    assert c.post("/api/v1/jobs", json=body).status_code == 401
    made = c.post("/api/v1/jobs", json=body, headers=auth(tokens, "qc-pi"))
    assert made.status_code == 201, made.text
    stop = threading.Event()
    thread = start_jobs(node.settings, node.app.state.engine, stop)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            (job,) = c.get("/api/v1/jobs", headers=auth(tokens, "qc-pi")).json()
            if job["runs"] and job["runs"][0]["state"] != "running":
                break
            time.sleep(0.1)
    finally:
        stop.set()
        thread.join(timeout=15)
    (run,) = job["runs"]
    assert run["state"] == "succeeded" and run["attempt"] == 1, run
    assert run["duration_s"] >= 0 and run["result"]["report_id"] > 0
    assert job["next_due"].startswith("2026-")  # moved on by one period at least
    assert c.get("/api/v1/jobs", headers=auth(tokens, "qc-other")).json() == []
    assert len(c.get("/api/v1/jobs", headers=auth(tokens, "qc-staff")).json()) == 1
    # Every kind the worker runs can be defined here (build-merge once answered 422).
    from typing import get_args

    from archive_center.routers.jobs import JobBody
    from catalog.jobs import KINDS, NODE_KINDS

    assert set(get_args(JobBody.model_fields["kind"].annotation)) == {*KINDS, *NODE_KINDS}
    merge = body | {"kind": "build-merge", "params": {"merge_id": 999999}}
    missing = c.post("/api/v1/jobs", json=merge, headers=auth(tokens, "qc-staff"))
    assert missing.status_code == 404 and "merged product" in missing.text, missing.text


def test_the_pi_chooses_a_deployment_where_none_matched(
    node: Node, chain: dict[str, Any], tokens: dict[str, str]
) -> None:
    c = node.client
    pid = node.ids["kco_surface_hourly.txt"]  # seeded, platform KCO: no registered match
    (instrument,) = [i for i in c.get("/api/v1/instruments").json() if i["name"] == INSTRUMENT]
    deployment = instrument["deployments"][0]["id"]
    body = {"deployment_id": deployment}
    other = c.put(f"/api/v1/datasets/{pid}/deployment", json=body, headers=auth(tokens, "qc-pi"))
    assert other.status_code == 403  # not their dataset
    chosen = c.put(
        f"/api/v1/datasets/{pid}/deployment", json=body, headers=auth(tokens, "qc-staff")
    )
    assert chosen.status_code == 200 and chosen.json()["chosen_by"] == "qc-staff", chosen.text
    assert f"{INSTRUMENT} on station Test Mast" in c.get(f"/datasets/{pid}").text
    events = c.get(f"/api/v1/datasets/{pid}/audit", headers=auth(tokens, "qc-staff")).json()
    assert any(e["action"] == "deployment.choose" for e in events)
