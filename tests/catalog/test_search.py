"""Search: filters, free text, time and box overlap, facets, sorts, cursors, bad input."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from catalog.errors import InvalidQueryError
from catalog.models import Dataset
from catalog.schemas import Principal, Role, SearchParams
from catalog.search import parse_bbox, search_datasets
from tests.catalog.conftest import NOW
from tests.catalog.factories import make_dataset

ANON = Principal.anonymous()
STAFF = Principal(user_id=1, username="staff", role=Role.STAFF)


def ids(db: Session, principal: Principal = ANON, **params: object) -> set[str]:
    page = search_datasets(db, SearchParams(limit=1000, **params), principal, NOW)
    return {item.public_id for item in page.items}


def t(day: int, hour: int = 0) -> datetime:
    return datetime(1999, 2, day, hour, tzinfo=UTC)


def test_exact_filters_are_case_insensitive(db: Session) -> None:
    a = make_dataset(db, platform="NCAR C-130", instrument="Ozone photometer", pi_name="Crutzen")
    b = make_dataset(db, platform="ORV Sagar Kanya", instrument="Radiosonde", pi_name="Mitra")
    c = make_dataset(db, platform="ncar c-130", project="ACE-Asia", variables=("SO2",))
    db.commit()
    assert ids(db, platform="NCAR C-130") == {a.public_id, c.public_id}
    assert ids(db, platform="  ncar C-130 ") == {a.public_id, c.public_id}
    assert ids(db, platform="C-130") == set()  # exact, not a substring
    assert ids(db, instrument="RADIOSONDE") == {b.public_id}
    assert ids(db, pi="crutzen") == {a.public_id}
    assert ids(db, project="ace-asia") == {c.public_id}
    assert ids(db, variable="so2") == {c.public_id}
    assert ids(db, variable="o3") == {a.public_id, b.public_id}
    assert ids(db, center="joss") == {a.public_id, b.public_id, c.public_id}
    assert ids(db, center="NPL") == set()


def test_time_overlap(db: Session) -> None:
    early = make_dataset(db, start=t(1), stop=t(2))
    long = make_dataset(db, start=t(1), stop=t(20))
    late = make_dataset(db, start=t(10), stop=t(11))
    db.commit()
    assert ids(db, start=t(5), end=t(6)) == {long.public_id}
    assert ids(db, start=t(2), end=t(10)) == {early.public_id, long.public_id, late.public_id}
    assert ids(db, start=t(11, 1)) == {long.public_id}
    assert ids(db, end=t(1)) == {early.public_id, long.public_id}
    # naive datetimes are UTC
    assert ids(db, start=datetime(1999, 2, 5), end=datetime(1999, 2, 6)) == {long.public_id}


def test_free_text_needs_every_term_and_only_public_fields(db: Session) -> None:
    a = make_dataset(
        db,
        title="Aerosol optics",
        instrument="Nephelometer",
        location="Kaashidhoo",
        variables=("BC", "SCAT550"),
    )
    b = make_dataset(db, title="Ozone flight", did="4711", password_hash="secretword")
    db.commit()
    assert ids(db, q="aerosol") == {a.public_id}
    assert ids(db, q="AEROSOL kaashidhoo scat550") == {a.public_id}
    assert ids(db, q="aerosol ozone") == set()
    assert ids(db, q="4711") == {b.public_id}
    assert ids(db, q="ramanathan") == {a.public_id, b.public_id}
    assert ids(db, q="secretword") == set()
    assert ids(db, q="%") == set()  # LIKE wildcards are literal
    assert ids(db, q="_") == set()


def box(db: Session, west: float, east: float, south: float = 0, north: float = 10) -> str:
    return make_dataset(db, west=west, east=east, south=south, north=north).public_id


def test_bbox_overlap_including_the_antimeridian(db: Session) -> None:
    indian = box(db, 70, 80)
    pacific_west = box(db, 170, 178)
    pacific_east = box(db, -178, -170)
    across = box(db, 175, -175)  # extent crosses the antimeridian
    south = box(db, 70, 80, south=-50, north=-40)
    nowhere = make_dataset(db, west=None, east=None, south=None, north=None).public_id
    db.commit()
    assert ids(db, bbox=(60, -5, 90, 20)) == {indian}
    assert ids(db, bbox=(179, -5, -179, 20)) == {across}
    assert ids(db, bbox=(172, -5, -172, 20)) == {pacific_west, pacific_east, across}
    assert ids(db, bbox=(176, -5, 177, 20)) == {pacific_west, across}
    assert ids(db, bbox=(-176, -5, -174, 20)) == {pacific_east, across}
    assert ids(db, bbox=(-180, -90, 180, 90)) == {indian, pacific_west, pacific_east, across, south}
    assert ids(db, bbox=(0, -60, 100, -45)) == {south}
    assert nowhere not in ids(db, bbox=(-180, -90, 180, 90))
    assert nowhere in ids(db)


@pytest.mark.parametrize(
    "text",
    [
        "1,2,3",
        "a,b,c,d",
        "0,10,5",
        "-181,0,10,10",
        "0,0,181,10",
        "0,-91,10,0",
        "0,20,10,10",
        "nan,0,1,1",
        "inf,0,1,1",
    ],
)
def test_bad_boxes(text: str) -> None:
    with pytest.raises(InvalidQueryError):
        parse_bbox(text)


def test_bad_box_in_params_and_bad_dates(db: Session) -> None:
    with pytest.raises(InvalidQueryError, match="south"):
        search_datasets(db, SearchParams(bbox=(0, 20, 10, 10)), ANON, NOW)
    with pytest.raises(InvalidQueryError, match="longitudes"):
        search_datasets(db, SearchParams(bbox=(-200, 0, 10, 10)), ANON, NOW)
    with pytest.raises(InvalidQueryError, match="start"):
        search_datasets(db, SearchParams(start=t(5), end=t(4)), ANON, NOW)
    with pytest.raises(InvalidQueryError, match="access"):
        search_datasets(db, SearchParams(access="secret"), ANON, NOW)
    assert parse_bbox("175,-10,-175,10") == (175, -10, -175, 10)


def test_access_filter_uses_the_state_now(db: Session) -> None:
    opened = make_dataset(db, access_state="open")
    released = make_dataset(db, access_state="embargoed", release_at=NOW - timedelta(days=1))
    held = make_dataset(db, access_state="embargoed", release_at=NOW + timedelta(days=1))
    pw = make_dataset(db, access_state="password", release_at=NOW + timedelta(days=1))
    make_dataset(db, access_state="private")
    db.commit()
    assert ids(db, access="open") == {opened.public_id, released.public_id}
    assert ids(db, access="Embargoed") == {held.public_id}
    assert ids(db, access="password") == {pw.public_id}
    assert ids(db, access="private") == set()  # the anonymous caller never sees them
    page = search_datasets(db, SearchParams(), ANON, NOW)
    states = {i.public_id: i.access_state for i in page.items}
    assert states[released.public_id] == "open"
    assert states[held.public_id] == "embargoed"


def test_facets_count_the_filtered_visible_set(db: Session) -> None:
    make_dataset(db, platform="NCAR C-130", pi_name="Crutzen", variables=("O3", "CO"))
    make_dataset(db, platform="ncar c-130", pi_name="Mitra", variables=("O3",))
    make_dataset(db, platform="Citation", pi_name="Crutzen", access_state="embargoed")
    make_dataset(db, platform="Hidden plane", pi_name="Secret PI", access_state="private")
    make_dataset(db, platform="Gone", access_state="withdrawn")
    db.commit()
    page = search_datasets(db, SearchParams(), ANON, NOW)
    facets = {
        name: {f.value.lower(): f.count for f in values} for name, values in page.facets.items()
    }
    assert page.total == 3
    assert facets["platform"] == {"ncar c-130": 2, "citation": 1}
    assert facets["pi"] == {"crutzen": 2, "mitra": 1}
    assert facets["variable"] == {"o3": 3, "co": 2}
    assert facets["access"] == {"open": 2, "embargoed": 1}
    assert facets["center"] == {"joss": 3}
    assert facets["project"] == {"indoex": 3}
    filtered = search_datasets(db, SearchParams(pi="crutzen"), ANON, NOW)
    assert filtered.total == 2
    assert {f.value: f.count for f in filtered.facets["platform"]} == {
        "NCAR C-130": 1,
        "Citation": 1,
    }
    # staff see everything, counts included
    assert search_datasets(db, SearchParams(), STAFF, NOW).total == 5
    without = search_datasets(db, SearchParams(facets=False), ANON, NOW)
    assert without.facets == {} and without.total is None and len(without.items) == 3


def test_centers_freshness(db: Session) -> None:
    from catalog.changes import append_change
    from catalog.facets import refresh_center_counts
    from catalog.models import PeerState

    make_dataset(db)
    mirrored = make_dataset(db, origin_center="NPL")
    make_dataset(db, origin_center="NPL", access_state="private")
    db.add(PeerState(peer_code="NPL", last_seq_applied=42, last_contact=NOW, last_error=None))
    refresh_center_counts(db)
    db.commit()
    centers = {c.center: c for c in search_datasets(db, SearchParams(), ANON, NOW).centers}
    assert list(centers) == ["JOSS", "NPL"]  # the local center first
    assert centers["JOSS"].is_local and centers["JOSS"].records == 1
    assert centers["JOSS"].last_seq_applied is None
    assert centers["NPL"].records == 1  # the private one is never counted
    assert centers["NPL"].last_seq_applied == 42 and centers["NPL"].last_contact == NOW
    # the change log keeps the counts: a withdrawal announced as a tombstone drops one
    append_change(db, mirrored, "upsert", NOW)
    assert {
        c.center: c.records for c in search_datasets(db, SearchParams(), ANON, NOW).centers
    } == {"JOSS": 1, "NPL": 1}
    mirrored.access_state = "withdrawn"
    append_change(db, mirrored, "tombstone", NOW)
    assert {
        c.center: c.records for c in search_datasets(db, SearchParams(), ANON, NOW).centers
    } == {"JOSS": 1, "NPL": 0}
    fresh = make_dataset(db, origin_center="NPL")
    append_change(db, fresh, "upsert", NOW)
    append_change(db, fresh, "upsert", NOW)
    assert {
        c.center: c.records for c in search_datasets(db, SearchParams(), ANON, NOW).centers
    } == {"JOSS": 1, "NPL": 1}


SORT_KEYS = {
    "-start": lambda d: (d.start, d.public_id),
    "start": lambda d: (d.start, d.public_id),
    "title": lambda d: (d.title, d.public_id),
    "pi": lambda d: (d.pi_name.lower(), d.public_id),
    "platform": lambda d: (d.platform.lower(), d.public_id),
    "updated": lambda d: (d.updated, d.public_id),
}


def make_ties(db: Session, n: int = 37) -> list[Dataset]:
    rows = []
    for i in range(n):
        rows.append(
            make_dataset(
                db,
                start=t(1 + i % 3),  # many ties on every sort key
                title=f"title {i % 4}",
                pi_name=["Crutzen", "mitra", "Lelieveld"][i % 3],
                platform=["Citation", "NCAR C-130"][i % 2],
                updated=NOW - timedelta(hours=i % 5),
            )
        )
    db.commit()
    return rows


@pytest.mark.parametrize("sort", list(SORT_KEYS))
@pytest.mark.parametrize("limit", [1, 5, 36, 37, 50])
def test_cursor_paging_visits_everything_once_in_order(db: Session, sort: str, limit: int) -> None:
    rows = make_ties(db)
    seen: list[str] = []
    cursor = None
    for _ in range(100):
        page = search_datasets(
            db, SearchParams(sort=sort, limit=limit, cursor=cursor, facets=False), ANON, NOW
        )
        seen.extend(item.public_id for item in page.items)
        cursor = page.next_cursor
        if cursor is None:
            break
    by_id = {d.public_id: d for d in rows}
    expected = sorted(rows, key=SORT_KEYS[sort], reverse=sort == "-start")
    assert seen == [d.public_id for d in expected]
    assert len(set(seen)) == len(rows)
    assert set(seen) == set(by_id)


def test_page_size_and_last_page_has_no_cursor(db: Session) -> None:
    make_ties(db, 10)
    page = search_datasets(db, SearchParams(limit=10), ANON, NOW)
    assert len(page.items) == 10 and page.next_cursor is None
    page = search_datasets(db, SearchParams(limit=9), ANON, NOW)
    assert len(page.items) == 9 and page.next_cursor is not None


def test_bad_cursors_are_refused(db: Session) -> None:
    make_ties(db, 5)
    page = search_datasets(db, SearchParams(limit=2, platform="citation"), ANON, NOW)
    cursor = page.next_cursor
    assert cursor is not None
    # the same query continues (the page size may change)
    search_datasets(db, SearchParams(limit=3, platform="citation", cursor=cursor), ANON, NOW)
    bad = [
        SearchParams(limit=2, platform="NCAR C-130", cursor=cursor),  # another query
        SearchParams(limit=2, platform="citation", sort="title", cursor=cursor),  # another sort
        SearchParams(limit=2, platform="citation", cursor=cursor[:-3]),  # truncated
        SearchParams(limit=2, platform="citation", cursor=cursor[:10] + "A" + cursor[11:]),
        SearchParams(limit=2, platform="citation", cursor="not-a-cursor"),
        SearchParams(limit=2, platform="citation", cursor="!!!"),
        SearchParams(limit=2, platform="citation", cursor=""),
    ]
    for params in bad:
        if params.cursor == "":
            continue  # an empty cursor means "from the start"
        with pytest.raises(InvalidQueryError):
            search_datasets(db, params, ANON, NOW)


def test_limit_bounds() -> None:
    from pydantic import ValidationError

    for limit in (0, 1001):
        with pytest.raises(ValidationError):
            SearchParams(limit=limit)
    with pytest.raises(ValidationError):
        SearchParams(sort="-title")  # type: ignore[arg-type]
