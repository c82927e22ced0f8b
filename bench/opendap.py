"""OPeNDAP and bulk-download benchmark against a real uvicorn process on loopback.

Figures (issue #20):
- `opendap_vs_download`: open a 1,000,000-row dataset through OPeNDAP with xarray and read
  one variable, against downloading its NetCDF and opening it locally (goal <= 1.5);
- `subset_ms`: a 1 % server-side subset of one variable through xarray on the opened URL
  (median of 5; goal under 200 ms, what THREDDS answers for such a slice);
- `download_vs_curl`: `fieldcat download` of 200 small files against `curl` in a shell loop
  over the same URLs (goal <= 1).

`--quick` uses 50,000 rows and 20 files. The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.download import free_port, register, start_server, write_original  # noqa: E402

ROW_BYTES = 52


def make_stored_netcdf(root: Path, public_id: str) -> None:
    """What the worker does after an upload: the stored NetCDF OPeNDAP and downloads read."""
    from catalog.db import make_engine, make_session_factory
    from catalog.downloads import make_derived_netcdf
    from catalog.models import Dataset
    from catalog.storage import ArchiveStore
    from web.settings import Settings

    settings = Settings(root=root)
    engine = make_engine(settings.effective_database_url)
    with make_session_factory(engine)() as session, session.begin():
        dataset = session.query(Dataset).filter_by(public_id=public_id).one()
        assert dataset.current_version is not None
        make_derived_netcdf(session, ArchiveStore(root), dataset.current_version, datetime.now(UTC))
    engine.dispose()


def with_did(path: Path, did: int) -> None:
    """Give a generated file its own DID (a distinct dataset)."""
    text = path.read_text(encoding="ascii")
    path.write_text(text.replace("DID = 9001", f"DID = {did}", 1), encoding="ascii")


def timed_read_opendap(url: str) -> float:
    import xarray as xr

    began = time.perf_counter()
    with xr.open_dataset(url, engine="netcdf4") as ds:
        values = ds["O3"].values
    assert values.size > 0
    return time.perf_counter() - began


def timed_read_download(url: str, workdir: Path) -> float:
    import xarray as xr

    began = time.perf_counter()
    local = workdir / "download.nc"
    with httpx.stream("GET", url, params={"format": "netcdf"}, timeout=600) as response:
        response.raise_for_status()
        with local.open("wb") as handle:
            for chunk in response.iter_bytes(1 << 20):
                handle.write(chunk)
    with xr.open_dataset(local, engine="netcdf4") as ds:
        values = ds["O3"].values
    assert values.size > 0
    return time.perf_counter() - began


def subset_ms(url: str, rows: int) -> float:
    """Median time of a 1 % slice of O3 through xarray on the opened OPeNDAP URL."""
    import xarray as xr

    width = rows // 100
    times = []
    with xr.open_dataset(url, engine="netcdf4", cache=False) as ds:
        for k in range(5):
            first = (k * 17 * width) % (rows - width)
            began = time.perf_counter()
            values = ds["O3"].isel(time=slice(first, first + width)).values
            times.append(time.perf_counter() - began)
            assert values.size == width
    return statistics.median(times) * 1000


def many_small(root: Path, workdir: Path, count: int) -> list[str]:
    """`count` small datasets registered at the center; their ids."""
    ids = []
    for n in range(count):
        path = workdir / f"small_{n}.txt"
        write_original(path, 0)
        with_did(path, 10_000 + n)
        ids.append(register(root, path))
    return ids


def timed_fieldcat(center: str, ids: list[str], out: Path) -> float:
    began = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "archive_center", "download", "--center", center,
         "--out", str(out), "--parallel", "8", "--", *ids],
        check=True, cwd=REPO, capture_output=True,
    )  # fmt: skip
    return time.perf_counter() - began


def timed_curl(center: str, ids: list[str], out: Path) -> float:
    out.mkdir()
    lines = [
        f"curl -sf -o {public_id}.dat '{center}/api/v1/datasets/{public_id}/data'"
        for public_id in ids
    ]
    script = out / "loop.sh"
    script.write_text("set -e\n" + "\n".join(lines) + "\n")
    began = time.perf_counter()
    subprocess.run(["sh", str(script)], check=True, cwd=out)
    return time.perf_counter() - began


def main() -> None:
    """Run the benchmark, print its figures, then one JSON line."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="50,000 rows and 20 files")
    args = parser.parse_args()
    rows = 50_000 if args.quick else 1_000_000
    files = 20 if args.quick else 200
    workdir = Path(tempfile.mkdtemp(prefix="fieldcat-bench-opendap-"))
    proc = None
    try:
        root = workdir / "center"
        generated, _ = write_original(workdir / "big.txt", rows * ROW_BYTES)
        public_id = register(root, workdir / "big.txt")
        make_stored_netcdf(root, public_id)
        small = many_small(root, workdir, files)
        port = free_port()
        proc = start_server(root, port)
        center = f"http://127.0.0.1:{port}"
        dap = f"{center}/opendap/{public_id}"
        data = f"{center}/api/v1/datasets/{public_id}/data"
        timed_read_opendap(dap)  # warm both paths once (imports, page cache)
        timed_read_download(data, workdir)
        via_dap = min(timed_read_opendap(dap) for _ in range(3))
        via_download = min(timed_read_download(data, workdir) for _ in range(3))
        slice_ms = subset_ms(dap, generated)
        fieldcat_s = timed_fieldcat(center, small, workdir / "fc")
        curl_s = timed_curl(center, small, workdir / "curl")
        print(f"{generated} rows: OPeNDAP open+read O3 {via_dap:.3f} s, "
              f"download+open {via_download:.3f} s; 1 % subset {slice_ms:.1f} ms")  # fmt: skip
        print(f"{files} files: fieldcat download {fieldcat_s:.2f} s, curl loop {curl_s:.2f} s")
        result = {
            "benchmark": "opendap",
            "figures": {
                "rows": generated,
                "opendap_read_s": round(via_dap, 4),
                "download_read_s": round(via_download, 4),
                "subset_ms": round(slice_ms, 1),
                "files": files,
                "fieldcat_download_s": round(fieldcat_s, 3),
                "curl_loop_s": round(curl_s, 3),
            },
            "ratios": {
                "opendap_vs_download": round(via_dap / via_download, 3),
                "download_vs_curl": round(fieldcat_s / curl_s, 3),
            },
        }
        print(json.dumps(result))
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=30)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
