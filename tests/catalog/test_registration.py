"""Registering data files: create, new versions, idempotence, release defaults, the log."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy.orm import Session

from catalog.changes import list_changes_since
from catalog.errors import ConflictError, NotFoundError, RegistrationError
from catalog.models import Campaign
from catalog.registration import add_months, default_release_at, ensure_center, register_datafile
from catalog.schemas import Principal, SearchParams
from catalog.search import get_dataset, search_datasets
from tests.catalog.conftest import NOW
from tests.catalog.factories import make_datafile


def register(db: Session, sha: str = "a" * 64, **kw):
    values = {
        "datafile": make_datafile(),
        "sha256": sha,
        "size": 123,
        "original_name": "c130_rf07.txt",
        "center_code": "JOSS",
        "campaign_code": "INDOEX",
        "now": NOW,
    }
    values.update(kw)
    return register_datafile(db, **values)


def test_register_creates_a_searchable_dataset_and_logs_it(db: Session) -> None:
    d = register(db, owner_user_id=1)
    db.commit()
    assert len(d.public_id) >= 16 and d.did == "31" and d.origin_version == 1
    assert (d.west, d.south, d.east, d.north) == (72.0, 4.0, 74.0, 6.0)
    assert d.access_state == "open" and d.owner_user_id == 1
    assert [v.name for v in d.variables] == ["LAT", "LON", "O3"]
    page = search_datasets(
        db, SearchParams(q="ramanathan o3", variable="o3"), Principal.anonymous(), NOW
    )
    assert [i.public_id for i in page.items] == [d.public_id]
    changes = list_changes_since(db, 0, 10)
    assert [(c.seq, c.public_id, c.kind, c.origin_version) for c in changes] == [
        (1, d.public_id, "upsert", 1)
    ]


def test_a_new_file_for_the_same_did_is_a_new_version(db: Session) -> None:
    first = register(db)
    second = register(db, sha="b" * 64, datafile=make_datafile(rows=9))
    db.commit()
    assert second.id == first.id and second.origin_version == 2
    detail = get_dataset(db, second.public_id, Principal.anonymous(), NOW)
    assert [(v.sha256[0], v.is_current) for v in detail.versions] == [("a", False), ("b", True)]
    assert [c.origin_version for c in list_changes_since(db, 0, 10)] == [1, 2]


def test_the_same_bytes_again_change_nothing(db: Session) -> None:
    first = register(db)
    again = register(db)
    db.commit()
    assert again.id == first.id and again.origin_version == 1 and len(again.versions) == 1
    assert len(list_changes_since(db, 0, 10)) == 1


def test_other_did_or_center_is_another_dataset(db: Session) -> None:
    a = register(db)
    b = register(db, sha="c" * 64, datafile=make_datafile(did=32))
    c = register(db, sha="d" * 64, center_code="NPL")
    assert len({a.id, b.id, c.id}) == 3


def test_embargo_defaults_to_the_campaign_policy(db: Session) -> None:
    research = register(db, access_state="embargoed")
    operational = register(
        db,
        sha="e" * 64,
        datafile=make_datafile(did=40),
        access_state="password",
        category="operational",
    )
    explicit = register(
        db,
        sha="f" * 64,
        datafile=make_datafile(did=41),
        access_state="embargoed",
        release_at=datetime(2001, 1, 1, tzinfo=UTC),
    )
    assert research.release_at == datetime(2000, 3, 31, tzinfo=UTC)
    assert operational.release_at == datetime(1999, 9, 30, tzinfo=UTC)
    assert explicit.release_at == datetime(2001, 1, 1, tzinfo=UTC)
    # a later version without an access_state keeps the embargo
    again = register(db, sha="9" * 64, access_state=None)
    assert again.access_state == "embargoed" and again.release_at == research.release_at


def test_withdrawn_datasets_refuse_new_versions(db: Session) -> None:
    d = register(db)
    d.access_state = "withdrawn"
    db.flush()
    with pytest.raises(ConflictError):
        register(db, sha="b" * 64)


def test_unknown_campaign_center_or_category(db: Session) -> None:
    with pytest.raises(NotFoundError):
        register(db, campaign_code="NOPE")
    with pytest.raises(NotFoundError):
        register(db, center_code="NOPE")
    with pytest.raises(RegistrationError):
        register(db, category="casual")


def test_a_file_without_times_is_refused(db: Session) -> None:
    datafile = make_datafile()
    datafile.extent.start = datafile.header.start = None
    with pytest.raises(RegistrationError):
        register(db, datafile=datafile)


def test_ensure_center_updates_in_place(db: Session) -> None:
    center = ensure_center(db, "NPL", "NPL, New Delhi", "http://npl.example", False)
    assert center.name == "NPL, New Delhi" and center.base_url == "http://npl.example"


def test_add_months_clamps_to_month_end() -> None:
    assert add_months(date(1999, 3, 31), 6) == date(1999, 9, 30)
    assert add_months(date(1999, 11, 30), 3) == date(2000, 2, 29)
    assert add_months(date(1999, 1, 15), 12) == date(2000, 1, 15)
    assert default_release_at(Campaign(code="X", name="x"), "research") is None


def test_real_samples_register_archive_and_search(db: Session, samples, tmp_path) -> None:
    import shutil

    import formats
    from catalog.storage import ArchiveStore
    from formats.timeparse import CampaignTime

    store = ArchiveStore(tmp_path)
    store.create_dirs()
    ids = {}
    for path in sorted((samples / "valid").iterdir()):
        datafile = formats.read(path, campaign=CampaignTime(year=1999), filename=path.name)
        staged = store.new_staging_path()
        shutil.copyfile(path, staged)
        sha, final = store.put_original(staged)
        dataset = register(
            db, datafile=datafile, sha=sha, size=final.stat().st_size, original_name=path.name
        )
        ids[path.name] = dataset.public_id
        assert final.read_bytes() == path.read_bytes()
    db.commit()
    # DID 100 is given by two files: the later one is a new version of the same dataset
    assert ids["seed_example.txt"] == ids["c130_external_sampler.txt"]
    anon = Principal.anonymous()

    def found(**params: object) -> set[str]:
        page = search_datasets(db, SearchParams(**params), anon, NOW)
        return {i.public_id for i in page.items}

    kco, track = ids["kco_surface_hourly.txt"], ids["c130_rf07_track.txt"]
    sounding = ids["sagar_kanya_sounding.txt"]
    navigation = ids["c130_navigation_1hz.txt"]  # the C-130's 1 Hz positions (CIDS fixture)
    assert found(bbox=(73.0, 4.5, 74.0, 5.5)) == {kco, track, navigation}
    assert found(bbox=(71.0, -3.0, 72.0, -1.0)) == {sounding}
    assert found(variable="temp") == {sounding}
    assert found(
        start=datetime(1999, 3, 7, 4, 30, tzinfo=UTC), end=datetime(1999, 3, 7, 5, tzinfo=UTC)
    ) == {track}
    assert len(found()) == 5
    detail = get_dataset(db, kco, anon, NOW)
    assert detail.feature_type == "timeSeries" and detail.bbox == (73.466, 4.965, 73.466, 4.965)


def test_odd_extents_and_overlong_headers(db: Session) -> None:
    datafile = make_datafile()
    datafile.extent.west = float("nan")
    d = register(db, datafile=datafile)
    assert (d.west, d.south, d.east, d.north) == (None, None, None, None)
    datafile = make_datafile(did=77)
    datafile.header.pi_name = "x" * 201
    with pytest.raises(RegistrationError, match="PI NAME"):
        register(db, sha="7" * 64, datafile=datafile)


def test_a_closing_center_takes_no_new_data(db: Session) -> None:
    """Once JOSS has offered its records to NPL, a new dataset, version or report there would
    be turned into a mirror of a record NPL never received: each is refused, saying where
    to send it; another center still takes its own."""
    from catalog.access import AccessState
    from catalog.access_admin import AccessRequest, change_access
    from catalog.expected import add_expected, edit_expected
    from catalog.field_reports import add_report
    from catalog.handover import offer_handover
    from catalog.registry import PlaceInput, add_place
    from catalog.registry_edits import edit_place

    ensure_center(db, "JOSS", "JOSS", "http://joss.test", is_local=True)
    kept = register(db)
    mast = add_place(db, PlaceInput(kind="station", name="Kaashidhoo"), NOW)
    due = add_expected(db, campaign_code="INDOEX", center_code="JOSS", pi_name="Ramanathan",
                       did="31", platform="NCAR C-130", instrument="", category="research",
                       description="ozone", due=date(1999, 9, 1), now=NOW)  # fmt: skip
    offer_handover(db, "JOSS", "NPL", NOW)
    db.flush()
    for attempt in (
        lambda: add_place(db, PlaceInput(kind="station", name="Hulule"), NOW),
        lambda: edit_place(
            db,
            mast.id,
            PlaceInput(kind="station", name="KCO"),
            actor=Principal.anonymous(),
            now=NOW,
        ),
        lambda: add_expected(
            db,
            campaign_code="INDOEX",
            center_code="JOSS",
            pi_name="Crutzen",
            did=None,
            platform="",
            instrument="",
            category="research",
            description="",
            due=None,
            now=NOW,
        ),
        lambda: edit_expected(
            db,
            due.public_id,
            local_code="JOSS",
            due=date(1999, 10, 1),
            description=None,
            actor=Principal.anonymous(),
            now=NOW,
        ),
        lambda: change_access(
            db,
            kept.public_id,
            AccessRequest(AccessState.PRIVATE, reason="closing center"),
            actor=Principal.anonymous(),
            now=NOW,
        ),
        lambda: register(db, sha="b" * 64),  # a new version of the dataset kept
        lambda: register(db, sha="c" * 64, datafile=make_datafile(did=77)),  # a new one
        lambda: add_report(
            db,
            campaign_code="INDOEX",
            center_code="JOSS",
            kind="status",
            report_date=date(1999, 3, 1),
            title="status",
            body="up",
            author=Principal.anonymous(),
            now=NOW,
        ),
    ):
        with pytest.raises(ConflictError, match=r"handing its records over to NPL.*send this"):
            attempt()
    assert kept.origin_version == 1 and len(kept.versions) == 1
    ensure_center(db, "LMD", "LMD", "http://lmd.test")
    assert register(db, sha="d" * 64, center_code="LMD").origin_center == "LMD"
