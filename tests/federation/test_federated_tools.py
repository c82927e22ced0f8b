"""Researchers' tools across two real peered centers: `fieldcat download` asked at JOSS
fetches a dataset held at NPL from NPL (the manifest says so), and OPeNDAP at JOSS sends a
DAP client to NPL's same URL."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import numpy as np
import pytest

from tests.archive_center.fieldcat_process import fieldcat
from tests.archive_center.stayup_node import minute_series, upload
from tests.federation.cluster import Node, build_cluster, close_all, start_all
from tests.polling import eventually

pytestmark = pytest.mark.filterwarnings("ignore:PyDAP was unable to determine:UserWarning")


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Node, Node, str, bytes]]:
    from catalog.schemas import Role
    from catalog.users import create_user, issue_api_token

    nodes = build_cluster(tmp_path_factory.mktemp("pair"), [("JOSS", "NPL")], ("JOSS", "NPL"))
    try:
        start_all(nodes)
        joss, npl = nodes["JOSS"], nodes["NPL"]
        with npl.session() as session, session.begin():
            now = datetime.now(UTC)
            user = create_user(
                session, username="pi", password="robust-pass", role=Role.PI, now=now
            )
            token = issue_api_token(session, user, name="tests", now=now)
        content = minute_series(7401, 500)[0]
        with httpx.Client(base_url=npl.url, headers={"Authorization": f"Bearer {token}"}) as client:
            public_id = upload(client, "kco_npl.txt", content)
        eventually(lambda: public_id in joss.search_ids(), timeout=60)
        yield joss, npl, public_id, content
    finally:
        close_all(nodes)


def test_download_at_one_center_fetches_from_the_origin(
    pair: tuple[Node, Node, str, bytes], tmp_path: Path
) -> None:
    joss, npl, public_id, content = pair
    done = fieldcat("download", "--center", joss.url, "--platform", "KCO", "--out", str(tmp_path))
    assert done.returncode == 0, done.stderr
    (line,) = json.loads((tmp_path / "fieldcat-manifest.json").read_text())
    assert line["public_id"] == public_id and line["center"] == npl.url
    assert line["verified"] is True
    assert (tmp_path / line["file"]).read_bytes() == content


def test_opendap_at_one_center_reads_from_the_origin(pair: tuple[Node, Node, str, bytes]) -> None:
    import xarray as xr

    joss, npl, public_id, _ = pair
    first = httpx.get(f"{joss.url}/opendap/{public_id}.dds")
    assert first.status_code == 307
    assert first.headers["location"] == f"{npl.url}/opendap/{public_id}.dds"
    with xr.open_dataset(f"{joss.url}/opendap/{public_id}", engine="netcdf4") as remote:
        np.testing.assert_array_equal(remote["O3"].values, minute_series(7401, 500)[1])
