"""Applying a peer's registry entries: a place and an instrument with its parts, in either
order in a page; newer versions only; tombstones remove with the parts; a malformed entry is
a protocol error (SQLite, and PostgreSQL when configured)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog.federation_models import MirrorTombstone
from catalog.registry_models import Calibration, Deployment, Instrument, Place, QcConfig
from federation.apply import apply_page
from federation.errors import PeerProtocolError
from federation.feed import parse_feed_page
from tests.catalog.conftest import NOW
from tests.federation.test_apply import peered  # noqa: F401 - fixture

PLACE = {"public_id": "lmd-place-1", "kind": "station", "name": "Trappes", "latitude": 48.77,
         "longitude": 2.01, "altitude": 168.0, "description": "",
         "created_at": "2026-01-01T00:00:00+00:00"}  # fmt: skip
pytestmark = pytest.mark.usefixtures("peered")  # JOSS (local) peers with NPL


def instrument(version: int = 1, **extra: Any) -> dict[str, Any]:
    """An instrument as `catalog.registry_records.instrument_payload` writes it."""
    base = {
        "public_id": "lmd-inst-1", "name": "Ozone sonde", "kind": "ECC", "description": "",
        "created_at": "2026-01-01T00:00:00+00:00",
        "components": [{"name": "pump", "serial": "Z-1"}],
        "calibrations": [{"valid_from": "1999-01-01T00:00:00+00:00", "valid_to": None,
                          "parameters": {"slope": 1.0}, "certificate_name": "c.pdf",
                          "certificate_sha256": "cd" * 32}],
        "deployments": [{"place": "lmd-place-1", "start": "1999-01-01T00:00:00+00:00",
                         "stop": None}],
        "qc_configs": [{"variable": "o3", "version": 1, "tests": {"gross_range": {}},
                        "created_at": "2026-01-01T00:00:00+00:00"}],
        "_version": version,
    }  # fmt: skip
    base.update(extra)
    return base


def page(*entries: tuple[str, dict[str, Any], int], since: int = 0, kind: str = "upsert") -> Any:
    """A parsed page from peer NPL of LMD's registry entries: (record type, payload, version)."""
    changes = [
        {"seq": since + i + 1, "public_id": p["public_id"], "origin_center": "LMD",
         "origin_version": version, "kind": kind, "record_type": record_type,
         "payload": {k: v for k, v in p.items() if k != "_version"}}
        for i, (record_type, p, version) in enumerate(entries)
    ]  # fmt: skip
    centers = {"LMD": {"name": "LMD Paris", "url": "http://lmd.test"}}
    data = {"center": "NPL", "last_seq": since + len(entries), "changes": changes,
            "centers": centers}  # fmt: skip
    return parse_feed_page(data, since)


def apply(db: Session, parsed: Any, since: int = 0) -> Any:
    result = apply_page(db, local_code="JOSS", peer_code="NPL", since=since, page=parsed, now=NOW)
    db.flush()
    return result


def held(db: Session) -> Instrument | None:
    db.expire_all()
    return db.scalars(select(Instrument).where(Instrument.public_id == "lmd-inst-1")).first()


def test_an_instrument_and_its_place_apply_in_either_order(db: Session) -> None:
    # the instrument comes first in the page, its place after: places are written first
    result = apply(db, page(("instrument", instrument(), 3), ("place", PLACE, 1)))
    assert result.applied == 2
    got = held(db)
    assert got is not None and (got.center_code, got.origin_version) == ("LMD", 3)
    (deployment,) = db.scalars(select(Deployment).where(Deployment.instrument_id == got.id))
    place = db.get_one(Place, deployment.place_id)
    assert (place.public_id, place.center_code, place.name) == ("lmd-place-1", "LMD", "Trappes")
    (cal,) = db.scalars(select(Calibration).where(Calibration.instrument_id == got.id))
    assert cal.certificate_sha256 == "cd" * 32 and cal.parameters == {"slope": 1.0}
    (qc,) = db.scalars(select(QcConfig).where(QcConfig.instrument_id == got.id))
    assert (qc.variable_key, qc.version) == ("o3", 1)

    # an older version is skipped; a newer one replaces the parts
    assert apply(db, page(("instrument", instrument(), 2), since=2), since=2).skipped == 1
    newer = instrument(calibrations=[], components=[{"name": "pump", "serial": "Z-2"}])
    assert apply(db, page(("instrument", newer, 4), since=3), since=3).applied == 1
    got = held(db)
    assert got is not None and got.origin_version == 4
    assert db.scalars(select(Calibration).where(Calibration.instrument_id == got.id)).all() == []

    # a tombstone removes it with its parts and keeps a mirror tombstone
    stone = {"public_id": "lmd-inst-1", "origin_center": "LMD", "origin_version": 5}
    apply(db, page(("instrument", stone, 5), since=4, kind="tombstone"), since=4)
    assert held(db) is None and db.get(MirrorTombstone, "lmd-inst-1") is not None
    assert db.scalars(select(Deployment)).all() == []


@pytest.mark.parametrize(
    "bad",
    [
        {"name": ""},
        {"calibrations": [{"valid_from": "1999-01-01T00:00:00+00:00", "certificate_name": "",
                           "certificate_sha256": "x"}]},
        {"qc_configs": [{"variable": "o3", "version": True, "tests": {}, "created_at": None}]},
        {"deployments": "everywhere"},
    ],
)  # fmt: skip
def test_a_malformed_instrument_is_a_protocol_error(db: Session, bad: dict[str, Any]) -> None:
    with pytest.raises(PeerProtocolError):
        apply(db, page(("instrument", instrument(**bad), 1)))


def test_a_place_of_an_unknown_kind_is_a_protocol_error(db: Session) -> None:
    with pytest.raises(PeerProtocolError):
        apply(db, page(("place", {**PLACE, "kind": "planet"}, 1)))
