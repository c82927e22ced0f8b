"""A real `fieldcat serve` with a TCP stream and a serial stream (a pty pair), fed by this
test process line by line: each line is searchable within 2 s; `fieldcat streams` stops and
starts a stream on the running node and the day's dataset stays continuous; `/readyz`
reports every receiver."""

from __future__ import annotations

import os
import pty
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from submissions.day_stream import day_did
from tests.archive_center.fieldcat_process import (
    fieldcat,
    free_ports,
    start_fieldcat,
    stop,
    wait_ready,
)
from tests.archive_center.stream_feed import START, LineSender, met_line

PROFILES = Path(__file__).resolve().parents[1] / "fixtures" / "profiles"
SEARCHABLE_S = 2.0
"""The goal: a line is searchable within 2 s. Each line of this test's two streams must meet
it (a version is one transaction, and the streams take turns: docs/streams.md#speed); the
benchmark measures the percentiles with 20 streams."""


def within_goal(delays: list[float]) -> bool:
    return max(delays) < SEARCHABLE_S


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    root = tmp_path_factory.mktemp("streams-node")
    master, slave = pty.openpty()
    base = free_ports(2)
    config = root / "center.toml"
    config.write_text(
        f"""
root = "{root}"
port = {base}
profiles_dir = "{PROFILES}"

[[streams]]
name = "met"
kind = "tcp"
profile = "kco_cr1000_met"
port = {base + 1}
version_every_s = 0.5

[[streams]]
name = "met-serial"
kind = "serial"
profile = "kco_cr1000_met"
did = 715
device = "{os.ttyname(slave)}"
baudrate = 19200
version_every_s = 0.5

[[streams]]
name = "spare"
kind = "tcp"
profile = "kco_cr1000_met"
port = {base + 1}
did = 716
enabled = false
""",
        encoding="utf-8",
    )
    assert fieldcat("init", "--config", str(config)).returncode == 0
    log = root / "serve.log"
    process = start_fieldcat("serve", "--config", str(config), log=log)
    try:
        wait_ready(f"http://127.0.0.1:{base}/api/v1/readyz", process, log)
        yield {"url": f"http://127.0.0.1:{base}", "tcp": base + 1, "pty": master,
               "config": str(config), "log": log}  # fmt: skip
    finally:
        stop(process, signal.SIGTERM)
        os.close(master)
        os.close(slave)


def _searchable(url: str, did: int, i: int) -> float:
    """Seconds until the day dataset `did` covers line i's time in a search."""
    began = time.monotonic()
    when = met_line(i).split(",")[0].strip('"').replace(" ", "T") + "Z"
    while time.monotonic() - began < 15:
        items = httpx.get(f"{url}/api/v1/datasets", params={"q": str(did), "start": when}).json()
        if any(item["did"] == str(did) for item in items["items"]):
            return time.monotonic() - began
        time.sleep(0.05)
    pytest.fail(f"line {i} of DID {did} not searchable after 15 s")


def _receivers(url: str) -> dict[str, dict[str, Any]]:
    body = httpx.get(f"{url}/api/v1/readyz").json()
    return {r["name"]: r for r in body["receivers"]}


def _wait_state(url: str, name: str, state: str) -> dict[str, Any]:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        seen = _receivers(url).get(name)
        if seen is not None and seen["state"] == state:
            return seen
        time.sleep(0.1)
    pytest.fail(f"{name} not {state}: {_receivers(url)}")


def test_tcp_lines_are_searchable_within_two_seconds(node: dict[str, Any]) -> None:
    did = day_did(710, START.date())
    sender = LineSender("127.0.0.1", node["tcp"])
    delays = []
    for i in range(8):
        assert sender.send(met_line(i)) == "ok"
        delays.append(_searchable(node["url"], did, i))
        time.sleep(0.1)
    sender.close()
    assert within_goal(delays), delays


def test_serial_lines_are_searchable_within_two_seconds(node: dict[str, Any]) -> None:
    did = day_did(715, START.date())
    _wait_state(node["url"], "met-serial", "running")
    delays = []
    for i in range(5):
        os.write(node["pty"], (met_line(i) + "\r\n").encode())
        delays.append(_searchable(node["url"], did, i))
    assert within_goal(delays), delays


def test_readyz_reports_every_receiver_and_disabled_streams_stay_stopped(
    node: dict[str, Any],
) -> None:
    seen = _receivers(node["url"])
    assert seen["met"]["state"] == "running" and seen["met"]["kind"] == "tcp"
    assert seen["met-serial"]["kind"] == "serial"
    assert seen["spare"]["state"] == "stopped"
    listed = fieldcat("streams", "list", "--config", node["config"])
    assert listed.returncode == 0, listed.stderr
    assert "spare\ttcp\tno\tkco_cr1000_met" in listed.stdout


def test_cli_stop_then_start_keeps_the_days_dataset_continuous(node: dict[str, Any]) -> None:
    url, did = node["url"], day_did(710, START.date())
    stopped = fieldcat(
        "streams", "stop", "met", "--reason", "cable swap", "--config", node["config"]
    )
    assert stopped.returncode == 0, stopped.stderr
    _wait_state(url, "met", "stopped")
    with pytest.raises(OSError):
        LineSender("127.0.0.1", node["tcp"], deadline_s=0.3).send(met_line(8))
    assert fieldcat("streams", "start", "met", "--config", node["config"]).returncode == 0
    _wait_state(url, "met", "running")
    sender = LineSender("127.0.0.1", node["tcp"])
    assert [sender.send(met_line(i)) for i in range(8, 12)] == ["ok"] * 4
    sender.close()
    _searchable(url, did, 11)
    items = httpx.get(f"{url}/api/v1/datasets", params={"q": str(did)}).json()["items"]
    (item,) = [i for i in items if i["did"] == str(did)]  # the words may match another day's
    detail = httpx.get(f"{url}/api/v1/datasets/{item['public_id']}").json()
    current = next(v for v in detail["versions"] if v["is_current"])
    assert current["data_version"] == "1.0.12", "one dataset, all twelve lines"
    status = fieldcat("streams", "status", "--config", node["config"])
    assert "met\ttcp\trunning" in status.stdout and "wanted=running" in status.stdout
    unknown = fieldcat("streams", "stop", "nope", "--config", node["config"])
    assert unknown.returncode == 2 and "known: met, met-serial, spare" in unknown.stderr
