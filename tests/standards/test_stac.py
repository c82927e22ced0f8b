"""The STAC API against a real running node: stac-api-validator, pystac-client, the policy."""

from __future__ import annotations

import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from pystac_client import Client

from tests.archive_center.fieldcat_process import REPO, cli_env
from tests.standards.faces_node import HIDDEN_STATES, FacesNode, data_canary, meta_canary

BOX = (60.0, -10.0, 90.0, 30.0)


def _api_ids(url: str, **params: str) -> set[str]:
    found: set[str] = set()
    query = {"limit": "1000", "facets": "false", **params}
    while True:
        page = httpx.get(f"{url}/api/v1/datasets", params=query, timeout=30).json()
        found |= {item["public_id"] for item in page["items"]}
        if not page.get("next_cursor"):
            return found
        query["cursor"] = page["next_cursor"]


def _all_items(url: str) -> list[dict[str, object]]:
    """Every item of the search, page by page through `next` links (3 per page)."""
    items, link = [], f"{url}/stac/search?limit=3"
    while link:
        page = httpx.get(link, timeout=30)
        assert page.status_code == 200, page.text
        body = page.json()
        items += body["features"]
        link = next((x["href"] for x in body["links"] if x["rel"] == "next"), "")
    return items


def test_stac_api_validator_passes_core_item_search_and_collections(faces: FacesNode) -> None:
    geometry = {
        "type": "Polygon",
        "coordinates": [[[60, -10], [90, -10], [90, 30], [60, 30], [60, -10]]],
    }
    args = [
        "--root-url",
        f"{faces.url}/stac",
        "--conformance",
        "core",
        "--conformance",
        "item-search",
        "--conformance",
        "collections",
        "--collection",
        "campaign-indoex",
        "--geometry",
        json.dumps(geometry),
    ]
    out = subprocess.run(
        [sys.executable, "-m", "tests.standards.stac_validator_offline", *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO,
        env=cli_env(),
    )
    assert "Errors: none" in out.stdout, out.stdout[-4000:] + out.stderr[-4000:]
    assert out.returncode == 0


@pytest.mark.parametrize(
    ("bbox", "interval", "start", "end"),
    [
        (
            BOX,
            "1999-02-01T00:00:00Z/1999-03-31T00:00:00Z",
            "1999-02-01T00:00:00Z",
            "1999-03-31T00:00:00Z",
        ),
        ((73.0, 4.0, 75.0, 7.0), "1999-03-07T00:00:00Z/..", "1999-03-07T00:00:00Z", None),
        (BOX, "../1999-02-22T00:00:00Z", None, "1999-02-22T00:00:00Z"),
    ],
)
def test_pystac_client_gets_exactly_what_the_json_api_returns(
    faces: FacesNode,
    bbox: tuple[float, float, float, float],
    interval: str,
    start: str | None,
    end: str | None,
) -> None:
    client = Client.open(f"{faces.url}/stac")
    search = client.search(bbox=list(bbox), datetime=interval, max_items=None, limit=2)
    stac_ids = [item.id for item in search.items()]
    params = {"bbox": ",".join(f"{v:g}" for v in bbox)}
    params |= {"start": start} if start else {}
    params |= {"end": end} if end else {}
    expected = _api_ids(faces.url, **params)
    assert expected, "the query should match something"
    assert len(stac_ids) == len(set(stac_ids)), "an item came twice across pages"
    assert set(stac_ids) == expected


def test_collections_per_campaign_and_platform(faces: FacesNode) -> None:
    client = Client.open(f"{faces.url}/stac")
    ids = {c.id for c in client.get_collections()}
    assert {"campaign-indoex", "platform-c130", "platform-sagar-kanya"} <= ids
    c130 = [i.id for i in client.search(collections=["platform-c130"], max_items=None).items()]
    assert set(c130) == _api_ids(faces.url, platform="C130")
    indoex = client.get_collection("campaign-indoex")
    assert {i.id for i in indoex.get_items()} == _api_ids(faces.url)


def test_item_assets_and_the_access_policy(faces: FacesNode) -> None:
    embargoed, mirror = faces.ids["embargoed"], faces.ids["mirror"]
    items = {item["id"]: item for item in _all_items(faces.url)}
    item = items[embargoed]
    assert item["properties"]["fieldcat:access"] == "embargoed"  # type: ignore[index]
    assert meta_canary("embargoed") in json.dumps(item)
    assets = item["assets"]
    assert set(assets) == {"original", "netcdf", "quicklook"}  # type: ignore[arg-type]
    for asset in assets.values():  # type: ignore[attr-defined]
        answer = httpx.get(asset["href"], timeout=30)
        assert answer.status_code == 403, (asset["href"], answer.status_code)
        assert data_canary(1) not in answer.text
    open_item = items[faces.ids["open"]]
    original = httpx.get(open_item["assets"]["original"]["href"], timeout=30)  # type: ignore[index]
    assert original.status_code == 200 and data_canary(0) in original.text
    origin = items[mirror]["assets"]["original"]["href"]  # type: ignore[index]
    assert origin.startswith("http://npl.example:8101/api/v1/datasets/"), origin


def test_hidden_datasets_never_leak_through_stac(faces: FacesNode) -> None:
    pages = [
        httpx.get(f"{faces.url}/stac{path}", timeout=30).text
        for path in ("", "/collections", "/collections/campaign-indoex")
    ]
    pages.append(json.dumps(_all_items(faces.url)))
    for state in HIDDEN_STATES:
        hidden = faces.ids[state]
        for text in pages:
            assert meta_canary(state) not in text and hidden not in text, state
        one = httpx.get(f"{faces.url}/stac/collections/campaign-indoex/items/{hidden}")
        assert one.status_code == 404
        searched = httpx.post(f"{faces.url}/stac/search", json={"ids": [hidden]}).json()
        assert searched["features"] == []


def test_bad_queries_are_400_problems(faces: FacesNode) -> None:
    for query in ("bbox=1,2,3", "datetime=1999-01-01", "datetime=../..", "limit=0", "colour=red"):
        answer = httpx.get(f"{faces.url}/stac/search?{query}")
        assert answer.status_code == 400, (query, answer.text)
        assert answer.headers["content-type"].startswith("application/problem+json")


def test_many_clients_at_once(faces: FacesNode) -> None:
    expected = _api_ids(faces.url, bbox="60,-10,90,30")

    def one(_: int) -> set[str]:
        answer = httpx.post(
            f"{faces.url}/stac/search", json={"bbox": [60, -10, 90, 30], "limit": 100}, timeout=60
        )
        if answer.status_code == 503:
            assert "retry-after" in answer.headers
            return expected
        assert answer.status_code == 200, answer.text
        return {f["id"] for f in answer.json()["features"]}

    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(one, range(48)))
    assert all(found == expected for found in results)
