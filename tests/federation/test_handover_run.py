"""Three real nodes: JOSS hands every record it originated over to NPL while each side is
killed with SIGKILL at random moments; re-running resumes, every byte arrives verified, nothing
is doubled, and JOSS and LMD redirect to NPL afterwards."""

from __future__ import annotations

import functools
import hashlib
import io
import os
import random
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from catalog.changes import append_change
from catalog.db import make_session_factory
from catalog.federation_models import Handover
from catalog.models import Dataset, DatasetVersion, DerivedFile
from catalog.registry_models import Calibration, DatasetDeployment, Deployment, Instrument, Place
from catalog.storage import ArchiveStore
from federation.client import PeerClient, PeerCredentials
from federation.handover_transfer import Connections, UnverifiedFileError, Wanted, fetch_bundle
from tests.archive_center.fieldcat_process import fieldcat
from tests.federation.cluster import (
    Node,
    _dataset,
    build_cluster,
    close_all,
    mesh,
    start_all,
)
from tests.federation.test_field_records_run import png_bytes, staff_token
from tests.federation.test_registry_records_run import PICARRO, STATION, post
from tests.polling import eventually
from web.links import FEDERATION_API

RECORDS = 30
SIZE = 200_000
BIG = 1_500_000
"""Two originals over `federation.handover.BUNDLE_FILE_MAX` come one to a request; the rest,
and the derived files and the certificate, in bundles."""
SIZES = [SIZE, BIG, BIG] + [SIZE] * (RECORDS - 3)
CERTIFICATE = b"%PDF-1.4\n% Picarro calibration 1999\n" + os.urandom(4000)


def publish_with_bytes(node: Node, sizes: list[int]) -> dict[str, str]:
    """Datasets at `node` whose originals are real files of these sizes in its archive:
    public id -> SHA-256."""
    store = ArchiveStore(node.root)
    made: dict[str, str] = {}
    now = datetime.now(UTC)
    with make_session_factory(node.engine)() as session, session.begin():
        for i, size in enumerate(sizes):
            with tempfile.NamedTemporaryFile(dir=node.root, delete=False) as out:
                out.write(os.urandom(size))
            sha256, _ = store.put_original(Path(out.name))
            Path(out.name).unlink(missing_ok=True)
            state = "private" if i == 0 else "open"  # a private one is handed over too
            dataset = _dataset(session, node, "handover", i, state, now)
            dataset.versions[0].sha256, dataset.versions[0].size = sha256, size
            append_change(session, dataset, "upsert", now)
            made[dataset.public_id] = sha256
    return made


def add_derived(node: Node, public_ids: list[str],
                damage_last: bool = True) -> dict[str, dict[str, bytes]]:  # fmt: skip
    """Derived files of these datasets' current versions at `node`, as its worker leaves them:
    a recorded NetCDF and quick look, an unrecorded second plot page. With `damage_last`, the
    last dataset's NetCDF is recorded with another SHA-256 than its bytes (damaged since): it
    cannot be verified at the receiver. Public id -> extension -> bytes."""
    store, now = ArchiveStore(node.root), datetime.now(UTC)
    made: dict[str, dict[str, bytes]] = {}
    with make_session_factory(node.engine)() as session, session.begin():
        for public_id in public_ids:
            dataset = session.scalars(select(Dataset).where(Dataset.public_id == public_id)).one()
            version = dataset.versions[0]
            files = {"nc": os.urandom(3000), "png": png_bytes(), "p2png": os.urandom(500)}
            for ext, content in files.items():
                path = store.derived_path(public_id, version.id, ext)
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(content)
                if ext in ("nc", "png"):
                    damaged = damage_last and public_id == public_ids[-1] and ext == "nc"
                    sha256 = hashlib.sha256(b"other" if damaged else content).hexdigest()
                    session.add(DerivedFile(
                        version_id=version.id, format="netcdf" if ext == "nc" else "png",
                        path=str(path.relative_to(node.root)), sha256=sha256,
                        size=len(content), created_at=now,
                    ))  # fmt: skip
            made[public_id] = files
    return made


def register(node: Node, staff: dict[str, str], linked: str) -> dict[str, Any]:
    """At `node`: a station, an instrument deployed there with a calibration and its
    certificate file, and the dataset `linked` linked to the deployment (by its PI, as the
    registry's link route leaves it). The ids at `node`."""
    station = post(node, "/places", STATION, staff)
    made = post(node, "/instruments", PICARRO, staff)
    assert station.status_code == made.status_code == 201, station.text + made.text
    iid = made.json()["id"]
    cal = post(node, f"/instruments/{iid}/calibrations", {"valid_from": "1999-01-01T00:00:00Z",
               "parameters": {"slope": 1.002}}, staff)  # fmt: skip
    assert cal.status_code == 201, cal.text
    cal_id = cal.json()["calibrations"][0]["id"]
    put = httpx.put(f"{node.url}/api/v1/calibrations/{cal_id}/certificate",
                    params={"name": "picarro-1999.pdf"}, content=CERTIFICATE, headers=staff,
                    timeout=30)  # fmt: skip
    assert put.status_code == 200, put.text
    deploy = {"place_id": station.json()["id"], "start": "1999-01-01T00:00:00Z"}
    deployed = post(node, f"/instruments/{iid}/deployments", deploy, staff)
    assert deployed.status_code == 201 and deployed.json()["origin_version"] == 4, deployed.text
    with make_session_factory(node.engine)() as session, session.begin():
        dataset = session.scalars(select(Dataset.id).where(Dataset.public_id == linked)).one()
        (deployment,) = session.scalars(select(Deployment.id)).all()
        session.add(DatasetDeployment(dataset_id=dataset, deployment_id=deployment,
                                      chosen_by="pi-handover"))  # fmt: skip
    return {"instrument": made.json()["public_id"], "station": station.json()["public_id"]}


def instrument_at(node: Node, public_id: str) -> dict[str, Any] | None:
    return {i["public_id"]: i for i in node.get("/instruments").json()}.get(public_id)


def check_registry_moved(joss: Node, npl: Node, lmd: Node, registry: dict[str, str],
                         linked: str) -> None:  # fmt: skip
    """The instrument, its calibration's certificate, its deployment and the station are
    NPL's own, once; the dataset's link points at NPL's deployment; LMD and JOSS mirror
    them from NPL, and their certificate URLs redirect to NPL's copy."""
    pid, sha = registry["instrument"], hashlib.sha256(CERTIFICATE).hexdigest()
    owned = eventually(lambda: (i := instrument_at(npl, pid)) and i["center"] == "NPL" and i,
                       timeout=30)  # fmt: skip
    assert not owned["is_mirror"] and owned["origin_version"] == 5
    assert owned["components"] == PICARRO["components"]
    (cal,) = owned["calibrations"]
    assert cal["certificate_sha256"] == sha and cal["parameters"] == {"slope": 1.002}
    (dep,) = owned["deployments"]
    assert dep["place"] == STATION["name"]
    assert ArchiveStore(npl.root).original_path(sha).read_bytes() == CERTIFICATE
    at_npl = httpx.get(f"{npl.url}/api/v1/calibrations/{cal['id']}/certificate", timeout=30)
    assert at_npl.status_code == 200 and at_npl.content == CERTIFICATE
    with make_session_factory(npl.engine)() as session:
        for model, public_id in ((Instrument, pid), (Place, registry["station"])):
            (row,) = session.scalars(select(model).where(model.public_id == public_id)).all()
            assert row.center_code == "NPL", model  # held once, as its own
        assert session.scalar(select(func.count(Calibration.id))) == 1
        link = session.scalars(
            select(DatasetDeployment).join(Dataset).where(Dataset.public_id == linked)
        ).one()  # fmt: skip
        deployment = session.get_one(Deployment, link.deployment_id)
        instrument = session.get_one(Instrument, deployment.instrument_id)
        assert instrument.public_id == pid and link.chosen_by == "pi-handover"
    for node in (lmd, joss):
        copy = eventually(
            lambda n=node: (i := instrument_at(n, pid)) and i["center"] == "NPL"
            and i["origin_version"] == 5 and i, timeout=30,
        )  # fmt: skip
        assert copy["is_mirror"]
        station = {s["public_id"]: s for s in node.get("/stations").json()}[registry["station"]]
        assert station["center"] == "NPL" and station["latitude"] == STATION["latitude"]
        url = f"{node.url}/api/v1/calibrations/{copy['calibrations'][0]['id']}/certificate"
        moved = httpx.get(url, timeout=30)
        assert moved.status_code == 307, (node.code, moved.status_code)
        assert moved.headers["location"] == f"{npl.url}/api/v1/calibrations/{cal['id']}/certificate"
        assert httpx.get(url, follow_redirects=True, timeout=30).content == CERTIFICATE
    refused = post(joss, f"/instruments/{owned['id']}/calibrations", {"valid_from":
                   "2000-01-01T00:00:00Z"}, staff_token(joss, "staff-after"))  # fmt: skip
    assert refused.status_code in (404, 409)  # JOSS no longer edits it


def state_at(node: Node, source: str, target: str) -> str | None:
    with make_session_factory(node.engine)() as session:
        job = session.scalars(
            select(Handover).where(Handover.from_center == source, Handover.to_center == target)
        ).first()
        return None if job is None else job.state


@pytest.fixture(scope="module")
def trio(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Node]]:
    nodes = build_cluster(tmp_path_factory.mktemp("handover"), mesh(),
                          accept_handover_from=["JOSS"])  # fmt: skip
    try:
        start_all(nodes)
        yield nodes
    finally:
        close_all(nodes)


@dataclass(frozen=True)
class HandedOver:
    """What JOSS held before its hand-over to NPL (the ids at JOSS)."""

    originals: dict[str, str]
    derived: dict[str, dict[str, bytes]]
    shared: list[str]
    report: dict[str, Any]
    expected: dict[str, Any]
    registry: dict[str, Any]

    @property
    def damaged(self) -> str:
        """The dataset whose NetCDF no longer matches its record (`add_derived`)."""
        return list(self.derived)[-1]


@pytest.fixture(scope="module")
def handed_over(trio: dict[str, Node]) -> HandedOver:
    """JOSS's records handed over to NPL while each side was killed with SIGKILL at a random
    moment, then the hand-over run again to its end (each test of the file starts from it)."""
    joss, npl, lmd = trio["JOSS"], trio["NPL"], trio["LMD"]
    originals = publish_with_bytes(joss, SIZES)
    derived = add_derived(joss, list(originals)[:4])
    staff = staff_token(joss, "staff-handover")
    files = {"file": ("c130.9903070400.track.png", io.BytesIO(png_bytes()), "image/png")}
    assert httpx.post(joss.url + "/api/v1/submissions", files=files, headers=staff).is_success
    daily = {"kind": "daily", "report_date": "1999-03-09", "title": "handed over day"}
    report = httpx.post(joss.url + "/api/v1/reports", json=daily, headers=staff).json()
    wanted = {"pi_name": "Ramanathan", "did": "handover-1"}
    expected = httpx.post(joss.url + "/api/v1/expected", json=wanted, headers=staff).json()
    shared = [p for p in originals if p != next(iter(originals))]
    registry = register(joss, staff, shared[1])
    for node in (npl, lmd):  # the mirrors hold JOSS's shared records first
        eventually(lambda n=node: set(shared) <= n.search_ids() or None, timeout=30)
        eventually(lambda n=node: (i := instrument_at(n, registry["instrument"]))
                   and i["origin_version"] == 4, timeout=30)  # fmt: skip

    started = fieldcat("handover", "--to", "npl", "--config", str(joss.config))
    assert started.returncode == 0, started.stdout + started.stderr
    rng = random.Random(os.environ.get("PYTEST_SEED", "16"))
    time.sleep(rng.uniform(0.0, 0.4))
    npl.kill()  # the receiving side, at a random moment
    npl.start()
    time.sleep(rng.uniform(0.0, 0.4))
    joss.kill()  # the closing side, at a random moment
    joss.start()
    done = fieldcat("handover", "--to", "NPL", "--wait", "90", "--config", str(joss.config))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "done:" in done.stdout
    eventually(lambda: state_at(npl, "JOSS", "NPL") == "done", timeout=30)
    return HandedOver(originals, derived, shared, report, expected, registry)


def test_handover_survives_kill_9_on_each_side(trio: dict[str, Node],
                                               handed_over: HandedOver) -> None:  # fmt: skip
    joss, npl, lmd = trio["JOSS"], trio["NPL"], trio["LMD"]
    originals, derived, damaged = handed_over.originals, handed_over.derived, handed_over.damaged
    shared, report, expected = handed_over.shared, handed_over.report, handed_over.expected
    npl_store = ArchiveStore(npl.root)
    with make_session_factory(npl.engine)() as session:
        for (public_id, sha256), size in zip(originals.items(), SIZES, strict=True):
            rows = session.scalars(select(Dataset).where(Dataset.public_id == public_id)).all()
            assert len(rows) == 1 and rows[0].origin_center == "NPL", public_id  # not doubled
            versions = session.scalar(
                select(func.count(DatasetVersion.id)).where(DatasetVersion.dataset_id == rows[0].id)
            )
            assert versions == 1
            data = npl_store.original_path(sha256).read_bytes()
            assert hashlib.sha256(data).hexdigest() == sha256 and len(data) == size
    assert not list((npl.root / "staging").glob("*.part"))  # no half-pulled file left
    assert not (npl.root / "staging" / "handover-JOSS").exists()  # nothing left waiting

    with make_session_factory(npl.engine)() as session:  # derived files: moved, not made
        for public_id, files in derived.items():
            version = session.scalars(
                select(DatasetVersion).join(Dataset).where(Dataset.public_id == public_id)
            ).one()
            recorded = {d.format: d for d in version.derived_files}
            for ext, content in files.items():
                path = npl_store.derived_path(public_id, version.id, ext)
                if public_id == damaged and ext == "nc":
                    assert "netcdf" not in recorded and not path.exists()
                    continue
                assert path.read_bytes() == content, (public_id, ext)
            assert recorded["png"].sha256 == hashlib.sha256(files["png"]).hexdigest()
            if public_id != damaged:
                assert recorded["netcdf"].size == len(files["nc"])
        rebuilt = session.scalars(
            select(DatasetVersion.id).join(Dataset).where(Dataset.public_id == damaged)
        ).one()
    # The log says the damaged one is made again here (the import's warning, or, when NPL was
    # restarted after that import, its worker trying to make it from the original).
    said = (f"derived file {damaged}/", f"could not derive netcdf for version {rebuilt}:")
    eventually(lambda: any(line in npl.log.read_text() for line in said), timeout=60)

    one = shared[0]
    for node in (lmd, joss):  # the other center and the closed one both point at NPL
        detail = eventually(
            lambda n=node: (r := n.get(f"/datasets/{one}")).status_code == 200
            and r.json()["origin_center"] == "NPL" and r.json(), timeout=30
        )  # fmt: skip
        assert detail["is_mirror"]
        data = node.get(f"/datasets/{one}/data")
        assert data.status_code == 307 and data.headers["location"].startswith(npl.url)
    followed = httpx.get(lmd.url + f"/api/v1/datasets/{one}/data", follow_redirects=True)
    assert hashlib.sha256(followed.content).hexdigest() == originals[one]
    products = {p["filename"]: p for p in lmd.get("/products").json()["items"]}
    product = eventually(
        lambda: (p := {x["filename"]: x for x in lmd.get("/products").json()["items"]}.get(
            "c130.9903070400.track.png")) and p["center"] == "NPL" and p, timeout=30
    )  # fmt: skip
    del products
    image = httpx.get(lmd.url + product["links"]["file"], follow_redirects=True)
    assert image.content == png_bytes() and str(image.url).startswith(npl.url)
    sha = hashlib.sha256(png_bytes()).hexdigest()  # the thumbnail came too, not made again
    thumb = ArchiveStore(joss.root).derived_path("products", sha, "png").read_bytes()
    at_npl = {x["filename"]: x for x in npl.get("/products").json()["items"]}
    shown = httpx.get(npl.url + at_npl["c130.9903070400.track.png"]["links"]["thumbnail"])
    assert shown.status_code == 200 and shown.content == thumb
    eventually(
        lambda: any(r["public_id"] == report["public_id"] and r["center"] == "NPL"
                    for r in lmd.get("/reports").json()["items"]), timeout=30,
    )  # fmt: skip
    judged = eventually(
        lambda: [e for e in lmd.get("/expected").json()["items"]
                 if e["id"] == expected["id"] and e["center"] == "NPL"], timeout=30,
    )  # fmt: skip
    assert judged[0]["standing"] == "received"  # handover-1 is one of the handed-over DIDs
    check_registry_moved(joss, npl, lmd, handed_over.registry, shared[1])


def test_the_closed_center_serves_no_file_after_the_hand_over(
    trio: dict[str, Node], handed_over: HandedOver
) -> None:
    """A bundle asked of JOSS once its records are NPL's: every file answers as not served
    (all ones for its length), whatever NPL asks (an original, the calibration's certificate,
    a derived file), and nothing is put in place."""
    joss, npl = trio["JOSS"], trio["NPL"]
    assert state_at(npl, "JOSS", "NPL") == "done"
    url, key_id, secret = npl.peers["JOSS"]
    creds = PeerCredentials("NPL", "JOSS", url, key_id, secret, FEDERATION_API)
    store = ArchiveStore(npl.root)
    with make_session_factory(joss.engine)() as session:
        version = session.scalars(select(DatasetVersion).where(DatasetVersion.size == BIG)).first()
        certificate = session.scalars(select(Calibration.certificate_sha256)).one()
        assert version is not None and certificate == hashlib.sha256(CERTIFICATE).hexdigest()
        asked = [
            Wanted(version.sha256, BIG, store.original_path(version.sha256)),
            Wanted(certificate, len(CERTIFICATE), store.original_path(certificate)),
            Wanted("0" * 64, 3, store.staging_dir / "x", "products/" + "0" * 64 + ".png"),
        ]
    client = PeerClient(httpx.AsyncClient(), creds)
    connections = Connections(10.0)
    try:
        request = functools.partial(client.handover_bundle_request,
                                    [(w.sha256, w.name) for w in asked])  # fmt: skip
        outcomes = fetch_bundle(request, asked, store, connections)
        again = fetch_bundle(request, asked, store, connections)  # on the kept-alive connection
    finally:
        connections.close()
    for outcome in outcomes + again:
        assert isinstance(outcome, UnverifiedFileError) and "not served" in str(outcome)
    assert not (store.staging_dir / "x").exists()
