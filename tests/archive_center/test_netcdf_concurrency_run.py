"""A real node under concurrent NetCDF conversions while its worker derives stored NetCDF:
it stays up, and every answer is a valid NetCDF with the right values or a 503 that says
when to come back (netCDF-C/HDF5 are not thread-safe; FieldCat serialises them)."""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path

import httpx
import numpy as np
import pytest

from tests.archive_center.fieldcat_process import stop
from tests.archive_center.stayup_node import minute_series, prepare_center, serve, upload

pytestmark = pytest.mark.slow

CLIENTS = 8
STORM_S = 20.0
ROWS = 6000


def check_netcdf(content: bytes, expected: list[float], tmp: Path) -> None:
    """The answer opens as NetCDF and its O3 variable holds the uploaded values."""
    import netCDF4

    path = tmp / "answer.nc"
    path.write_bytes(content)
    with netCDF4.Dataset(str(path)) as ds:
        (ozone,) = [v for v in ds.variables.values() if getattr(v, "original_name", "") == "O3"]
        values = np.ma.filled(ozone[:], np.nan)
    np.testing.assert_allclose(values, expected, rtol=0, atol=1e-9)


def test_eight_clients_converting_while_the_worker_derives(tmp_path: Path) -> None:
    root = tmp_path / "node"
    token = prepare_center(root)
    process, url, _ = serve(root, FIELDCAT_WORKER__DERIVE_PROCESSES="1")
    headers = {"Authorization": f"Bearer {token}"}
    expected: dict[str, list[float]] = {}
    answers: list[tuple[str, int, bytes, str | None]] = []
    errors: list[BaseException] = []
    done = threading.Event()
    try:
        with httpx.Client(base_url=url, headers=headers, timeout=60) as client:
            for did in range(7000, 7016):
                content, ozone = minute_series(did, ROWS)
                expected[upload(client, f"kco_{did}.txt", content)] = ozone

        def converting(index: int) -> None:
            ids = list(expected)
            with httpx.Client(base_url=url, headers=headers, timeout=60) as client:
                turn = index
                while not done.is_set():
                    public_id = ids[turn % len(ids)]
                    turn += 1
                    resp = client.get(
                        f"/api/v1/datasets/{public_id}/data",
                        params={"format": "netcdf", "start": "1999-02-01T00:00:00Z"},
                    )
                    answers.append(
                        (public_id, resp.status_code, resp.content, resp.headers.get("retry-after"))
                    )

        def uploading() -> None:  # keeps the worker deriving stored NetCDF meanwhile
            with httpx.Client(base_url=url, headers=headers, timeout=60) as client:
                did = 8000
                while not done.is_set():
                    upload(client, f"kco_{did}.txt", minute_series(did, ROWS)[0])
                    did += 1
                    time.sleep(0.3)

        def guarded(target, *args) -> None:  # type: ignore[no-untyped-def]
            try:
                target(*args)
            except BaseException as err:
                errors.append(err)

        threads = [threading.Thread(target=guarded, args=(converting, i)) for i in range(CLIENTS)]
        threads.append(threading.Thread(target=guarded, args=(uploading,)))
        for thread in threads:
            thread.start()
        time.sleep(STORM_S)
        done.set()
        for thread in threads:
            thread.join(timeout=120)
        log = (root / "serve.log").read_text(errors="replace")
        assert process.poll() is None, f"the node died:\n{log[-4000:]}"
        assert not errors, f"{errors[0]!r}\n{log[-3000:]}"
        assert httpx.get(f"{url}/api/v1/readyz").status_code == 200
        statuses = {status for _, status, _, _ in answers}
        assert statuses <= {200, 503}, statuses
        converted = [(pid, body) for pid, status, body, _ in answers if status == 200]
        assert len(converted) >= CLIENTS, "hardly any conversion was served"
        for _, status, _, retry in answers:
            if status == 503:
                assert retry is not None and int(retry) >= 1
        for public_id, body in converted:
            check_netcdf(body, expected[public_id], tmp_path)
        with httpx.Client(base_url=url, headers=headers, timeout=60) as client:
            stored = client.get(
                f"/api/v1/datasets/{next(iter(expected))}/data", params={"format": "netcdf"}
            )
        assert stored.status_code == 200
        check_netcdf(stored.content, next(iter(expected.values())), tmp_path)
        assert "Fatal Python error" not in log and "HDF5-DIAG" not in log
    finally:
        if process.poll() is None:
            stop(process, signal.SIGTERM)
