"""OPeNDAP against a real node: netCDF4 and xarray (netcdf4 and pydap engines) open datasets
by URL and read exactly the values of the NetCDF download, whole and subset on the server;
embargoed data are refused anonymously and read with an API token from `.netrc`."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import numpy as np
import pytest

from tests.archive_center.fieldcat_process import stop
from tests.archive_center.stayup_node import (
    minute_series,
    prepare_center,
    sample,
    serve,
    upload,
)

ROWS = 3000
# pydap asks for `dap2://` URLs, which it then tries over HTTPS first (slow retries on a
# plain-HTTP node); an `http://` URL works and only warns.
pytestmark = pytest.mark.filterwarnings("ignore:PyDAP was unable to determine:UserWarning")


@dataclass
class DapNode:
    url: str
    root: Path
    pi_token: str
    other_token: str
    series: str
    """An open minute series of ROWS rows."""
    station: str
    """The KCO sample: a quality-flag (int8) column and a station name."""
    embargoed: str


def _add_user(root: Path, name: str, role: str) -> str:
    from catalog.db import make_engine, make_session_factory
    from catalog.schemas import Role
    from catalog.users import create_user, issue_api_token
    from web.settings import Settings

    settings = Settings(root=root, center_code="JOSS", center_name="JOSS")
    engine = make_engine(settings.effective_database_url)
    with make_session_factory(engine)() as session, session.begin():
        now = datetime.now(UTC)
        user = create_user(session, username=name, password="robust-pass", role=Role(role), now=now)
        token = issue_api_token(session, user, name="tests", now=now)
    engine.dispose()
    return token


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DapNode]:
    root = tmp_path_factory.mktemp("dap")
    pi_token = prepare_center(root)
    staff_token = _add_user(root, "staff", "staff")
    other_token = _add_user(root, "other", "pi")
    process, url, _ = serve(root)
    try:
        with httpx.Client(base_url=url, timeout=60) as client:
            client.headers["Authorization"] = f"Bearer {pi_token}"
            series = upload(client, "kco_series.txt", minute_series(7101, ROWS)[0])
            station = upload(client, "kco.txt", sample("kco_surface_hourly.txt", 7102))
            embargoed = upload(client, "kco_embargo.txt", minute_series(7103, 200)[0])
            client.headers["Authorization"] = f"Bearer {staff_token}"
            body = {"state": "embargoed", "release_at": "2099-01-01T00:00:00Z", "reason": "test"}
            resp = client.put(f"/api/v1/datasets/{embargoed}/access", json=body)
            assert resp.status_code == 200, resp.text
        yield DapNode(url, root, pi_token, other_token, series, station, embargoed)
    finally:
        stop(process, signal.SIGTERM)


def _download(node: DapNode, public_id: str, tmp: Path, **params: str) -> Path:
    resp = httpx.get(
        f"{node.url}/api/v1/datasets/{public_id}/data",
        params={"format": "netcdf", **params},
        headers={"Authorization": f"Bearer {node.pi_token}"},
        timeout=60,
    )
    assert resp.status_code == 200, resp.text
    path = tmp / f"{public_id}-{len(params)}.nc"
    path.write_bytes(resp.content)
    return path


def _same(remote: object, local: object, names: list[str]) -> None:
    import xarray as xr

    assert isinstance(remote, xr.Dataset) and isinstance(local, xr.Dataset)
    for name in names:
        got, want = remote[name].values, local[name].values
        assert got.shape == want.shape, name
        if want.dtype.kind in "fc":
            np.testing.assert_array_equal(got, want, err_msg=name)
        else:
            assert got.tolist() == want.tolist(), name


def _data_names(local: object) -> list[str]:
    return [str(n) for n in local.variables if local[n].dtype.kind != "S"]  # type: ignore[attr-defined]


@pytest.mark.parametrize("engine", ["netcdf4", "pydap"])
@pytest.mark.parametrize("which", ["series", "station"])
def test_xarray_reads_exactly_the_download(
    node: DapNode, tmp_path: Path, engine: str, which: str
) -> None:
    import xarray as xr

    public_id = getattr(node, which)
    local = xr.open_dataset(_download(node, public_id, tmp_path))
    url = f"{node.url}/opendap/{public_id}"
    with xr.open_dataset(url, engine=engine) as remote:
        assert set(_data_names(local)) <= set(remote.variables)
        _same(remote, local, _data_names(local))
        assert remote.attrs["title"] == local.attrs["title"]


def test_netcdf4_opens_the_url_and_slices_on_the_server(node: DapNode, tmp_path: Path) -> None:
    import netCDF4

    local = _download(node, node.series, tmp_path)
    with (
        netCDF4.Dataset(str(local)) as want,
        netCDF4.Dataset(f"{node.url}/opendap/{node.series}") as got,
    ):
        assert len(got.dimensions["time"]) == ROWS
        for name in ("time", "O3", "RH"):
            np.testing.assert_array_equal(got[name][100:250], want[name][100:250])
            np.testing.assert_array_equal(got[name][::7], want[name][::7])


def test_a_time_subset_is_the_subset_download(node: DapNode, tmp_path: Path) -> None:
    import xarray as xr

    start, end = "1999-02-01T05:00:00Z", "1999-02-01T09:59:00Z"
    local = xr.open_dataset(_download(node, node.series, tmp_path, start=start, end=end))
    for engine in ("netcdf4", "pydap"):
        with xr.open_dataset(f"{node.url}/opendap/{node.series}", engine=engine) as remote:
            subset = remote.sel(time=slice(start[:-1], end[:-1]))
            assert subset.sizes["time"] == local.sizes["time"] == 300
            _same(subset, local, ["time", "O3", "RH"])


def test_a_constraint_expression_returns_only_its_rows(node: DapNode) -> None:
    resp = httpx.get(f"{node.url}/opendap/{node.series}.ascii?O3[10:2:14]")
    assert resp.status_code == 200, resp.text
    _, values = resp.text.split("-" * 45 + "\n")
    rows = [line for line in values.splitlines() if line.startswith("[")]
    expected = minute_series(7101, ROWS)[1][10:15:2]
    assert [float(r.split()[1]) for r in rows] == expected
    dds = httpx.get(f"{node.url}/opendap/{node.series}.dds?O3[10:2:14]").text
    assert "Float64 O3[time = 3];" in dds and "RH" not in dds


def test_a_bad_constraint_is_a_400_problem(node: DapNode) -> None:
    for query in ("nosuchvar", "O3[5:1:2]x", "O3&O3>1"):
        resp = httpx.get(f"{node.url}/opendap/{node.series}.dods?{query}")
        assert resp.status_code == 400, (query, resp.text)
        assert resp.headers["content-type"].startswith("application/problem+json")


def test_embargoed_data_refused_anonymously_with_a_basic_challenge(node: DapNode) -> None:
    import netCDF4

    for answer in ("dds", "das", "dods"):
        resp = httpx.get(f"{node.url}/opendap/{node.embargoed}.{answer}")
        assert resp.status_code == 401
        assert resp.headers["www-authenticate"].startswith('Basic realm="fieldcat"')
    other = httpx.get(f"{node.url}/opendap/{node.embargoed}.dds", auth=("other", node.other_token))
    assert other.status_code == 403
    wrong = httpx.get(f"{node.url}/opendap/{node.embargoed}.dds", auth=("pi", node.other_token))
    assert wrong.status_code == 401
    with pytest.raises(OSError):
        netCDF4.Dataset(f"{node.url}/opendap/{node.embargoed}")


NETRC_READER = """
import json, sys, warnings
warnings.simplefilter("ignore")
import netCDF4, xarray as xr
url = sys.argv[1]
with netCDF4.Dataset(url) as ds:
    via_c = ds["O3"][:].tolist()
with xr.open_dataset(url, engine="pydap") as ds:
    via_pydap = ds["O3"].values.tolist()
print(json.dumps({"netcdf4": via_c, "pydap": via_pydap}))
"""


def test_embargoed_data_read_with_a_token_from_netrc(node: DapNode, tmp_path: Path) -> None:
    """netCDF-C reads `.netrc` named by HTTP.NETRC in `.dodsrc`; pydap's requests reads
    `~/.netrc` itself; no token is ever in the URL."""
    home = tmp_path / "home"
    home.mkdir()
    netrc = home / ".netrc"
    netrc.write_text(f"machine 127.0.0.1 login pi password {node.pi_token}\n")
    netrc.chmod(0o600)
    (home / ".dodsrc").write_text(f"HTTP.NETRC={netrc}\n")
    env = {k: v for k, v in os.environ.items() if k not in ("NETRC", "CURL_HOME")}
    env |= {"HOME": str(home)}
    url = f"{node.url}/opendap/{node.embargoed}"
    out = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(NETRC_READER), url],
        capture_output=True, text=True, timeout=120, cwd=home, env=env,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-3000:]
    read = json.loads(out.stdout.splitlines()[-1])
    expected = minute_series(7103, 200)[1]
    assert read["netcdf4"] == expected
    assert read["pydap"] == expected


def test_many_clients_at_once(node: DapNode) -> None:
    """16 clients, half on DAP2 and half on DAP4, each answer whole and right (or a 503
    that says when to come back)."""
    ozone = np.asarray(minute_series(7101, ROWS)[1])
    ends = {
        "dods?O3": ozone.astype(">f8").tobytes(),
        "dap?dap4.ce=/O3": ozone.astype("<f8").tobytes(),
    }
    statuses: list[int] = []
    bad: list[str] = []

    def reading(index: int) -> None:
        answer = list(ends)[index % 2]
        with httpx.Client(timeout=60) as client:
            for _ in range(4):
                resp = client.get(f"{node.url}/opendap/{node.series}.{answer}")
                statuses.append(resp.status_code)
                if resp.status_code == 200 and not resp.content.endswith(ends[answer]):
                    bad.append(f"wrong bytes from .{answer}")
                elif resp.status_code == 503 and "retry-after" not in resp.headers:
                    bad.append("503 without Retry-After")

    threads = [threading.Thread(target=reading, args=(i,)) for i in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not bad, bad
    assert set(statuses) <= {200, 503} and statuses.count(200) >= 16, statuses


def test_basic_credentials_count_on_reads_only(node: DapNode) -> None:
    """`curl --netrc` reads the data download too; a write never takes Basic credentials
    (a browser may send remembered ones cross-site)."""
    auth = ("pi", node.pi_token)
    data = httpx.get(f"{node.url}/api/v1/datasets/{node.embargoed}/data", auth=auth)
    assert data.status_code == 200
    files = {"file": ("x.txt", minute_series(7199, 10)[0], "text/plain")}
    write = httpx.post(f"{node.url}/api/v1/submissions", auth=auth, files=files)
    assert write.status_code == 401


def test_ncdump_reads_a_slice_by_url(node: DapNode) -> None:
    """netCDF-C's own tool (Debian's netcdf-bin) opens the URL and prints the values."""
    import shutil

    from tests.conftest import require

    ncdump = shutil.which("ncdump")
    require(ncdump is not None, "ncdump (apt-get install netcdf-bin) is not installed")
    assert ncdump is not None
    url = f"{node.url}/opendap/{node.series}"
    header = subprocess.run([ncdump, "-h", url], capture_output=True, text=True, timeout=60)
    assert header.returncode == 0, header.stderr
    assert f"time = {ROWS} ;" in header.stdout and "double O3(time) ;" in header.stdout
    dumped = subprocess.run(
        [ncdump, "-v", "O3", f"{url}?O3[0:1:9]"], capture_output=True, text=True, timeout=60
    )
    assert dumped.returncode == 0, dumped.stderr
    values = dumped.stdout.split("O3 =")[1].split(";")[0].replace("\n", " ")
    assert [float(v) for v in values.split(",")] == minute_series(7101, ROWS)[1][:10]


@pytest.mark.parametrize("which", ["series", "station"])
def test_dap4_netcdf_c_and_pydap_read_exactly_the_download(
    node: DapNode, tmp_path: Path, which: str
) -> None:
    import xarray as xr

    public_id = getattr(node, which)
    local = xr.open_dataset(_download(node, public_id, tmp_path))
    url = f"{node.url}/opendap/{public_id}"
    with xr.open_dataset(f"dap4://{url.removeprefix('http://')}", engine="netcdf4") as remote:
        _same(remote, local, _data_names(local))
    from pydap.client import open_url

    dataset = open_url(url, protocol="dap4")
    for name in ("O3", "RH"):
        np.testing.assert_array_equal(np.asarray(dataset[name][:].data), local[name].values)


def test_dap4_constraint_returns_only_its_rows(node: DapNode) -> None:
    import netCDF4

    expected = minute_series(7101, ROWS)[1]
    with netCDF4.Dataset(f"{node.url}/opendap/{node.series}#dap4") as ds:
        np.testing.assert_array_equal(ds["O3"][1000:1300], expected[1000:1300])
    query = {"dap4.ce": "/O3[10:2:14]", "dap4.checksum": "true"}
    answer = httpx.get(f"{node.url}/opendap/{node.series}.dap", params=query).content
    size = int.from_bytes(answer[:4], "big") & 0xFFFFFF
    dmr = answer[4 : 4 + size]
    assert b'<Dim size="3"/>' in dmr and b'name="RH"' not in dmr
    data = answer[4 + size + 4 :]
    assert np.frombuffer(data[:24], "<f8").tolist() == expected[10:15:2]
    import zlib

    assert int.from_bytes(data[24:28], "little") == zlib.crc32(data[:24])
    bad = httpx.get(f"{node.url}/opendap/{node.series}.dap", params={"dap4.ce": "/nosuch"})
    assert bad.status_code == 400


def test_dap4_embargoed_refused_anonymously(node: DapNode) -> None:
    for answer in ("dmr", "dmr.xml", "dap"):
        resp = httpx.get(f"{node.url}/opendap/{node.embargoed}.{answer}")
        assert resp.status_code == 401, answer
    owner = httpx.get(f"{node.url}/opendap/{node.embargoed}.dmr", auth=("pi", node.pi_token))
    assert owner.status_code == 200 and b'<Float64 name="O3">' in owner.content
    assert httpx.get(f"{node.url}/opendap/{node.series}.nope").status_code == 404
