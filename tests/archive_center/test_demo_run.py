"""`fieldcat demo` as a real process: three seeded centers that answer and stop together."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from archive_center.demo.campaign import C130_PI, CENTERS, FLIGHTS, SOUNDINGS, STATION
from archive_center.demo.seeding import DEMO_PASSWORD, demo_usernames
from tests.archive_center.fieldcat_process import (
    alive,
    children_of,
    cli_env,
    fieldcat,
    free_ports,
    start_fieldcat,
    stop,
)
from tests.conftest import SAMPLES

EXPECTED = {
    code: sum(1 for s in (*FLIGHTS, *SOUNDINGS, *STATION) if s.center == code)
    for code in (c.code for c in CENTERS)
}


@dataclass
class Demo:
    """A running demo: its process, log, root and the centers' URLs."""

    process: subprocess.Popen[bytes]
    log: Path
    root: Path
    urls: dict[str, str]


def wait_for_urls(demo: Demo, timeout: float = 240) -> None:
    """Wait until the demo says the centers run (it prints their URLs once all are ready)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = demo.log.read_text(errors="replace")
        if demo.process.poll() is not None:
            pytest.fail(f"demo exited {demo.process.returncode}:\n{text}")
        if "Press Ctrl-C" in text:
            return
        time.sleep(0.5)
    pytest.fail(f"demo not up after {timeout} s:\n{demo.log.read_text(errors='replace')}")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    """`fieldcat demo` on free ports with a temporary root (stopped by the last test)."""
    folder = tmp_path_factory.mktemp("demo")
    base = free_ports(len(CENTERS))
    root = folder / "root"
    log = folder / "demo.log"
    # A shell set up for another center must not leak into the demo's centers.
    stray = {"FIELDCAT_DATABASE_URL": "sqlite:////nonexistent/other.db", "FIELDCAT_PORT": "1"}
    process = start_fieldcat(
        "demo", "--root", str(root), "--base-port", str(base), log=log, **stray
    )
    urls = {c.code: f"http://127.0.0.1:{base + i}" for i, c in enumerate(CENTERS)}
    running = Demo(process=process, log=log, root=root, urls=urls)
    try:
        wait_for_urls(running)
        yield running
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_all_three_centers_are_ready_and_announced(demo: Demo) -> None:
    text = demo.log.read_text()
    assert "ignoring FIELDCAT_DATABASE_URL, FIELDCAT_PORT" in text
    for code, url in demo.urls.items():
        assert url in text
        assert httpx.get(url + "/api/v1/readyz").status_code == 200, code
        assert httpx.get(url + "/api/v1/healthz").json()["center"] == code


def test_each_center_shows_every_center_s_datasets(demo: Demo) -> None:
    deadline = time.monotonic() + 30
    for code, url in demo.urls.items():
        while True:
            page = httpx.get(url + "/api/v1/datasets", params={"limit": 100}).json()
            counts = {c: sum(1 for i in page["items"] if i["origin_center"] == c) for c in EXPECTED}
            if counts == EXPECTED or time.monotonic() > deadline:
                break
            time.sleep(0.3)
        assert counts == EXPECTED, code
        own = httpx.get(url + "/api/v1/datasets", params={"limit": 100, "center": code}).json()
        assert len(own["items"]) == EXPECTED[code], "its own records are its own"
        peers = httpx.get(url + "/api/v1/federation/status").json()["peers"]
        assert {p["code"] for p in peers} == set(EXPECTED) - {code}


def test_search_filters_work_on_the_seeded_campaign(demo: Demo) -> None:
    url = demo.urls["JOSS"]
    page = httpx.get(
        url + "/api/v1/datasets",
        params={"platform": "C130", "start": "1999-03-01T00:00:00Z", "bbox": "60,-10,90,20"},
    ).json()
    flights = [f for f in FLIGHTS if f.platform == "C130" and f.takeoff.month == 3]
    assert len(page["items"]) == len(flights)
    result = fieldcat("search", "--center", url, "--variable", "AOD500")
    assert result.returncode == 0, result.stderr
    assert "KCO" in result.stdout


def test_the_searches_the_portal_issue_measured_now_find_the_data(demo: Demo) -> None:
    """Issue #15 found nothing for these on the demo; JOSS lists every center's records."""
    url = demo.urls["JOSS"]

    def dids(**params: str) -> set[int]:
        found = httpx.get(url + "/api/v1/datasets", params={"limit": "100", **params}).json()
        return {int(item["did"]) for item in found["items"]}

    deadline = time.monotonic() + 30  # every center's records mirrored to JOSS
    while len(dids()) < sum(EXPECTED.values()) and time.monotonic() < deadline:
        time.sleep(0.3)
    c130 = {f.did for f in FLIGHTS if f.platform == "C130"}
    assert dids(q="RF06") == {f.did for f in FLIGHTS if f.platform == "C130" and f.flight_no == 6}
    hazy = {"haze", "smog", "pollution"}  # haze's synonym group in catalog/synonyms.txt
    assert dids(q="haze") == {f.did for f in FLIGHTS if hazy & set(f.objective.split())}
    assert dids(q="research flight") == {f.did for f in FLIGHTS}
    assert dids(q="sounding") == dids(q="radiosonde") == {s.did for s in SOUNDINGS}
    assert dids(q="C-130") == dids(q="C130") == c130
    assert dids(q="Holl") == c130  # part of the PI's name in free text
    offered = httpx.get(url + "/api/v1/suggestions", params={"field": "pi", "prefix": "holl"})
    assert C130_PI in {s["value"] for s in offered.json()}  # and the PI box offers the name


def test_a_netcdf_subset_downloads(demo: Demo) -> None:
    url = demo.urls["LMD"]
    params = {"limit": 1, "access": "open"}
    item = httpx.get(url + "/api/v1/datasets", params=params).json()["items"][0]
    response = httpx.get(
        f"{url}/api/v1/datasets/{item['public_id']}/data",
        params={"format": "netcdf", "bbox": "60,-10,90,20"},
        timeout=120,
        follow_redirects=True,  # a mirrored record's data come from its origin center
    )
    assert response.status_code == 200, response.text
    assert response.content[:4] == b"\x89HDF", "a NetCDF-4 file"
    assert "attachment" in response.headers["content-disposition"]


def test_the_embargoed_example_shows_metadata_but_not_data(demo: Demo) -> None:
    url = demo.urls["LMD"]
    page = httpx.get(url + "/api/v1/datasets", params={"access": "embargoed"}).json()
    assert [item["did"] for item in page["items"]] == ["304"]
    item = page["items"][0]
    assert item["release_at"] and item["variables"]
    response = httpx.get(f"{url}/api/v1/datasets/{item['public_id']}/data")
    assert response.status_code == 403
    assert response.headers["content-type"].startswith("application/problem+json")


def test_each_center_s_demo_pi_and_staff_can_sign_in(demo: Demo) -> None:
    text = " ".join(demo.log.read_text().split())
    for code, url in demo.urls.items():
        pi, staff = demo_usernames(code)
        assert f"sign in as {pi} / {DEMO_PASSWORD} (PI)" in text
        assert f"{staff} / {DEMO_PASSWORD} (staff): {url}/signin" in text
        for name, role in ((pi, "pi"), (staff, "staff")):
            with httpx.Client(base_url=url) as client:
                signed = client.post(
                    "/api/v1/auth/session", json={"username": name, "password": DEMO_PASSWORD}
                )
                assert signed.status_code == 200, f"{name}@{code}: {signed.text}"
                assert client.get("/api/v1/auth/me").json()["role"] == role
    with httpx.Client(base_url=demo.urls["LMD"]) as client:  # a user of one center only
        wrong = client.post(
            "/api/v1/auth/session", json={"username": "pi-joss", "password": DEMO_PASSWORD}
        )
        assert wrong.status_code == 401


def test_the_demo_pi_owns_the_seeded_datasets(demo: Demo) -> None:
    """pi-lmd reads LMD's embargoed flight (its owner); a new PI cannot take DID 31."""
    url = demo.urls["LMD"]
    item = httpx.get(url + "/api/v1/datasets", params={"access": "embargoed"}).json()["items"][0]
    with httpx.Client(base_url=url) as client:
        client.post("/api/v1/auth/session", json={"username": "pi-lmd", "password": DEMO_PASSWORD})
        response = client.get(f"/api/v1/datasets/{item['public_id']}/data")
        assert response.status_code == 200, response.text
    config = demo.root / "centers" / "JOSS" / "center.toml"
    added = subprocess.run(
        [sys.executable, "-m", "archive_center", "users", "add", "newpi", "--role", "pi",
         "--password-stdin", "--config", str(config)],
        input="newpi-password\n", capture_output=True, text=True, env=cli_env(), timeout=120,
    )  # fmt: skip
    assert added.returncode == 0, added.stdout + added.stderr
    sample = SAMPLES / "valid" / "kco_surface_hourly.txt"  # DID 31, DATA VERSION 2.1
    taken = fieldcat(
        "submit", str(sample), "--center", demo.urls["JOSS"], "--user", "newpi", "--json",
        FIELDCAT_PASSWORD="newpi-password",
    )  # fmt: skip
    assert taken.returncode == 1, taken.stdout + taken.stderr
    assert '"SUB001"' in taken.stdout
    kco = httpx.get(demo.urls["JOSS"] + "/api/v1/datasets", params={"q": "31"}).json()["items"]
    assert [i["data_version"] for i in kco if i["did"] == "31"] != ["2.1"]


def test_sigint_stops_every_center_and_leaves_no_child(demo: Demo) -> None:
    children = children_of(demo.process.pid)
    assert len(children) == len(CENTERS)
    assert stop(demo.process, signal.SIGINT, timeout=60) == 0, demo.log.read_text()
    deadline = time.monotonic() + 10
    while any(alive(pid) for pid in children) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not [pid for pid in children if alive(pid)], "a center outlived the demo"
    assert "all centers stopped" in demo.log.read_text()
    for url in demo.urls.values():
        with pytest.raises(httpx.TransportError):
            httpx.get(url + "/api/v1/healthz", timeout=2)


def test_running_again_reuses_the_seeded_root(demo: Demo) -> None:
    assert demo.process.poll() is not None, "runs after the SIGINT test"
    base = int(demo.urls["JOSS"].rsplit(":", 1)[1])
    log = demo.log.with_name("again.log")
    process = start_fieldcat("demo", "--root", str(demo.root), "--base-port", str(base), log=log)
    again = Demo(process=process, log=log, root=demo.root, urls=demo.urls)
    try:
        wait_for_urls(again)
        assert "reusing the seeded demo" in log.read_text()
        page = httpx.get(demo.urls["NPL"] + "/api/v1/datasets", params={"center": "NPL"}).json()
        assert len(page["items"]) == EXPECTED["NPL"], "nothing seeded twice"
    finally:
        assert stop(process, signal.SIGTERM, timeout=60) == 0, log.read_text()
