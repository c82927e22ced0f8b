"""`fieldcat download` against a real node: by ids and by search, verified files, a manifest,
an honest list of refusals, resuming a part left by an interrupted run, and `--script`."""

from __future__ import annotations

import csv
import hashlib
import json
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.archive_center.fieldcat_process import fieldcat, stop
from tests.archive_center.stayup_node import minute_series, prepare_center, serve, upload
from tests.archive_center.test_opendap import _add_user


@dataclass
class Node:
    url: str
    root: Path
    token: str
    open_ids: list[str]
    embargoed: str
    originals: dict[str, bytes]


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    root = tmp_path_factory.mktemp("dl")
    token = prepare_center(root)
    staff = _add_user(root, "staff", "staff")
    process, url, _ = serve(root)
    try:
        originals: dict[str, bytes] = {}
        with httpx.Client(
            base_url=url, timeout=60, headers={"Authorization": f"Bearer {token}"}
        ) as client:
            for did in range(7201, 7206):
                content = minute_series(did, 4000 if did == 7201 else 300)[0]
                originals[upload(client, f"kco_{did}.txt", content)] = content
            embargoed = upload(client, "kco_7209.txt", minute_series(7209, 100)[0])
            client.headers["Authorization"] = f"Bearer {staff}"
            body = {"state": "embargoed", "release_at": "2099-01-01T00:00:00Z", "reason": "test"}
            assert client.put(f"/api/v1/datasets/{embargoed}/access", json=body).status_code == 200
        yield Node(url, root, token, list(originals), embargoed, originals)
    finally:
        stop(process, signal.SIGTERM)


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_by_ids_verified_with_a_manifest_and_the_refusals(node: Node, tmp_path: Path) -> None:
    out = tmp_path / "out"
    done = fieldcat("download", "--center", node.url, "--out", str(out), "--parallel", "3",
                    "--", *node.open_ids, node.embargoed)  # fmt: skip
    assert done.returncode == 1, done.stderr  # one refusal
    assert f"{node.embargoed}: 403" in done.stderr and "1 refused" in done.stderr
    manifest = json.loads((out / "fieldcat-manifest.json").read_text())
    assert [m["public_id"] for m in manifest] == [*node.open_ids, node.embargoed]
    for line in manifest[:-1]:
        data = (out / line["file"]).read_bytes()
        assert data == node.originals[line["public_id"]]
        assert line["sha256"] == _sha(data) and line["verified"] is True
        assert line["status"] == "fetched" and line["center"] == node.url
    assert manifest[-1]["status"] == "refused" and "embargoed" in manifest[-1]["reason"]
    assert not list(out.glob(".*.part"))


def test_by_search_with_a_token_in_netcdf_and_a_csv_manifest(node: Node, tmp_path: Path) -> None:
    out = tmp_path / "nc"
    done = fieldcat("download", "--center", node.url, "--platform", "KCO", "--format", "netcdf",
                    "--out", str(out), "--manifest", str(out / "m.csv"),
                    FIELDCAT_TOKEN=node.token)  # fmt: skip
    assert done.returncode == 0, done.stderr
    with (out / "m.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert sorted(r["public_id"] for r in rows) == sorted([*node.open_ids, node.embargoed])
    for row in rows:
        assert (out / row["file"]).read_bytes()[:4] == b"\x89HDF"
        assert row["sha256"] == _sha((out / row["file"]).read_bytes())


def test_a_subset_by_the_search_window(node: Node, tmp_path: Path) -> None:
    out = tmp_path / "sub"
    first = node.open_ids[0]
    done = fieldcat("download", "--center", node.url, "--format", "csv", "--subset",
                    "--start", "1999-02-01T01:00:00Z", "--end", "1999-02-01T01:59:00Z",
                    "--out", str(out), "--", first)  # fmt: skip
    assert done.returncode == 0, done.stderr
    (line,) = json.loads((out / "fieldcat-manifest.json").read_text())
    rows = [r for r in (out / line["file"]).read_text().splitlines() if r.startswith("1999")]
    assert len(rows) == 60


def test_an_interrupted_download_resumes_with_range_and_verifies(
    node: Node, tmp_path: Path
) -> None:
    out = tmp_path / "resume"
    out.mkdir()
    big = node.open_ids[0]
    whole = node.originals[big]
    (out / f".{big}.original.part").write_bytes(whole[: len(whole) // 3])
    damaged = node.open_ids[1]
    (out / f".{damaged}.original.part").write_bytes(b"not these bytes" * 10)
    done = fieldcat("download", "--center", node.url, "--out", str(out), "--", big, damaged)
    assert done.returncode == 0, done.stderr
    manifest = {m["public_id"]: m for m in json.loads((out / "fieldcat-manifest.json").read_text())}
    assert manifest[big]["status"] == "resumed" and manifest[big]["verified"] is True
    assert (out / manifest[big]["file"]).read_bytes() == whole
    # A part that does not match the stated SHA-256 is fetched again, whole.
    assert manifest[damaged]["status"] == "fetched" and manifest[damaged]["verified"] is True
    assert (out / manifest[damaged]["file"]).read_bytes() == node.originals[damaged]
    log = (node.root / "serve.log").read_text()
    assert f'GET /api/v1/datasets/{big}/data?format=original HTTP/1.1" 206' in log


def test_script_prints_an_equivalent_curl_script(node: Node, tmp_path: Path) -> None:
    done = fieldcat("download", "--center", node.url, "--script", "--", *node.open_ids[:2])
    assert done.returncode == 0, done.stderr
    assert "fct_" not in done.stdout and done.stdout.startswith("#!/bin/sh")
    script = tmp_path / "get.sh"
    script.write_text(done.stdout)
    run = subprocess.run(["sh", str(script)], cwd=tmp_path, capture_output=True, timeout=60)
    assert run.returncode == 0, run.stderr
    for public_id in node.open_ids[:2]:
        assert (tmp_path / f"{public_id}.dat").read_bytes() == node.originals[public_id]


def test_a_download_cut_by_a_killed_server_resumes_after_restart(tmp_path: Path) -> None:
    """The server dies mid-file: the run records the failure and keeps its part; once the
    center is back, the next run asks for the rest with Range and the SHA-256 matches."""
    from archive_center.download_jobs import DataRequest, Plan, fetch_all
    from bench.download import free_port, register, start_server, write_original

    root = tmp_path / "center"
    write_original(tmp_path / "big.txt", 12 << 20)
    public_id = register(root, tmp_path / "big.txt")
    archived = next(p for p in (root / "archive" / "originals").rglob("*") if p.is_file())
    port = free_port()
    process = start_server(root, port)
    center = f"http://127.0.0.1:{port}"
    received = [0]

    def slow_then_kill(size: int) -> None:
        received[0] += size
        if received[0] >= 4 << 20 and process.poll() is None:
            process.kill()
            process.wait()
        time.sleep(0.01)

    out = tmp_path / "out"
    try:
        plan = Plan(out, 1, on_bytes=slow_then_kill)
        (cut,) = fetch_all(center, [public_id], DataRequest(), plan, {})
        assert cut.status == "refused" and "transfer failed" in cut.reason
        part = out / f".{public_id}.original.part"
        assert 0 < part.stat().st_size < archived.stat().st_size
        process = start_server(root, port)
        (done,) = fetch_all(center, [public_id], DataRequest(), Plan(out, 1), {})
        assert done.status == "resumed" and done.verified
        assert done.sha256 == _sha(archived.read_bytes())
        assert (out / done.file).read_bytes() == archived.read_bytes()
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=30)
