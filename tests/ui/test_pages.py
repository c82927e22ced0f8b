"""The HTML pages against a real seeded node (TestClient): what a visitor sees, and that it
matches the API for the same caller."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import netCDF4
import pytest

from tests.archive_center.conftest import EMBARGOED_SAMPLE, FUTURE, MIRROR_URL, Node
from tests.sql_log import recorded_statements

KCO = "kco_surface_hourly.txt"


class Links(HTMLParser):
    """Collects hrefs of <a> elements, JSON-LD blocks and <img> sources."""

    def __init__(self) -> None:
        super().__init__()
        self.links: list[tuple[str, dict[str, str | None]]] = []
        self.images: list[str] = []
        self.jsonld: list[str] = []
        self.forms: list[str] = []
        self._in_jsonld = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "a" and a.get("href"):
            self.links.append((a["href"] or "", a))
        if tag == "img":
            self.images.append(a.get("src") or "")
        if tag == "form":
            self.forms.append(a.get("action") or "")
        self._in_jsonld = tag == "script" and a.get("type") == "application/ld+json"

    def handle_data(self, data: str) -> None:
        if self._in_jsonld:
            self.jsonld.append(data)

    def handle_endtag(self, tag: str) -> None:
        self._in_jsonld = False


def parse(html: str) -> Links:
    links = Links()
    links.feed(html)
    return links


def dataset_ids(html: str) -> list[str]:
    """Public ids of the datasets listed in the results (the home page's table, the search
    page's list of result rows), in order."""
    for start, end in (('<table class="datasets">', "</table>"), ('<ol class="results"', "</ol>")):
        found = html.split(start, 1)
        if len(found) == 2:
            body = found[1].split(end, 1)[0]
            return re.findall(r'href="/datasets/([A-Za-z0-9_-]+)"', body)
    return []


def api_ids(node: Node, **query: str) -> list[str]:
    page = node.client.get("/api/v1/datasets", params=query).json()
    return [item["public_id"] for item in page["items"]]


def test_home_lists_latest_datasets_and_centers(node: Node) -> None:
    r = node.client.get("/")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    assert "<title>Home · FieldCat JOSS</title>" in r.text
    assert set(dataset_ids(r.text)) == set(api_ids(node, limit="8"))
    assert "NPL New Delhi (NPL)" in r.text
    assert r.headers["cache-control"] == "no-store"


def test_search_page_lists_what_the_api_lists(node: Node) -> None:
    html = node.client.get("/search", params={"limit": "50"}).text
    assert dataset_ids(html) == api_ids(node, limit="50")
    assert len(dataset_ids(html)) == 5
    filtered = node.client.get(
        "/search",
        params={
            "west": "70",
            "south": "0",
            "east": "80",
            "north": "10",
            "start": "1999-02-01",
            "end": "1999-02-28",
        },
    )
    assert filtered.status_code == 200
    expected = api_ids(
        node, bbox="70,0,80,10", start="1999-02-01T00:00:00Z", end="1999-02-28T23:59:59.999999Z"
    )
    assert dataset_ids(filtered.text) == expected
    assert node.ids[KCO] in expected


def test_result_rows_show_a_thumbnail_only_of_open_data(node: Node) -> None:
    html = node.client.get("/search", params={"limit": "50"}).text
    thumbs = set(re.findall(r'<img class="thumb" src="/api/v1/datasets/([^/"]+)/plot"', html))
    closed = node.ids[EMBARGOED_SAMPLE]
    assert node.ids[KCO] in thumbs and closed not in thumbs  # the plot is data
    assert len(thumbs) == len(dataset_ids(html)) - 1


def test_facet_links_filter_and_counts_match(node: Node) -> None:
    html = node.client.get("/search").text
    facet_links = [
        (href, a) for href, a in parse(html).links if href.startswith("/search?platform=")
    ]
    assert facet_links
    href = facet_links[0][0]
    platform = dict(parse_qsl(urlsplit(href).query))["platform"]
    shown = re.search(
        re.escape(f'{href.replace("&", "&amp;")}">{platform}</a> <span class="n">') + r"(\d+)", html
    )
    assert shown is not None
    followed = node.client.get(href).text
    ids = dataset_ids(followed)
    assert ids == api_ids(node, platform=platform)
    assert len(ids) == int(shown.group(1))
    assert 'aria-current="true"' in followed  # the active facet is marked


def test_pagination_goes_all_the_way(node: Node) -> None:
    url: str | None = "/search?limit=2&sort=title"
    seen: list[str] = []
    pages = 0
    while url:
        html = node.client.get(url).text
        pages += 1
        seen += dataset_ids(html)
        nexts = [h for h, a in parse(html).links if a.get("rel") == "next"]
        url = nexts[0].replace("&amp;", "&") if nexts else None
        assert pages < 10
    assert pages == 3
    assert seen == api_ids(node, limit="50", sort="title")


@pytest.mark.parametrize("value", ["\u00b2", "\u0661\u0662", "9" * 5000, "-3", " "])
def test_odd_page_numbers_and_sizes_fall_back(node: Node, value: str) -> None:
    """Digits that are not ASCII ('²' passes str.isdigit() yet int() refuses it) or too many
    of them: the page answers with its defaults, never a 500."""
    r = node.client.get("/search", params={"page": value, "limit": value})
    assert r.status_code in (200, 400)
    assert len(dataset_ids(r.text)) > 0


def test_bad_filters_are_reported_beside_their_fields(node: Node) -> None:
    r = node.client.get("/search", params={"start": "next tuesday", "west": "10"})
    assert r.status_code == 400
    assert (
        'id="f-start" name="start" type="date" value="next tuesday" aria-invalid="true"' in r.text
    )
    assert "Give all four edges of the box" in r.text
    assert len(dataset_ids(r.text)) == 5  # the rest of the query still runs


def test_every_input_is_escaped(node: Node) -> None:
    evil = '<script>alert("x")</script>"><img src=x onerror=alert(1)>'
    r = node.client.get("/search", params={"q": evil, "platform": evil})
    assert r.status_code == 200
    assert "<script>alert" not in r.text
    assert "<img src=x" not in r.text
    assert "&lt;script&gt;" in r.text


def test_open_dataset_page(node: Node) -> None:
    pid = node.ids[KCO]
    r = node.client.get(f"/datasets/{pid}")
    assert r.status_code == 200
    api = node.client.get(f"/api/v1/datasets/{pid}").json()
    assert f"<h1>{api['title']}</h1>" in r.text
    page = parse(r.text)
    assert f"/api/v1/datasets/{pid}/plot" in page.images
    assert f"/datasets/{pid}/download" in page.forms
    for version in api["versions"]:
        assert version["sha256"][:16] in r.text
    assert api["pi_name"] in r.text and "How to cite" in r.text
    doc = json.loads(page.jsonld[0])
    assert doc["@type"] == "Dataset" and doc["identifier"] == pid
    assert doc["name"] == api["title"]
    assert {v["name"] for v in doc["variableMeasured"]} == set(api["variables"])
    assert any("format=netcdf" in d["contentUrl"] for d in doc["distribution"])


def test_embargoed_dataset_shows_release_date_but_no_data(node: Node) -> None:
    pid = node.ids[EMBARGOED_SAMPLE]
    r = node.client.get(f"/datasets/{pid}")
    assert r.status_code == 200
    page = parse(r.text)
    assert FUTURE.strftime("%Y-%m-%d %H:%M UTC") in r.text
    assert not page.images and f"/datasets/{pid}/download" not in page.forms
    doc = json.loads(page.jsonld[0])
    assert "distribution" not in doc and "conditionsOfAccess" in doc
    assert not {"password_hash", "owner_user_id", "summary_private"} & set(doc)
    dl = node.client.get(f"/datasets/{pid}/download", params={"format": "csv"})
    assert dl.status_code == 403
    assert dl.headers["content-type"].startswith("text/html")
    assert "until" in dl.text and "Content-Disposition" not in dl.headers


def test_missing_dataset_is_a_404_page(node: Node) -> None:
    r = node.client.get("/datasets/doesNotExist1234")
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("text/html")


def test_download_form_gives_a_netcdf_subset(node: Node, tmp_path: Path) -> None:
    pid = node.ids[KCO]
    r = node.client.get(
        f"/datasets/{pid}/download",
        params=[
            ("format", "netcdf"),
            ("start", "1999-02-02T00:00"),
            ("end", "1999-02-02T12:00"),
            ("west", ""),
            ("south", ""),
            ("east", ""),
            ("north", ""),
            ("variables", "O3"),
        ],
    )
    assert r.status_code == 200, r.text
    assert r.headers["content-disposition"].startswith("attachment;")
    out = tmp_path / "subset.nc"
    out.write_bytes(r.content)
    with netCDF4.Dataset(out) as nc:
        assert "O3" in nc.variables
        assert "CO" not in nc.variables
        assert 1 <= len(nc.variables["time"]) <= 13


def test_download_form_errors_are_shown_on_the_page(node: Node) -> None:
    pid = node.ids[KCO]
    r = node.client.get(
        f"/datasets/{pid}/download", params={"format": "netcdf", "end": "1970-01-01"}
    )
    assert r.status_code == 400
    assert "no rows of this dataset fall inside the requested subset" in r.text
    assert 'role="alert"' in r.text


@pytest.mark.parametrize(
    "path", ["/static/../archive_center/app.py", "/static/%2e%2e/routes.py", "/static/nope.js"]
)
def test_static_serves_only_shipped_assets(node: Node, path: str) -> None:
    assert node.client.get(path).status_code == 404


def test_vendored_assets_are_served(node: Node) -> None:
    js = node.client.get("/static/vendor/leaflet/leaflet.js")
    assert js.status_code == 200 and "Leaflet" in js.text[:500]
    land = node.client.get("/static/vendor/land-110m.geojson").json()
    assert land["features"][0]["geometry"]["type"] == "MultiPolygon"


def statements_of(node: Node, target: str) -> list[str]:
    """The SQL statements one GET of `target` runs (it must answer 200)."""
    with recorded_statements(node.app.state.engine) as seen:
        assert node.client.get(target).status_code == 200
    return seen


def test_dataset_page_loads_its_dataset_once(node: Node) -> None:
    pid = node.ids[KCO]
    page = statements_of(node, f"/datasets/{pid}")
    api = statements_of(node, f"/api/v1/datasets/{pid}")
    checks = [
        s
        for s in page
        if s.startswith("SELECT datasets.id, datasets.public_id, datasets.access_state")
    ]
    loads = [s for s in page if "FROM variables" in s]
    assert len(checks) == len(loads) == 1, page  # the access check, then the row, once
    # Beside the API's statements: its DOI, which of its parts it has (registry, merges),
    # the platform's products; never every navigation rule or merge of the catalog
    assert len(page) <= len(api) + 3, page
    assert not [s for s in page if "FROM navigation_rules" in s or ("FROM merge_definitions" in s
                and "WHERE" not in s.split("FROM merge_definitions", 1)[1])], page  # fmt: skip


def test_a_mirror_whose_origin_has_no_address_still_has_its_page(node: Node) -> None:
    """The page of a record mirrored from a center whose address is unknown shows the record
    (looking its quick look's pages up asked for the origin's address: a 404)."""
    from sqlalchemy import update

    from catalog.models import Center

    def set_url(url: str) -> None:
        with node.app.state.session_factory() as session, session.begin():
            session.execute(update(Center).where(Center.code == "NPL").values(base_url=url))

    set_url("")
    try:
        page = node.client.get(f"/datasets/{node.ids['mirror']}")
    finally:
        set_url(MIRROR_URL)
    assert page.status_code == 200, page.text
    assert f"<code>{node.ids['mirror']}</code>" in page.text and "<dd>NPL</dd>" in page.text
