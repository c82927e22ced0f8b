"""Downloads in every format with subsets, bundles, plots and the redirect for mirrors."""

from __future__ import annotations

import hashlib
import io
import zipfile
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest

from tests.archive_center.conftest import EMBARGOED_SAMPLE, MIRROR_URL, Node
from tests.archive_center.test_api_search import assert_problem
from tests.conftest import SAMPLES

KCO = "kco_surface_hourly.txt"
TRACK = "c130_rf07_track.txt"


def test_original_is_streamed_byte_for_byte_with_a_safe_name(node: Node) -> None:
    response = node.client.get(f"/api/v1/datasets/{node.ids[KCO]}/data")
    assert response.status_code == 200
    assert response.content == (SAMPLES / "valid" / KCO).read_bytes()
    disposition = response.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="INDOEX_did')
    assert KCO not in disposition
    assert response.headers["cache-control"].startswith("public")
    again = node.client.get(
        f"/api/v1/datasets/{node.ids[KCO]}/data",
        headers={"If-None-Match": response.headers["etag"]},
    )
    assert again.status_code == 304
    assert again.content == b""


def test_an_interrupted_download_resumes_with_a_byte_range(node: Node) -> None:
    url = f"/api/v1/datasets/{node.ids[KCO]}/data"
    whole = (SAMPLES / "valid" / KCO).read_bytes()
    first = node.client.get(url)
    assert first.headers["accept-ranges"] == "bytes"
    etag = first.headers["etag"]
    rest = node.client.get(url, headers={"Range": "bytes=100-", "If-Range": etag})
    assert rest.status_code == 206
    assert rest.headers["content-range"] == f"bytes 100-{len(whole) - 1}/{len(whole)}"
    assert whole[:100] + rest.content == whole
    tail = node.client.get(url, headers={"Range": "bytes=-10"})
    assert tail.status_code == 206 and tail.content == whole[-10:]
    # The file changed since (another ETag): the whole file, not a splice of two versions.
    stale = node.client.get(url, headers={"Range": "bytes=100-", "If-Range": '"other"'})
    assert stale.status_code == 200 and stale.content == whole
    beyond = node.client.get(url, headers={"Range": f"bytes={len(whole) + 5}-"})
    assert beyond.status_code == 416
    assert beyond.headers["content-range"] == f"bytes */{len(whole)}"


def test_head_answers_the_get_headers_without_a_body(node: Node) -> None:
    url = f"/api/v1/datasets/{node.ids[KCO]}/data"
    get = node.client.get(url)
    head = node.client.head(url)
    assert head.status_code == 200 and head.content == b""
    for name in ("content-length", "etag", "content-disposition", "cache-control", "vary"):
        assert head.headers[name] == get.headers[name], name
    converted = node.client.head(url, params={"format": "csv"})
    assert converted.status_code == 200 and converted.content == b""
    missing = node.client.head("/api/v1/datasets/AAAAAAAAAAAAAAAA")
    assert missing.status_code == 404 and missing.content == b""
    page = node.client.head(f"/datasets/{node.ids[KCO]}")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")


@pytest.mark.parametrize("fmt", ["netcdf", "csv", "header", "icartt"])
def test_every_format_converts(node: Node, fmt: str) -> None:
    response = node.client.get(f"/api/v1/datasets/{node.ids[KCO]}/data", params={"format": fmt})
    assert response.status_code == 200, response.text
    assert response.content
    if fmt == "netcdf":
        assert response.content[:4] in (b"CDF\x01", b"CDF\x02", b"\x89HDF")


def open_netcdf(content: bytes, tmp_path: Path):  # type: ignore[no-untyped-def]
    import netCDF4

    path = tmp_path / "out.nc"
    path.write_bytes(content)
    return netCDF4.Dataset(path)


def test_netcdf_time_subset_keeps_only_the_window(node: Node, tmp_path: Path) -> None:
    import netCDF4

    start, end = "1999-02-02T00:00:00Z", "1999-02-02T23:59:59Z"
    response = node.client.get(
        f"/api/v1/datasets/{node.ids[KCO]}/data",
        params={"format": "netcdf", "start": start, "end": end},
    )
    assert response.status_code == 200, response.text
    assert "_subset" in response.headers["content-disposition"]
    with open_netcdf(response.content, tmp_path) as nc:
        times = netCDF4.num2date(nc["time"][:], nc["time"].units, only_use_cftime_datetimes=False)
        assert len(times) > 0
        lo, hi = datetime(1999, 2, 2), datetime(1999, 2, 2, 23, 59, 59)
        assert all(lo <= t.replace(tzinfo=None) <= hi for t in times)
        numeric = [
            v for v in nc.variables.values() if v.dimensions == ("time",) and v.name != "time"
        ]
        assert numeric and np.isfinite(np.ma.filled(numeric[0][:], np.nan)).any()


def test_csv_variable_subset_keeps_the_asked_columns(node: Node) -> None:
    url = f"/api/v1/datasets/{node.ids[KCO]}/data"
    full = node.client.get(url, params={"format": "csv"})
    assert full.status_code == 200, full.text
    assert "AOD500" in full.text and "O3" in full.text
    response = node.client.get(url, params={"format": "csv", "variables": "O3"})
    assert response.status_code == 200, response.text
    assert "O3" in response.text
    assert "AOD500" not in response.text

    def rows(text: str) -> list[str]:
        return [line for line in text.splitlines() if line and not line.startswith("#")]

    assert len(rows(response.text)) == len(rows(full.text))
    assert rows(response.text)[1].count(",") == 1


def test_box_subset_of_a_track_keeps_rows_inside(node: Node, tmp_path: Path) -> None:
    full = node.client.get(f"/api/v1/datasets/{node.ids[TRACK]}/data", params={"format": "netcdf"})
    with open_netcdf(full.content, tmp_path) as nc:
        lat_name = next(n for n in nc.variables if n.lower() in ("lat", "latitude"))
        lon_name = next(n for n in nc.variables if n.lower() in ("lon", "longitude"))
        lats = np.ma.filled(nc[lat_name][:], np.nan)
        lons = np.ma.filled(nc[lon_name][:], np.nan)
    south, north = float(np.nanmin(lats)), float(np.nanmedian(lats))
    west, east = float(np.nanmin(lons)) - 0.01, float(np.nanmax(lons)) + 0.01
    response = node.client.get(
        f"/api/v1/datasets/{node.ids[TRACK]}/data",
        params={"format": "netcdf", "bbox": f"{west},{south},{east},{north}"},
    )
    assert response.status_code == 200, response.text
    (tmp_path / "sub").mkdir()
    with open_netcdf(response.content, tmp_path / "sub") as nc:
        sub_lats = np.ma.filled(nc[lat_name][:], np.nan)
    assert 0 < len(sub_lats) < len(lats)
    assert np.nanmax(sub_lats) <= north + 1e-6


def test_unknown_variable_and_empty_window_are_problems(node: Node) -> None:
    url = f"/api/v1/datasets/{node.ids[KCO]}/data"
    body = assert_problem(node.client.get(url, params={"format": "csv", "variables": "NOPE"}), 400)
    assert "NOPE" in body["detail"]
    assert_problem(node.client.get(url, params={"format": "csv", "start": "2005-01-01"}), 400)
    assert_problem(node.client.get(url, params={"format": "xlsx"}), 422)
    assert_problem(node.client.get(url, params={"fmt": "csv"}), 400)


def test_embargoed_data_plot_and_bundle_are_closed(node: Node) -> None:
    dataset_id = node.ids[EMBARGOED_SAMPLE]
    response = node.client.get(f"/api/v1/datasets/{dataset_id}/data")
    body = assert_problem(response, 403)
    assert "2027" in body["detail"]
    assert response.headers["cache-control"] == "no-store"
    assert "etag" not in response.headers
    plot = node.client.get(f"/api/v1/datasets/{dataset_id}/plot")
    assert_problem(plot, 403)
    assert "etag" not in plot.headers
    assert_problem(node.client.post("/api/v1/bundles", json={"datasets": [dataset_id]}), 404)


def test_mirrored_record_redirects_to_its_origin(node: Node) -> None:
    dataset_id = node.ids["mirror"]
    response = node.client.get(
        f"/api/v1/datasets/{dataset_id}/data", params={"format": "csv"}, follow_redirects=False
    )
    assert response.status_code == 307
    assert response.headers["location"] == (
        f"{MIRROR_URL}/api/v1/datasets/{dataset_id}/data?format=csv"
    )


def test_bundle_holds_readable_datasets_with_readmes(node: Node) -> None:
    wanted = [node.ids[KCO], node.ids[TRACK], node.ids[EMBARGOED_SAMPLE], "doesnotexist"]
    response = node.client.post(
        "/api/v1/bundles",
        json={"datasets": wanted, "format": "netcdf", "start": "1999-01-01T00:00:00Z"},
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        names = archive.namelist()
        manifest = archive.read("MANIFEST.txt").decode()
        readmes = [archive.read(n).decode() for n in names if n.endswith("README.txt")]
        for name in names:  # every file with its true SHA-256
            if name != "MANIFEST.txt":
                digest = hashlib.sha256(archive.read(name)).hexdigest()
                assert f"{name}  {archive.getinfo(name).file_size} bytes  sha256:{digest}" in (
                    manifest
                )
    assert sum(n.endswith(".nc") for n in names) == 2
    assert len(readmes) == 2
    assert all("How to cite" in r and "Header as submitted" in r for r in readmes)
    assert any("PI NAME" in r or "PI" in r for r in readmes)
    # Nothing requested is dropped silently: each left-out dataset is listed with its reason.
    assert "Not in this bundle (2 requested dataset(s)):" in manifest
    assert f"{node.ids[EMBARGOED_SAMPLE]}: data of {node.ids[EMBARGOED_SAMPLE]} is embargoed" in (
        manifest
    )
    assert "doesnotexist: not found" in manifest


def test_plot_png_is_cached_and_validated(node: Node) -> None:
    url = f"/api/v1/datasets/{node.ids[KCO]}/plot"
    first = node.client.get(url)
    assert first.status_code == 200, first.text
    assert first.content.startswith(b"\x89PNG")
    etag = first.headers["etag"]
    again = node.client.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304
    svg = node.client.get(url, params={"format": "svg"})
    assert svg.status_code == 200
    assert b"<svg" in svg.content[:2000]


def test_a_sounding_plot_has_pages_and_the_dataset_page_shows_them(node: Node) -> None:
    public_id = node.ids["sagar_kanya_sounding.txt"]
    url = f"/api/v1/datasets/{public_id}/plot"
    skew_t = node.client.get(url, params={"format": "svg"})
    assert skew_t.status_code == 200, skew_t.text
    assert "skew-T / log-P" in skew_t.text and "pressure [hPa]" in skew_t.text
    profiles = node.client.get(url, params={"format": "svg", "page": 2})
    assert profiles.status_code == 200, profiles.text
    assert "profiles" in profiles.text and "WSPD" in profiles.text
    assert profiles.headers["etag"] != skew_t.headers["etag"]
    beyond = assert_problem(node.client.get(url, params={"page": 3}), 400)
    assert "2 page(s)" in beyond["detail"]
    assert_problem(node.client.get(url, params={"page": 0}), 422)
    page = node.client.get(f"/datasets/{public_id}", headers={"Accept": "text/html"})
    assert page.status_code == 200
    assert f"{url}?page=2" in page.text
    assert "Skew-T/log-P diagram of" in page.text and "Profiles of" in page.text


def test_worker_derives_netcdf_and_plots(node: Node) -> None:
    from archive_center.worker import run_once

    made = run_once(node.settings)
    assert made >= 2
    assert run_once(node.settings) == 0
    derived = list((node.settings.root / "archive" / "derived").rglob("*.nc"))
    assert derived
    import netCDF4

    with netCDF4.Dataset(derived[0]) as stored:  # small files: compression would enlarge them
        assert not stored["time"].filters()["zlib"]
    response = node.client.get(
        f"/api/v1/datasets/{node.ids[KCO]}/data", params={"format": "netcdf"}
    )
    assert response.status_code == 200
    assert response.headers["content-length"] == str(derived[0].stat().st_size) or len(derived) > 1


def test_a_conversion_past_the_bound_is_503_with_retry_after(node: Node) -> None:
    from catalog.conversion_gate import conversion_gate

    gate = conversion_gate()
    url = f"/api/v1/datasets/{node.ids[KCO]}/data"
    held = [gate.admitted() for _ in range(gate.limit)]
    for slot in held:
        slot.__enter__()
    try:
        body = assert_problem(node.client.get(url, params={"format": "csv"}), 503)
        assert "converting" in body["detail"]
        busy = node.client.get(url, params={"format": "netcdf", "variables": "O3"})
        assert busy.status_code == 503 and int(busy.headers["retry-after"]) >= 1
        # Originals are streamed, not converted: never refused for the bound.
        assert node.client.get(url).status_code == 200
    finally:
        for slot in held:
            slot.__exit__(None, None, None)
    assert gate.active == 0
    assert node.client.get(url, params={"format": "csv"}).status_code == 200


def test_bundle_lists_a_mirrored_dataset_with_its_origin(node: Node) -> None:
    mirrored = node.ids["mirror"]
    response = node.client.post("/api/v1/bundles", json={"datasets": [node.ids[KCO], mirrored]})
    assert response.status_code == 200, response.text
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        manifest = archive.read("MANIFEST.txt").decode()
    origin = f"{MIRROR_URL}/api/v1/datasets/{mirrored}/data"
    assert f"{mirrored}: held at its origin center: {origin}" in manifest
