"""Navigation merge on the seed's External Sampler file (LOCATION mobile, no LAT/LON) and a
1 Hz C-130 navigation file with a 150 s GPS outage, through the real intake pipeline and
the worker's merge step, on SQLite and PostgreSQL."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from catalog.cids_models import NavigationMerge
from catalog.downloads import DownloadRequest, prepare_download
from catalog.errors import InvalidQueryError, PermissionDeniedError
from catalog.models import Dataset, DatasetTrack
from catalog.navigation import (
    candidates,
    declare_navigation,
    lacks_positions,
    position_enricher,
    refresh_merges,
)
from catalog.schemas import Principal, Role, SearchParams
from catalog.search import search_datasets
from catalog.storage import ArchiveStore
from submissions.acceptance import SubmitOptions
from tests.conftest import SAMPLES
from tests.submissions.conftest import NOW, OTHER, OWNER, STAFF, Submit

SAMPLER = SAMPLES / "valid" / "c130_external_sampler.txt"
NAVIGATION = SAMPLES / "valid" / "c130_navigation_1hz.txt"
MAX_GAP_S = 10.0
ANONYMOUS = Principal.anonymous()
OUTAGE = (datetime(1999, 2, 21, 13, 44, tzinfo=UTC), datetime(1999, 2, 21, 13, 46, 30, tzinfo=UTC))


def _by_did(session: Session, did: str) -> Dataset:
    session.expire_all()
    return session.scalars(select(Dataset).where(Dataset.did == did)).one()


def _merge(factory: sessionmaker[Session], store: ArchiveStore) -> int:
    return refresh_merges(factory, store, NOW, MAX_GAP_S)


def _declare(db: Session) -> None:
    declare_navigation(db, STAFF, "C130", NOW, instrument="C-130 navigation (INS/GPS)")
    db.commit()


def _download(
    db: Session, store: ArchiveStore, dataset: Dataset, who: Principal, **kw: object
) -> pd.DataFrame:
    request = DownloadRequest(format="csv", **kw)  # type: ignore[arg-type]
    enrich = position_enricher(db, store, who, NOW)
    download = prepare_download(db, store, dataset.public_id, who, NOW, request, enrich)
    text = b"".join(download.chunks).decode()
    return pd.read_csv(io.StringIO(text), comment="#")


def _expected_positions() -> pd.DataFrame:
    """Independently: the navigation file read by pandas, linear in time, no position where
    the bracketing samples are more than MAX_GAP_S apart."""
    nav = pd.read_csv(NAVIGATION, sep=" ", skiprows=14, names=["t", "LAT", "LON", "ALT"])
    epoch = pd.Timestamp("1970-01-01")
    nav_time = pd.to_datetime(nav["t"].astype(str), format="%Y%m%d%H%M%S")
    nav_t = (nav_time - epoch).dt.total_seconds()
    sampler_t = pd.date_range("1999-02-21 13:35:00", "1999-02-21 13:54:50", freq="10s")
    t = (sampler_t - epoch).total_seconds().to_numpy()
    result = pd.DataFrame({"t": sampler_t})
    for name in ("LAT", "LON"):
        result[name] = np.interp(t, nav_t, nav[name])
    after = np.searchsorted(nav_t, t, side="left")
    exact = nav_t.to_numpy()[np.minimum(after, len(nav_t) - 1)] == t
    span = nav_t.to_numpy()[np.minimum(after, len(nav_t) - 1)] - nav_t.to_numpy()[after - 1]
    result.loc[~exact & (span > MAX_GAP_S), ["LAT", "LON"]] = np.nan
    return result


@pytest.mark.parametrize("navigation_first", [False, True], ids=["sampler-first", "nav-first"])
def test_the_sampler_gets_positions_extent_track_search_and_subset(
    db: Session,
    session_factory: sessionmaker[Session],
    store: ArchiveStore,
    submit: Submit,
    navigation_first: bool,
) -> None:
    _declare(db)
    order = [NAVIGATION, SAMPLER] if navigation_first else [SAMPLER, NAVIGATION]
    assert submit(order[0]).state == "registered"
    _merge(session_factory, store)
    assert submit(order[1]).state == "registered"
    assert _merge(session_factory, store) >= 1
    sampler = _by_did(db, "100")
    expected = _expected_positions()
    # Extent: the box of the merged positions (the outage rows have none).
    assert sampler.south == pytest.approx(expected["LAT"].min())
    assert sampler.north == pytest.approx(expected["LAT"].max())
    assert sampler.west == pytest.approx(expected["LON"].min())
    assert sampler.east == pytest.approx(expected["LON"].max())
    # Provenance and the stated gap.
    merge = db.get_one(NavigationMerge, sampler.id)
    nav = _by_did(db, "300")
    assert (merge.status, merge.nav_dataset_id, merge.nav_data_version) == ("merged", nav.id, "1.0")
    assert merge.max_gap_s == MAX_GAP_S and "interpolation" in merge.method
    assert merge.rows == 120 and merge.positioned == 120 - expected["LAT"].isna().sum()
    # The track is split at the outage.
    current = sampler.current_version
    assert current is not None
    track = db.get_one(DatasetTrack, current.id)
    assert track.source == "navigation" and track.geojson["type"] == "MultiLineString"
    # Box search finds it; a box beside the track does not.
    inside = (73.3, 4.1, 74.4, 5.7)
    found = search_datasets(db, SearchParams(bbox=inside, platform="C130"), ANONYMOUS, NOW)
    assert sampler.public_id in {item.public_id for item in found.items}
    beside = search_datasets(db, SearchParams(bbox=(60, -10, 65, -5)), ANONYMOUS, NOW)
    assert sampler.public_id not in {item.public_id for item in beside.items}
    # The whole file carries the merged positions, value for value; none in the outage.
    table = _download(db, store, sampler, ANONYMOUS)
    np.testing.assert_allclose(table["LAT"], expected["LAT"], atol=1e-5)
    np.testing.assert_allclose(table["LON"], expected["LON"], atol=1e-5)
    times = pd.to_datetime(table.iloc[:, 0], utc=True)
    in_outage = (times >= OUTAGE[0]) & (times < OUTAGE[1])
    assert in_outage.sum() == 15 and table.loc[in_outage, "LAT"].isna().all()
    # A box subset cuts on the merged positions.
    south_half = (73.0, 4.0, 75.0, float(expected["LAT"].median()))
    cut = _download(db, store, sampler, ANONYMOUS, bbox=south_half)
    wanted = expected[expected["LAT"] <= south_half[3]]
    assert 0 < len(cut) < 120 and len(cut) == len(wanted)
    np.testing.assert_allclose(cut["LAT"], wanted["LAT"], atol=1e-5)


def test_a_new_navigation_version_re_merges(
    db: Session, session_factory: sessionmaker[Session], store: ArchiveStore, submit: Submit
) -> None:
    _declare(db)
    submit(SAMPLER)
    submit(NAVIGATION)
    _merge(session_factory, store)
    before = _by_did(db, "100").north
    assert _merge(session_factory, store) == 0  # nothing changed: nothing redone
    text = NAVIGATION.read_text().replace("DATA VERSION = 1.0", "DATA VERSION = 2.0")
    lines = text.splitlines()
    start = lines.index("UTC degN degE m") + 1
    shifted = [
        f"{t} {float(lat) + 0.1:.5f} {lon} {alt}"
        for t, lat, lon, alt in (line.split() for line in lines[start:])
    ]
    corrected = "\n".join(lines[:start] + shifted) + "\n"
    assert submit(corrected.encode(), "c130_navigation_1hz_v2.txt").state == "registered"
    assert _merge(session_factory, store) == 1
    sampler = _by_did(db, "100")
    assert before is not None and sampler.north == pytest.approx(before + 0.1)
    merge = db.get_one(NavigationMerge, sampler.id)
    assert merge.nav_data_version == "2.0"


def test_without_navigation_the_merge_waits_and_says_why(
    db: Session, session_factory: sessionmaker[Session], store: ArchiveStore, submit: Submit
) -> None:
    submit(SAMPLER)
    _merge(session_factory, store)
    sampler = _by_did(db, "100")
    merge = db.get_one(NavigationMerge, sampler.id)
    assert merge.status == "waiting" and "no navigation of platform 'C130'" in merge.reason
    assert sampler.south is None


def test_an_embargoed_navigation_embargoes_the_merged_positions(
    db: Session, session_factory: sessionmaker[Session], store: ArchiveStore, submit: Submit
) -> None:
    _declare(db)
    submit(SAMPLER)
    embargo = SubmitOptions(access="embargoed", release_at=datetime(2030, 1, 1, tzinfo=UTC))
    assert submit(NAVIGATION, options=embargo, submitter=STAFF).state == "registered"
    _by_did(db, "300").owner_user_id = OWNER.user_id
    db.commit()
    _merge(session_factory, store)
    sampler = _by_did(db, "100")
    merge = db.get_one(NavigationMerge, sampler.id)
    assert merge.status == "merged" and not merge.extent_public
    # The public box stays empty: no search by box finds it, for anyone.
    assert sampler.south is None
    # Others read the sampler's data without positions, and cannot cut it by box.
    for who in (ANONYMOUS, OTHER):
        assert "LAT" not in _download(db, store, sampler, who).columns
        with pytest.raises(InvalidQueryError):
            _download(db, store, sampler, who, bbox=(73.0, 4.0, 75.0, 6.0))
    # The owner of the navigation (and staff) read them.
    assert "LAT" in _download(db, store, sampler, OWNER).columns
    staff = Principal(user_id=None, username="staff", role=Role.STAFF)
    assert _download(db, store, sampler, staff)["LAT"].notna().sum() == merge.positioned
    # Once released, the merged box becomes public at the next merge round.
    nav = _by_did(db, "300")
    nav.release_at = datetime(2026, 1, 1, tzinfo=UTC)
    db.commit()
    assert _merge(session_factory, store) == 1
    assert _by_did(db, "100").south is not None


def test_a_pi_declares_only_a_dataset_they_own(db: Session, submit: Submit) -> None:
    submit(NAVIGATION)
    nav = _by_did(db, "300")
    with pytest.raises(PermissionDeniedError):
        declare_navigation(db, OWNER, "C130", NOW, instrument="anything")
    declare_navigation(db, OWNER, "C130", NOW, dataset_id=nav.public_id)
    from catalog.errors import NotFoundError

    with pytest.raises(NotFoundError):
        declare_navigation(db, OTHER, "C130", NOW, dataset_id=nav.public_id)


def test_only_mobile_records_without_their_own_positions_are_candidates(
    db: Session, submit: Submit
) -> None:
    """The worker looks at a mobile record only when it lacks LAT or LON (in any spelling
    the extent reader knows, any case): the rest are never loaded one by one."""
    submit(SAMPLER)  # mobile, no LAT/LON
    text = SAMPLER.read_text()
    header, _, rows = text.partition("##END OF HEADER##\n")
    names, units, *data = rows.splitlines()
    with_positions = (
        header.replace("DID = 100", "DID = 102")
        + "##END OF HEADER##\n"
        + f"{names} gps_lat Longitude\n{units} degrees_north degrees_east\n"
        + "".join(f"{row} 5.0 73.5\n" for row in data)
    )
    only_lat = with_positions.replace("DID = 102", "DID = 103").replace(" Longitude", " ALT")
    for did, body in (("102", with_positions), ("103", only_lat)):
        made = submit(body.encode(), f"{did}.txt")
        assert made.dataset_public_id is not None, made.report_text
    ids = {_by_did(db, did).id: did for did in ("100", "102", "103")}
    assert sorted(ids[i] for i in candidates(db) if i in ids) == ["100", "103"]
    assert all(lacks_positions(db.get_one(Dataset, i)) for i in candidates(db))
