"""Two real nodes: `fieldcat peers verify` compares the registry's places and instruments
too. Once a station and an instrument (with a calibration and a deployment) have travelled,
both sides agree; a mirror that missed an instrument's change, or lost a place, is
reported with the record's type, and the command exits 1."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import delete, select, update

from catalog.db import make_session_factory
from catalog.registry_models import Calibration, Instrument, Place
from tests.archive_center.fieldcat_process import fieldcat
from tests.federation.cluster import Node, build_cluster, close_all, mesh, start_all
from tests.federation.test_field_records_run import staff_token
from tests.federation.test_registry_records_run import CALIBRATION, PICARRO, STATION, held, post
from tests.polling import eventually

CODES = ("JOSS", "NPL")


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Node]]:
    nodes = build_cluster(tmp_path_factory.mktemp("verify"), mesh(CODES), codes=CODES)
    try:
        start_all(nodes)
        yield nodes
    finally:
        close_all(nodes)


def verify(node: Node, peer: str) -> tuple[int, dict[str, Any]]:
    done = fieldcat("peers", "verify", peer, "--json", "--config", str(node.config))
    assert done.returncode in (0, 1), done.stdout + done.stderr
    return done.returncode, json.loads(done.stdout)


def test_verify_reports_a_mirror_that_missed_a_registry_change(pair: dict[str, Node]) -> None:
    joss, npl = pair["JOSS"], pair["NPL"]
    staff = staff_token(joss, "staff-verify")
    station = post(joss, "/places", STATION, staff).json()
    lone = post(joss, "/places", STATION | {"name": "Hulule", "kind": "platform"}, staff).json()
    made = post(joss, "/instruments", PICARRO, staff).json()
    iid, pid = made["id"], made["public_id"]
    assert post(joss, f"/instruments/{iid}/calibrations", CALIBRATION, staff).status_code == 201
    deploy = {"place_id": station["id"], "start": "1999-01-01T00:00:00Z"}
    assert post(joss, f"/instruments/{iid}/deployments", deploy, staff).status_code == 201
    eventually(lambda: held(npl, pid, 3), timeout=30)
    eventually(lambda: any(p["public_id"] == lone["public_id"]
                           for p in npl.get("/platforms").json()), timeout=30)  # fmt: skip

    code, agreed = verify(npl, "JOSS")
    assert code == 0, agreed
    assert agreed["compared"] == 3  # two places and an instrument, the same on both sides

    with make_session_factory(npl.engine)() as session, session.begin():  # NPL lost a calibration
        mirrored = session.scalars(select(Instrument.id).where(Instrument.public_id == pid)).one()
        session.execute(delete(Calibration).where(Calibration.instrument_id == mirrored))
        session.execute(
            update(Instrument).where(Instrument.id == mirrored).values(origin_version=2)
        )
        session.execute(delete(Place).where(Place.public_id == lone["public_id"]))
    code, report = verify(npl, "JOSS")
    assert code == 1
    (differ,) = report["differ"]
    assert differ["public_id"] == pid
    assert differ["here"]["record_type"] == differ["there"]["record_type"] == "instrument"
    assert (differ["here"]["origin_version"], differ["there"]["origin_version"]) == (2, 3)
    assert report["missing_here"] == [lone["public_id"]]
    plain = fieldcat("peers", "verify", "JOSS", "--config", str(npl.config))
    assert plain.returncode == 1
    assert f"differs: instrument {pid} here v2 there v3" in plain.stdout
    assert f"missing here: place {lone['public_id']}" in plain.stdout
