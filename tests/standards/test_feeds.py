"""Atom feeds against a real node: what the JSON search returns, nothing hidden."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx
from lxml import etree

from tests.standards.faces_node import HIDDEN_STATES, FacesNode, data_canary, meta_canary

ATOM = "{http://www.w3.org/2005/Atom}"


def _entries(url: str) -> list[str]:
    answer = httpx.get(url, timeout=30)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("application/atom+xml")
    feed = etree.fromstring(answer.content)
    return [e.findtext(f"{ATOM}id").rsplit("/", 1)[1] for e in feed.findall(f"{ATOM}entry")]


def _api_ids(url: str, **params: str) -> set[str]:
    query = {"limit": "1000", "facets": "false", **params}
    return {
        i["public_id"] for i in httpx.get(f"{url}/api/v1/datasets", params=query).json()["items"]
    }


def test_search_feed_lists_what_the_search_returns(faces: FacesNode) -> None:
    assert set(_entries(f"{faces.url}/search.atom")) == _api_ids(faces.url)
    c130 = _entries(f"{faces.url}/search.atom?platform=C130&bbox=60,-10,90,30")
    assert set(c130) == _api_ids(faces.url, platform="C130", bbox="60,-10,90,30")
    bad = httpx.get(f"{faces.url}/search.atom?colour=red", headers={"Accept": "application/json"})
    assert bad.status_code == 400


def test_center_feed_lists_the_center_s_datasets(faces: FacesNode) -> None:
    assert _entries(f"{faces.url}/centers/NPL.atom") == [faces.ids["mirror"]]
    assert set(_entries(f"{faces.url}/centers/JOSS.atom")) == _api_ids(faces.url, center="JOSS")


def test_newest_change_first_and_entries_carry_links(faces: FacesNode) -> None:
    feed = etree.fromstring(httpx.get(f"{faces.url}/search.atom").content)
    stamps = [e.findtext(f"{ATOM}updated") for e in feed.findall(f"{ATOM}entry")]
    assert stamps == sorted(stamps, reverse=True)
    entry = feed.find(f"{ATOM}entry")
    rels = {link.get("rel") for link in entry.findall(f"{ATOM}link")}
    assert rels == {"alternate", "related"}


def test_feeds_never_leak_hidden_metadata_or_data(faces: FacesNode) -> None:
    texts = [
        httpx.get(f"{faces.url}{path}").text
        for path in ("/search.atom", "/centers/JOSS.atom", "/search.atom?q=MCANARY")
    ]
    for state in HIDDEN_STATES:
        assert not any(meta_canary(state) in t or faces.ids[state] in t for t in texts), state
    assert not any(data_canary(i) in t for i in range(4) for t in texts)
    assert meta_canary("embargoed") in texts[0]


def test_many_feed_readers_at_once(faces: FacesNode) -> None:
    expected = set(_entries(f"{faces.url}/search.atom"))

    def one(_: int) -> set[str]:
        return set(_entries(f"{faces.url}/search.atom"))

    with ThreadPoolExecutor(12) as pool:
        assert all(found == expected for found in pool.map(one, range(36)))
