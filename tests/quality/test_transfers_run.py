"""Two real processes: a FieldCat node (`fieldcat serve`, its worker running jobs) and a
transfer source speaking the listing protocol with token auth. New files appear at the node
at the job's next run; a wrong token is refused; a source that dies mid-file resumes; a file
changed at the source becomes a new version."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from archive_center.cli_base import prepare
from catalog.db import make_engine, make_session_factory
from catalog.job_models import JobDefinition
from catalog.schemas import Role
from catalog.users import create_user, issue_api_token
from tests.archive_center.fieldcat_process import free_ports, start_fieldcat, stop, wait_ready
from tests.conftest import SAMPLES
from tests.polling import eventually
from web.settings import Settings

SECRET = "iagos pre-shared secret 0123456789"
HERE = Path(__file__).parent


def kco(did: int, version: str) -> bytes:
    out = []
    for line in (SAMPLES / "valid" / "kco_surface_hourly.txt").read_text().splitlines():
        if line.upper().startswith("DID"):
            line = f"DID = {did}"
        elif line.upper().startswith("DATA VERSION"):
            line = f"DATA VERSION = {version}"
        out.append(line)
    return ("\n".join(out) + "\n").encode()


@dataclass
class Setup:
    url: str
    source_url: str
    folder: Path
    root: Path
    tokens: dict[str, str]
    pi_id: int

    def headers(self, who: str = "keeper") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}

    def api(self, method: str, path: str, **kw: Any) -> httpx.Response:
        return httpx.request(method, f"{self.url}/api/v1{path}", headers=self.headers(), **kw)


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    root = tmp_path_factory.mktemp("transfers")
    folder = root / "source"
    folder.mkdir()
    prepare(Settings(root=root, center_code="JOSS", center_name="JOSS"))
    engine = make_engine(Settings(root=root).effective_database_url)
    tokens = {}
    with make_session_factory(engine)() as session, session.begin():
        now = datetime.now(UTC)
        for name, role in (("src-pi", Role.PI), ("keeper", Role.STAFF)):
            user = create_user(session, username=name, password="pw-pw-pw-pw", role=role, now=now)
            tokens[name] = issue_api_token(session, user, name="t", now=now)
            if name == "src-pi":
                pi_id = user.id
    engine.dispose()
    port = free_ports(2)
    source = subprocess.Popen(
        [sys.executable, str(HERE / "transfer_source.py"), str(port + 1), str(folder), SECRET],
        stdout=subprocess.DEVNULL, stderr=(root / "source.log").open("wb"),
    )  # fmt: skip
    log = root / "serve.log"
    node = start_fieldcat(
        "serve", log=log, FIELDCAT_ROOT=str(root), FIELDCAT_PORT=str(port),
        FIELDCAT_CENTER_CODE="JOSS", FIELDCAT_CENTER_NAME="JOSS",
        FIELDCAT_WORKER__POLL_S="0.2", FIELDCAT_WORKER__DERIVE_PROCESSES="1",
    )  # fmt: skip
    try:
        wait_ready(f"http://127.0.0.1:{port}/api/v1/readyz", node, log)
        yield Setup(
            f"http://127.0.0.1:{port}", f"http://127.0.0.1:{port + 1}", folder, root, tokens, pi_id
        )
    finally:
        stop(node, signal.SIGTERM)
        source.terminate()
        source.wait(timeout=10)


def add_source(setup: Setup, name: str, secret: str) -> int:
    body = {
        "name": name, "url": setup.source_url, "auth": "token", "secret": secret,
        "owner_user_id": setup.pi_id, "campaign": "INDOEX", "access": "open",
    }  # fmt: skip
    made = setup.api("POST", "/transfers", json=body)
    assert made.status_code == 201, made.text
    job = {"name": f"pull {name}", "kind": "pull-transfer", "period": "hourly",
           "params": {"source_id": made.json()["id"]}}  # fmt: skip
    defined = setup.api("POST", "/jobs", json=job)
    assert defined.status_code == 201, defined.text
    return int(defined.json()["id"])


def due_now(setup: Setup, job_id: int) -> None:
    """The job's period has passed: its next run is due now."""
    engine = make_engine(Settings(root=setup.root).effective_database_url)
    with make_session_factory(engine)() as session, session.begin():
        session.execute(
            update(JobDefinition).where(JobDefinition.id == job_id)
            .values(next_due=datetime.now(UTC))
        )  # fmt: skip
    engine.dispose()


def dataset_of(setup: Setup, did: int) -> dict[str, Any] | None:
    items = httpx.get(f"{setup.url}/api/v1/datasets", params={"q": str(did)}).json()["items"]
    return next((i for i in items if i["did"] == str(did)), None)


def job_runs(setup: Setup, job_id: int) -> list[dict[str, Any]]:
    jobs = setup.api("GET", "/jobs").json()
    return list(next(j for j in jobs if j["id"] == job_id)["runs"])


def test_pulls_resume_refuse_and_version(setup: Setup) -> None:
    (setup.folder / "01.txt").write_bytes(kco(9501, "1"))
    (setup.folder / "02.txt").write_bytes(kco(9502, "1"))
    job = add_source(setup, "iagos", SECRET)
    first = eventually(lambda: dataset_of(setup, 9501) and dataset_of(setup, 9502), timeout=30)
    assert first
    # The cursor moves once the pipeline has answered for a file, a moment after it is listed.
    (source,) = eventually(
        lambda: [s for s in setup.api("GET", "/transfers").json() if s["cursor"] == "02.txt"],
        timeout=10,
    )
    assert source["last_error"] == ""
    assert "secret" not in source
    mine = httpx.get(f"{setup.url}/api/v1/submissions", headers=setup.headers("src-pi")).json()
    assert {s["original_name"] for s in mine["items"]} >= {"01.txt", "02.txt"}

    # The source dies mid-file on 03.txt: the attempt fails, the retry takes it (and 04.txt).
    (setup.folder / "03.txt").write_bytes(kco(9503, "1"))
    (setup.folder / ".cut-03.txt").write_bytes(b"")
    (setup.folder / "04.txt").write_bytes(kco(9504, "1"))
    (setup.folder / "05.txt").write_bytes(kco(9501, "2"))  # 01.txt changed at the source
    began = time.monotonic()
    due_now(setup, job)
    eventually(lambda: dataset_of(setup, 9504), timeout=30)
    assert time.monotonic() - began < 15
    eventually(lambda: job_runs(setup, job)[0]["state"] != "running", timeout=30)
    runs = job_runs(setup, job)
    failed = [r for r in runs if r["state"] == "failed"]
    assert failed and "broke off" in failed[0]["error"], runs
    assert runs[0]["state"] == "succeeded" and runs[0]["attempt"] == 2
    assert dataset_of(setup, 9503) is not None
    versions = httpx.get(f"{setup.url}/api/v1/datasets/{dataset_of(setup, 9501)['public_id']}")
    assert [v["data_version"] for v in versions.json()["versions"]] == ["1", "2"]
    taken = httpx.get(f"{setup.url}/api/v1/submissions", headers=setup.headers("src-pi")).json()
    names = [s["original_name"] for s in taken["items"]]
    assert sorted(names) == ["01.txt", "02.txt", "03.txt", "04.txt", "05.txt"]  # no file twice


def test_a_wrong_token_is_refused(setup: Setup) -> None:
    job = add_source(setup, "wrong", "not the pre-shared secret!!")
    runs = eventually(lambda: [r for r in job_runs(setup, job) if r["state"] == "failed"])
    assert "401" in runs[0]["error"]
    wrong = next(s for s in setup.api("GET", "/transfers").json() if s["name"] == "wrong")
    assert wrong["cursor"] == "" and "401" in wrong["last_error"]
