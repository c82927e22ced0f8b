"""Ownerless datasets cannot be taken: a real `fieldcat serve` with its FTP drop and watched
folder (the `drop_node` fixture), PIs and staff over REST. A PI's higher DATA VERSION of an
ownerless DID is refused (SUB010) until staff approve the PI's claim; the claim and the approval
are audited.
"""

from __future__ import annotations

import ftplib
import io
import time
from typing import Any

import httpx
import pytest

from tests.archive_center.stayup_node import found
from tests.conftest import SAMPLES
from tests.submissions.conftest import DropNode


class Node(DropNode):
    """The shared drop node, with the claim routes."""

    def upload(self, who: str, name: str, content: bytes) -> httpx.Response:
        files = {"file": (name, io.BytesIO(content), "text/plain")}
        return httpx.post(
            f"{self.url}/api/v1/submissions", files=files, headers=self.headers(who), timeout=30
        )

    def claim(self, who: str, pid: str, reason: str = "I ran this instrument") -> httpx.Response:
        return httpx.post(
            f"{self.url}/api/v1/datasets/{pid}/claim", json={"reason": reason},
            headers=self.headers(who),
        )  # fmt: skip

    def approve(self, who: str, pid: str, username: str) -> httpx.Response:
        return httpx.post(
            f"{self.url}/api/v1/datasets/{pid}/claim/approve",
            json={"username": username, "reason": "checked with the campaign office"},
            headers=self.headers(who),
        )

    def audit(self, pid: str) -> list[dict[str, Any]]:
        resp = httpx.get(f"{self.url}/api/v1/datasets/{pid}/audit", headers=self.headers("keeper"))
        assert resp.status_code == 200, resp.text
        events: list[dict[str, Any]] = resp.json()
        return events

    def dataset(self, pid: str) -> dict[str, Any]:
        body: dict[str, Any] = httpx.get(f"{self.url}/api/v1/datasets/{pid}").json()
        return body


def kco(did: int, version: str) -> bytes:
    """The sample KCO file (DID 31, DATA VERSION 2.1) under another DID and version."""
    out = []
    for line in (SAMPLES / "valid" / "kco_surface_hourly.txt").read_text().splitlines():
        if line.upper().startswith("DID"):
            line = f"DID = {did}"
        elif line.upper().startswith("DATA VERSION"):
            line = f"DATA VERSION = {version}"
        out.append(line)
    return ("\n".join(out) + "\n").encode()


@pytest.fixture
def node(drop_node: DropNode) -> Node:
    return Node(**vars(drop_node))


def ftp_drop(node: Node, name: str, content: bytes) -> None:
    ftp = ftplib.FTP()
    ftp.connect("127.0.0.1", node.ftp_port, timeout=10)
    ftp.login()
    ftp.storbinary(f"STOR {name}", io.BytesIO(content))
    ftp.quit()


def watched(node: Node, name: str, content: bytes) -> str:
    """Drop into the watched folder; the report text once it is moved (accepted or not)."""
    (node.root / "incoming" / name).write_bytes(content)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        for folder in ("done", "rejected"):
            report = node.root / folder / f"{name}.report.txt"
            if report.exists():
                return f"{folder}: {report.read_text()}"
        time.sleep(0.1)
    pytest.fail(f"{name} was not taken in")


def last_code(resp: httpx.Response) -> str:
    code: str = resp.json()["submission"]["report"]["diagnostics"][-1]["code"]
    return code


def current_version(node: Node, pid: str) -> str:
    version: str = node.dataset(pid)["data_version"]
    return version


def test_a_pi_cannot_take_an_ftp_dropped_dataset_until_staff_approve(node: Node) -> None:
    ftp_drop(node, "kco.txt", kco(9301, "2.1"))
    pid = str(found(node.url, "9301")["public_id"])

    takeover = node.upload("pi-a", "kco.txt", kco(9301, "3.0"))
    assert takeover.status_code == 422, takeover.text
    assert last_code(takeover) == "SUB010"
    report = takeover.json()["submission"]["report_text"]
    assert f"claim it first (POST datasets/{pid}/claim" in report
    assert current_version(node, pid) == "2.1"

    assert node.claim("pi-a", pid).status_code == 200
    waiting = node.upload("pi-a", "kco.txt", kco(9301, "3.0"))
    assert waiting.status_code == 422 and last_code(waiting) == "SUB010"
    assert (
        "your claim on it waits for staff approval" in waiting.json()["submission"]["report_text"]
    )
    assert node.claim("pi-b", pid).status_code == 200  # a rival claim, never approved

    assert node.approve("pi-a", pid, "pi-a").status_code == 403  # a PI cannot approve
    assert node.claim("keeper", pid).status_code == 403  # staff approve, they do not claim
    assert node.approve("keeper", pid, "nobody").status_code == 404
    approved = node.approve("keeper", pid, "pi-a")
    assert approved.status_code == 200, approved.text
    assert approved.json() == {"public_id": pid, "claimant": "pi-a", "approved": True}
    assert node.approve("keeper", pid, "pi-b").status_code == 409  # it has an owner now

    accepted = node.upload("pi-a", "kco.txt", kco(9301, "3.0"))
    assert accepted.status_code == 201, accepted.text
    assert current_version(node, pid) == "3.0"
    rival = node.upload("pi-b", "kco.txt", kco(9301, "4.0"))
    assert rival.status_code == 422 and last_code(rival) == "SUB001"
    assert node.claim("pi-b", pid).status_code == 409
    assert "SUB001" in watched(node, "kco-drop.txt", kco(9301, "5.0"))  # the drop cannot either
    assert current_version(node, pid) == "3.0"

    events = {e["action"]: e for e in node.audit(pid)}
    requested, approval = events["claim-requested"], events["claim-approved"]
    assert requested["actor"] in ("pi-a", "pi-b") and requested["reason"]
    assert approval["actor"] == "keeper"
    assert approval["before"] == {"owner": None}
    assert approval["after"]["owner"] == "pi-a"
    assert approval["reason"] == "checked with the campaign office"
    claimants = [
        e["after"]["claimant"] for e in node.audit(pid) if e["action"] == "claim-requested"
    ]
    assert sorted(claimants) == ["pi-a", "pi-b"]  # refused claims leave no event


def test_staff_update_an_ownerless_dataset_without_owning_it(node: Node) -> None:
    assert watched(node, "kco-9302.txt", kco(9302, "1")).startswith("done")
    pid = str(found(node.url, "9302")["public_id"])
    staff = node.upload("keeper", "kco.txt", kco(9302, "2"))
    assert staff.status_code == 201, staff.text
    assert current_version(node, pid) == "2"
    refused = node.upload("pi-b", "kco.txt", kco(9302, "3"))  # still ownerless: still refused
    assert refused.status_code == 422 and last_code(refused) == "SUB010"


def test_a_pi_still_owns_the_dids_they_send_first(node: Node) -> None:
    first = node.upload("pi-b", "kco.txt", kco(9303, "1"))
    assert first.status_code == 201, first.text
    second = node.upload("pi-b", "kco.txt", kco(9303, "2"))
    assert second.status_code == 201, second.text
    pid = str(found(node.url, "9303")["public_id"])
    assert node.claim("pi-b", pid).status_code == 409
    assert node.upload("pi-a", "kco.txt", kco(9303, "3")).status_code == 422
