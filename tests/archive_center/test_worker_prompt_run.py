"""The worker of a real node derives a fresh upload's NetCDF within seconds (not at its
30 s housekeeping round), in a separate process, and the stored file holds the values; a
deriving process that dies is replaced."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from catalog.db import make_engine
from catalog.models import DerivedFile
from tests.archive_center.fieldcat_process import alive, children_of, stop
from tests.archive_center.stayup_node import minute_series, prepare_center, serve, upload
from tests.archive_center.test_netcdf_concurrency_run import check_netcdf

pytestmark = pytest.mark.slow


def deriving(pid: int) -> list[int]:
    """The node's deriving processes (spawned pool workers, not the resource tracker)."""
    found = []
    for child in children_of(pid):
        try:
            cmdline = Path(f"/proc/{child}/cmdline").read_bytes()
        except OSError:
            continue
        if b"spawn_main" in cmdline and alive(child):
            found.append(child)
    return found


def stored_netcdf(engine_url: str) -> list[str]:
    engine = make_engine(engine_url)
    try:
        with engine.connect() as connection:
            query = select(DerivedFile.path).where(DerivedFile.format == "netcdf")
            return list(connection.scalars(query))
    finally:
        engine.dispose()


def test_a_fresh_upload_is_derived_within_seconds(tmp_path: Path) -> None:
    root = tmp_path / "node"
    token = prepare_center(root)
    process, url, _ = serve(
        root, FIELDCAT_WORKER_INTERVAL_S="30", FIELDCAT_WORKER__DERIVE_PROCESSES="2"
    )
    database = f"sqlite:///{root.resolve() / 'fieldcat.db'}"
    try:
        time.sleep(1.0)  # past the worker's first round: only a wake-up can be quick now
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}) as client:
            for did in (9100, 9101, 9102):
                if did == 9102:  # a deriving process killed (OOM killer, crash): replaced
                    victims = deriving(process.pid)
                    assert len(victims) == 2
                    for pid in victims:
                        os.kill(pid, signal.SIGKILL)
                content, ozone = minute_series(did, 3000)
                public_id = upload(client, f"kco_{did}.txt", content)
                uploaded = time.monotonic()
                while len(stored_netcdf(database)) < did - 9099:
                    # a fresh process starts (at low priority) before the third
                    limit = 15.0 if did < 9102 else 30.0
                    assert time.monotonic() - uploaded < limit, f"not derived within {limit} s"
                    time.sleep(0.1)
                resp = client.get(f"/api/v1/datasets/{public_id}/data", params={"format": "netcdf"})
                assert resp.status_code == 200
                check_netcdf(resp.content, ozone, tmp_path)
        stored = [root / path for path in stored_netcdf(database)]
        assert all(path.is_file() and path.suffix == ".nc" for path in stored)
        assert len(deriving(process.pid)) == 2, "derived files are made in 2 child processes"
        assert process.poll() is None
    finally:
        stop(process, signal.SIGTERM)


def test_deriving_processes_die_with_a_killed_node(tmp_path: Path) -> None:
    """kill -9 of the node (OOM killer, a crashed host agent) leaves no deriving process
    behind: each gets SIGTERM from the kernel when the node's worker thread is gone."""
    root = tmp_path / "node"
    prepare_center(root)
    process, _, _ = serve(root, FIELDCAT_WORKER__DERIVE_PROCESSES="2")
    try:
        deadline = time.monotonic() + 60
        while len(children := deriving(process.pid)) < 2:
            assert time.monotonic() < deadline, "the deriving processes never started"
            time.sleep(0.2)
    except BaseException:
        stop(process, signal.SIGTERM)
        raise
    process.kill()
    process.wait()
    deadline = time.monotonic() + 10
    while survivors := [pid for pid in children if alive(pid)]:
        assert time.monotonic() < deadline, f"orphaned deriving processes: {survivors}"
        time.sleep(0.1)
