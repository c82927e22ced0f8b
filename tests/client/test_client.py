"""The Python client against real nodes: search paging across two centers with no duplicate,
subsets on the server that match the data, lazy OPeNDAP, resumable verified downloads,
orders, refusals, submissions, and the example notebook run by nbclient."""

from __future__ import annotations

import signal
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np
import pytest

from tests.archive_center.fieldcat_process import REPO, stop
from tests.archive_center.stayup_node import minute_series, prepare_center, serve
from tests.archive_center.test_opendap import _add_user

pytestmark = [
    pytest.mark.slow,  # two nodes and 5,000 records
    pytest.mark.filterwarnings("ignore:PyDAP was unable to determine:UserWarning"),
]
PER_NODE = 8
NOTEBOOK = REPO / "client" / "examples" / "search_subset_plot.ipynb"


@dataclass
class Nodes:
    urls: list[str]
    tokens: list[str]
    ids: list[list[str]]
    staff: str


@pytest.fixture(scope="module")
def nodes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Nodes]:
    from fieldcat_client import Center

    processes, urls, tokens, ids = [], [], [], []
    staff = ""
    try:
        for index in range(2):
            root = tmp_path_factory.mktemp(f"client{index}")
            token = prepare_center(root)
            if index == 0:
                staff = _add_user(root, "staff", "staff")
            process, url, _ = serve(root)
            processes.append(process)
            urls.append(url)
            tokens.append(token)
            with Center(url, token=token) as center:
                made = []
                for n in range(PER_NODE):
                    did = 7300 + 100 * index + n
                    path = root / f"kco_{did}.txt"
                    path.write_bytes(minute_series(did, 600)[0])
                    made.append(center.submit(path)["dataset"])
            ids.append(made)
        yield Nodes(urls, tokens, ids, staff)
    finally:
        for process in processes:
            stop(process, signal.SIGTERM)


def test_search_pages_across_two_centers_with_no_duplicate(nodes: Nodes) -> None:
    from fieldcat_client import Center, search_all

    centers = [Center(url) for url in nodes.urls]
    one = [d.id for d in centers[0].search(page_size=5, platform="KCO")]
    assert sorted(one) == sorted(nodes.ids[0])
    found = [d.id for d in search_all(centers + centers[:1], page_size=5, platform="KCO")]
    assert len(found) == len(set(found)) == 2 * PER_NODE
    assert set(found) == set(nodes.ids[0]) | set(nodes.ids[1])


def test_subsets_on_the_server_hold_exactly_the_rows(nodes: Nodes) -> None:
    from fieldcat_client import Center

    center = Center(nodes.urls[0])
    dataset = center.dataset(nodes.ids[0][0])
    ozone = minute_series(7300, 600)[1]
    frame = dataset.to_pandas(start="1999-02-01T01:00:00Z", end="1999-02-01T01:59:00Z",
                              variables=["O3"])  # fmt: skip
    assert len(frame) == 60
    assert frame.filter(like="O3").iloc[:, 0].tolist() == ozone[60:120]
    xr_subset = dataset.to_xarray(start="1999-02-01T01:00:00Z", end="1999-02-01T01:59:00Z")
    np.testing.assert_array_equal(xr_subset["O3"].values, ozone[60:120])
    lazy = dataset.to_xarray(lazy=True)
    np.testing.assert_array_equal(lazy["O3"][60:120].values, ozone[60:120])


def test_download_resumes_and_verifies(nodes: Nodes, tmp_path: Path) -> None:
    from fieldcat_client import Center

    center = Center(nodes.urls[0])
    public_id = nodes.ids[0][1]
    whole = minute_series(7301, 600)[0]
    (tmp_path / f".{public_id}.original.part").write_bytes(whole[:1000])
    saved = center.download(public_id, tmp_path)
    assert saved.read_bytes() == whole
    assert not list(tmp_path.glob(".*.part"))


def test_orders_refusals_and_tokens(nodes: Nodes, tmp_path: Path) -> None:
    from fieldcat_client import Center, FieldCatError

    staff = Center(nodes.urls[0], token=nodes.staff)
    hidden = nodes.ids[0][2]
    body = {"state": "embargoed", "release_at": "2099-01-01T00:00:00Z", "reason": "client test"}
    assert staff.http.put(f"/api/v1/datasets/{hidden}/access", json=body).status_code == 200
    anonymous = Center(nodes.urls[0])
    with pytest.raises(FieldCatError) as refused:
        anonymous.dataset(hidden).to_pandas()
    assert refused.value.status == 403 and "embargoed" in refused.value.detail
    owner = Center(nodes.urls[0], token=nodes.tokens[0])
    assert len(owner.dataset(hidden).to_pandas()) == 600
    (whole,) = owner.order(nodes.ids[0][:3], tmp_path / "order.zip", format="csv")
    with zipfile.ZipFile(whole) as archive:
        assert sum(name.endswith(".csv") for name in archive.namelist()) == 3
    split = owner.order(nodes.ids[0][:3], tmp_path / "big.zip", format="csv", per_zip=2)
    assert [p.name for p in split] == ["big-1.zip", "big-2.zip"]
    counts = []
    for part in split:
        with zipfile.ZipFile(part) as archive:
            counts.append(sum(name.endswith(".csv") for name in archive.namelist()))
    assert counts == [2, 1]


def test_the_example_notebook_runs(
    nodes: Nodes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import nbformat
    from nbclient import NotebookClient

    monkeypatch.setenv("FIELDCAT_CENTER", nodes.urls[1])
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(notebook, timeout=120, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()  # fmt: skip
    assert (tmp_path / "ozone.png").stat().st_size > 1000
    assert httpx.get(f"{nodes.urls[1]}/api/v1/readyz").status_code == 200


CATALOG_ROWS = 2_800
"""Catalog rows per node for the paging test: about 5,000 visible to an anonymous caller
over the two nodes (the synthetic catalog hides its private and withdrawn rows)."""


@pytest.fixture(scope="module")
def large_nodes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[str]]:
    """Two real nodes whose catalogs hold the search benchmark's synthetic rows."""
    from bench.search import load
    from catalog.db import make_engine

    processes, urls = [], []
    try:
        for index in range(2):
            root = tmp_path_factory.mktemp(f"large{index}")
            prepare_center(root)
            engine = make_engine(f"sqlite:///{root / 'fieldcat.db'}")
            load(engine, CATALOG_ROWS, seed=index + 1)
            engine.dispose()
            process, url, _ = serve(root)
            processes.append(process)
            urls.append(url)
        yield urls
    finally:
        for process in processes:
            stop(process, signal.SIGTERM)


def test_search_pages_through_5000_results_across_two_nodes(large_nodes: list[str]) -> None:
    from fieldcat_client import Center, search_all

    totals = [httpx.get(f"{url}/api/v1/datasets", params={"limit": 1}).json()["total"]
              for url in large_nodes]  # fmt: skip
    assert sum(totals) >= 4_800
    centers = [Center(url) for url in large_nodes]
    found = [d.id for d in search_all(centers, page_size=700)]
    assert len(found) == len(set(found)) == sum(totals)
