"""A trajectory's track is stored at registration and served only to who may read the data."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

import formats
from catalog.errors import NotFoundError, PermissionDeniedError
from catalog.registration import register_datafile
from catalog.schemas import Principal
from catalog.track_views import track_feature
from formats.timeparse import CampaignTime
from tests.catalog.conftest import NOW

SAMPLES = Path(__file__).resolve().parents[1] / "fixtures" / "samples" / "valid"
ANON = Principal.anonymous()


def register(db: Session, name: str, sha: str, **kw: object):
    path = SAMPLES / name
    datafile = formats.read(path, campaign=CampaignTime(year=1999), filename=name)
    return register_datafile(
        db, datafile=datafile, sha256=sha, size=path.stat().st_size, original_name=name,
        center_code="JOSS", campaign_code="INDOEX", now=NOW, **kw,
    )  # fmt: skip


def test_a_flight_gets_its_simplified_track_and_a_station_none(db: Session) -> None:
    flight = register(db, "c130_rf07_track.txt", "1" * 64)
    station = register(db, "kco_surface_hourly.txt", "2" * 64)
    db.commit()
    feature, public = track_feature(db, flight.public_id, ANON, NOW)
    assert public and feature["type"] == "Feature"
    geometry = feature["geometry"]
    assert geometry["type"] == "LineString"
    lons = [p[0] for p in geometry["coordinates"]]
    lats = [p[1] for p in geometry["coordinates"]]
    assert min(lats) >= flight.south and max(lats) <= flight.north
    assert min(lons) >= flight.west and max(lons) <= flight.east
    assert geometry["coordinates"][0] == [73.5311, 4.194]  # the first fix, kept
    assert 2 <= feature["properties"]["points"] <= feature["properties"]["source_points"]
    assert track_feature(db, station.public_id, ANON, NOW)[0]["geometry"] is None


def test_a_track_follows_the_data_policy(db: Session) -> None:
    later = NOW + timedelta(days=30)
    embargoed = register(
        db, "c130_rf07_track.txt", "3" * 64, access_state="embargoed", release_at=later
    )
    hidden = register(db, "sagar_kanya_sounding.txt", "4" * 64, access_state="private")
    db.commit()
    with pytest.raises(PermissionDeniedError):
        track_feature(db, embargoed.public_id, ANON, NOW)
    with pytest.raises(NotFoundError):
        track_feature(db, hidden.public_id, ANON, NOW)
