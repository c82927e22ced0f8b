"""The CIDS routes on a real `fieldcat serve` node (its own worker merges): navigation
declared over the API and merged by the worker, collocation of the RF07 track against
soundings equal to an independent brute-force computation, and many callers at once."""

from __future__ import annotations

import io
import math
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import pandas as pd
import pytest

from catalog.db import make_session_factory
from catalog.schemas import Principal, Role
from catalog.storage import ArchiveStore
from catalog.users import create_user, issue_api_token
from submissions.acceptance import SubmitOptions
from submissions.pipeline import submit_file
from tests.conftest import SAMPLES
from tests.federation.cluster import Node, build_cluster, close_all
from tests.polling import eventually

NOW = datetime(2026, 1, 1, tzinfo=UTC)
TRACK = SAMPLES / "valid" / "c130_rf07_track.txt"
STAFF = Principal(user_id=None, username="staff", role=Role.STAFF)
EMBARGOED_DID = 599
# (DID, latitude, longitude, launch): launches near RF07's track (4.19N 73.53E at 04:00 UTC
# on 1999-03-07, heading north), one far away, one at the right place a day late.
SOUNDINGS = [
    (501, 4.25, 73.50, datetime(1999, 3, 7, 3, 55)),
    (502, 4.60, 73.70, datetime(1999, 3, 7, 4, 20)),
    (503, 4.40, 73.62, datetime(1999, 3, 7, 4, 12)),
    (504, -2.10, 71.80, datetime(1999, 3, 7, 4, 0)),
    (505, 4.30, 73.55, datetime(1999, 3, 8, 4, 5)),
    (EMBARGOED_DID, 4.30, 73.56, datetime(1999, 3, 7, 4, 10)),
]


def sounding_text(did: int, lat: float, lon: float, launch: datetime) -> str:
    """A 20-level ascent from a fixed site (header format), one level every 30 s."""
    stop = launch + timedelta(seconds=30 * 19)
    lines = [
        f"DID = {did}",
        f"FILE START TIME (UTC) = {launch:%Y%m%d%H%M%S}",
        f"FILE STOP TIME (UTC) = {stop:%Y%m%d%H%M%S}",
        "PI NAME = Mitra, Ashok (NPL)",
        "PLATFORM = Kaashidhoo sonde site",
        "INSTRUMENT = GPS radiosonde",
        f"LOCATION = launch site; {abs(lat):.2f}{'N' if lat >= 0 else 'S'} {lon:.2f}E",
        "DATA VERSION = 1.0",
        "##END OF HEADER##",
        "DATE/TIME PRES HGT TEMP",
        "UTC hPa m degC",
    ]
    for level in range(20):
        when = launch + timedelta(seconds=30 * level)
        lines.append(f"{when:%Y%m%d%H%M%S} {1000 - 12 * level} {100 + 150 * level} {28 - level}")
    return "\n".join(lines) + "\n"


@dataclass
class Center:
    """The running node, its store and the ids of what it holds."""

    node: Node
    ids: dict[str, str]
    staff_headers: dict[str, str]


def _submit(node: Node, source: bytes, name: str, **kw: object) -> str:
    settings = node.settings
    result = submit_file(
        make_session_factory(node.engine),
        ArchiveStore(settings.root),
        source=io.BytesIO(source),
        original_name=name,
        submitter=kw.get("submitter", STAFF),  # type: ignore[arg-type]
        center_code=str(kw.get("center", "JOSS")),
        campaign="INDOEX",
        receiver="api",
        options=kw.get("options", SubmitOptions()),  # type: ignore[arg-type]
        now=NOW,
    )
    assert result.state == "registered", result
    assert result.dataset_public_id is not None
    return result.dataset_public_id


@pytest.fixture(scope="module")
def center(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Center]:
    nodes = build_cluster(tmp_path_factory.mktemp("cids"), [], codes=("JOSS",))
    node = nodes["JOSS"]
    try:
        node.start()
        ids = {}
        for path in (TRACK, SAMPLES / "valid" / "c130_external_sampler.txt"):
            ids[path.name] = _submit(node, path.read_bytes(), path.name)
        embargo = SubmitOptions(access="embargoed", release_at=datetime(2030, 1, 1, tzinfo=UTC))
        for did, lat, lon, launch in SOUNDINGS:
            options = embargo if did == EMBARGOED_DID else SubmitOptions()
            text = sounding_text(did, lat, lon, launch).encode()
            ids[str(did)] = _submit(node, text, f"sonde_{did}.txt", options=options)
        with node.session() as session, session.begin():
            user = create_user(session, username="staffer", password="x" * 12, role=Role.STAFF)
            token = issue_api_token(session, user, name="cids", now=datetime.now(UTC))
        yield Center(node, ids, {"Authorization": f"Bearer {token}"})
    finally:
        close_all(nodes)


def _haversine(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    r = 6371.0088
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = (
        math.sin((p2 - p1) / 2) ** 2
        + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    )
    return 2 * r * math.asin(math.sqrt(a))


def _brute_force(dt_s: float, dx_km: float) -> set[tuple[str, str, str]]:
    """Every (track time, sounding DID, sounding time) in both windows: two plain loops."""
    track = pd.read_csv(
        TRACK, sep=" ", skiprows=13, names=["t", "LAT", "LON", "ALT", "O3", "CO", "BC"]
    )
    track_t = pd.to_datetime(track["t"].astype(str), format="%Y%m%d%H%M%S")
    found = set()
    for did, lat, lon, launch in SOUNDINGS:
        if did == EMBARGOED_DID:
            continue  # not readable by an anonymous caller
        for level in range(20):
            when = launch + timedelta(seconds=30 * level)
            for t, tlat, tlon in zip(track_t, track["LAT"], track["LON"], strict=True):
                if abs((when - t).total_seconds()) > dt_s:
                    continue
                if _haversine(tlat, tlon, lat, lon) <= dx_km:
                    found.add((t.isoformat(), str(did), when.isoformat()))
    return found


def _get(center: Center, path: str, **kw: object) -> httpx.Response:
    return httpx.get(center.node.url + "/api/v1" + path, timeout=60, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(("dt_s", "dx_km"), [(600, 25), (300, 10), (1800, 60)])
def test_collocation_equals_brute_force(center: Center, dt_s: float, dx_km: float) -> None:
    expected = _brute_force(dt_s, dx_km)
    assert expected, "the windows must find something for the test to mean anything"
    answer = _get(
        center, "/collocate", params={"dataset": center.ids[TRACK.name], "dt": dt_s, "dx": dx_km}
    )
    assert answer.status_code == 200, answer.text
    did_of = {pid: did for did, pid in center.ids.items()}
    got = {
        (
            datetime.fromisoformat(m["track_time"]).replace(tzinfo=None).isoformat(),
            did_of[m["dataset"]],
            datetime.fromisoformat(m["other_time"]).replace(tzinfo=None).isoformat(),
        )
        for m in answer.json()["matches"]
    }
    assert got == expected
    for m in answer.json()["matches"]:
        assert m["distance_km"] <= dx_km and abs(m["dt_s"]) <= dt_s


def test_collocation_as_csv_and_netcdf_and_with_named_datasets(center: Center) -> None:
    params = {"dataset": center.ids[TRACK.name], "dt": 600, "dx": 25, "with": center.ids["501"]}
    table = pd.read_csv(
        io.StringIO(_get(center, "/collocate", params={**params, "format": "csv"}).text)
    )
    assert len(table) and set(table["dataset"]) == {center.ids["501"]}
    assert len(table) == len({k for k in _brute_force(600, 25) if k[1] == "501"})
    netcdf = _get(center, "/collocate", params={**params, "format": "netcdf"})
    assert netcdf.status_code == 200 and netcdf.content[:3] in (b"CDF", b"\x89HD")


def test_collocation_checks_access_like_a_download(center: Center) -> None:
    embargoed = center.ids[str(EMBARGOED_DID)]
    params = {"dataset": center.ids[TRACK.name], "dt": 600, "dx": 25}
    # Naming an embargoed dataset: 403 as its download would be; staff read it.
    assert _get(center, "/collocate", params={**params, "with": embargoed}).status_code == 403
    staff = _get(
        center, "/collocate", params={**params, "with": embargoed}, headers=center.staff_headers
    )
    assert staff.status_code == 200 and staff.json()["matches"]
    assert (
        _get(center, "/collocate", params={**params, "dataset": "nosuchdataset"}).status_code == 404
    )


def test_navigation_declared_over_the_api_is_merged_by_the_worker(center: Center) -> None:
    sampler = center.ids["c130_external_sampler.txt"]
    declare = {"platform": "C130", "instrument": "C-130 navigation (INS/GPS)"}
    anonymous = httpx.post(center.node.url + "/api/v1/navigation", json=declare)
    assert anonymous.status_code == 401
    made = httpx.post(
        center.node.url + "/api/v1/navigation", json=declare, headers=center.staff_headers
    )
    assert made.status_code == 201, made.text
    nav = _submit(
        center.node, (SAMPLES / "valid" / "c130_navigation_1hz.txt").read_bytes(), "nav.txt"
    )

    def merged() -> dict[str, object] | None:
        merges = _get(center, "/navigation").json()["merges"]
        return next(
            (m for m in merges if m["dataset"] == sampler and m["status"] == "merged"), None
        )

    merge = eventually(merged, timeout=60)
    assert merge["navigation"] == nav and merge["positioned"] == 105 and merge["max_gap_s"] == 10
    found = _get(center, "/datasets", params={"bbox": "73,4,75,6", "platform": "C130"}).json()
    assert sampler in {item["public_id"] for item in found["items"]}
    cut = _get(center, f"/datasets/{sampler}/data", params={"format": "csv", "bbox": "73,4,75,4.8"})
    assert cut.status_code == 200
    rows = pd.read_csv(io.StringIO(cut.text), comment="#")
    assert 0 < len(rows) < 120 and rows["LAT"].max() <= 4.8
    page = httpx.get(f"{center.node.url}/datasets/{sampler}", timeout=30).text
    assert "Positions: <strong>merged</strong>" in page and "105 of 120 rows placed" in page


def test_many_callers_collocate_at_once(center: Center) -> None:
    params = {"dataset": center.ids[TRACK.name], "dt": 600, "dx": 25}
    expected = len(_brute_force(600, 25))

    def call(_: int) -> tuple[int, int]:
        answer = _get(center, "/collocate", params=params)
        if answer.status_code == 503:
            assert answer.headers.get("Retry-After")
            return 503, 0
        return answer.status_code, len(answer.json()["matches"])

    with ThreadPoolExecutor(24) as pool:
        results = list(pool.map(call, range(48)))
    ok = [count for status, count in results if status == 200]
    assert all(status in (200, 503) for status, _ in results)
    assert len(ok) >= 24 and set(ok) == {expected}


def test_a_merge_defined_over_the_api_is_built_by_the_worker(center: Center) -> None:
    flight = center.ids[TRACK.name]
    body = {
        "platform": "C130",
        "start": "1999-03-07T04:00:00Z",
        "stop": "1999-03-07T04:50:00Z",
        "time_base": "60",
        "variables": [f"{flight}:O3", f"{flight}:CO"],
        "rule": "mean",
        "window_s": 60,
    }
    url = center.node.url + "/api/v1/merges"
    assert httpx.post(url, json=body, timeout=30).status_code == 401
    made = httpx.post(url, json=body, headers=center.staff_headers, timeout=30)
    assert made.status_code == 201, made.text

    def built() -> dict[str, object] | None:
        items = _get(center, "/merges").json()["items"]
        return next((m for m in items if m["id"] == made.json()["id"] and m["dataset"]), None)

    merge = eventually(built, timeout=60)
    assert merge["status"] == "built" and merge["data_version"] == "1"
    product = str(merge["dataset"])
    icartt = _get(center, f"/datasets/{product}/data", params={"format": "original"})
    assert icartt.status_code == 200 and f"Input DID214: dataset {flight}" in icartt.text
    table = pd.read_csv(io.StringIO(_get(center, f"/datasets/{product}/data",
                                         params={"format": "csv"}).text), comment="#")  # fmt: skip
    assert len(table) == 51 and {"DID214_O3", "DID214_CO"} <= set(table.columns)
    # The first minute's mean, computed here from the file (12 samples, 5 s apart).
    raw = pd.read_csv(
        TRACK, sep=" ", skiprows=13, names=["t", "LAT", "LON", "ALT", "O3", "CO", "BC"]
    )
    assert table["DID214_O3"].iloc[0] == pytest.approx(raw["O3"].iloc[:12].mean(), rel=1e-12)
    page = httpx.get(f"{center.node.url}/datasets/{flight}", timeout=30).text
    assert "Merged products of this dataset" in page and product in page


def test_many_callers_list_merges_and_navigation_at_once(center: Center) -> None:
    def call(index: int) -> int:
        return _get(center, "/merges" if index % 2 else "/navigation").status_code

    with ThreadPoolExecutor(24) as pool:
        statuses = list(pool.map(call, range(96)))
    assert set(statuses) <= {200, 503} and statuses.count(200) >= 48
