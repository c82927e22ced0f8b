"""Facet tallies: the fast unfiltered counts equal a naive GROUP BY over what each caller may
see, for random catalogs and callers, through writes, access changes, deletes, folds and
the clock's releases, on SQLite and PostgreSQL."""

from __future__ import annotations

import random
import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import Engine, delete, insert, select, text, update
from sqlalchemy.orm import Session

from catalog.access import visible_filter
from catalog.facet_models import FacetPairTally
from catalog.facet_tallies import ACCESS, BY_FACETS, VARIABLE
from catalog.facet_triggers import TRIGGERS, compact_tallies, rebuild_tallies
from catalog.facets import facet_counts, tallied_counts
from catalog.models import Campaign, Dataset, Variable
from catalog.schemas import Principal, Role, SearchParams
from catalog.search import filter_clauses, one_value_filter, search_datasets
from tests.catalog.conftest import NOW
from tests.catalog.factories import make_dataset

CALLERS = (
    Principal.anonymous(),
    Principal(user_id=None, role=Role.PEER),
    Principal(user_id=1, role=Role.PI),
    Principal(
        user_id=2, role=Role.PI, named_datasets=frozenset({"x"}), campaign_ids=frozenset({1})
    ),
    Principal(user_id=3, role=Role.STAFF),
    Principal(user_id=4, role=Role.ADMIN),
)
STATES = ("open", "embargoed", "password", "campaign", "private", "withdrawn")
PLATFORMS = ("NCAR C-130", "ncar c-130", "Citation", "R/V Ron Brown", "")
VARIABLES = ("O3", "o3", "CO", "NO2", "Temp", "RH")
# Release instants: long past, earlier today, later today, tomorrow, far ahead.
RELEASES = (-400 * 24.0, -1.0, 1.0, 25.0, 300 * 24.0, None)
CLOCKS = (NOW, NOW + timedelta(hours=2), NOW + timedelta(days=2), NOW + timedelta(days=400))


def _as_dict(result: tuple[dict, int]) -> tuple[dict[str, dict[str, int]], int]:
    facets, total = result
    return {name: {f.value: f.count for f in values} for name, values in facets.items()}, total


ONE_VALUE_FILTERS = (
    ("platform", ("NCAR C-130", "Citation", "R/V Ron Brown", "nowhere")),
    ("pi", ("ramanathan", "Crutzen")),
    ("instrument", ("Ozone photometer", "LIDAR")),
    ("project", ("INDOEX", "ace-asia")),
    ("center", ("JOSS", "npl")),
    ("level", ("0", "1", "2")),
    ("access", ("open", "Embargoed", "password", "campaign", "private", "withdrawn")),
    ("variable", ("O3", "co", "x", " Temp", "rh", "NO2")),
)
"""Each filter the pair tallies count for (`BY_FACETS` and access), with values in several
spellings."""


def assert_consistent(session: Session) -> None:
    """For every caller and clock: the tallies' counts equal the naive ones, unfiltered and
    filtered by one facet value (three filters at each caller and clock, each filter meeting
    every caller across the clocks, its values in turn)."""
    assert {name for name, _ in ONE_VALUE_FILTERS} == {*BY_FACETS, ACCESS, VARIABLE}
    for c, now in enumerate(CLOCKS):
        for p, principal in enumerate(CALLERS):
            fast = _as_dict(tallied_counts(session, principal, now))
            naive = _as_dict(facet_counts(session, [visible_filter(principal, now)], now))
            assert fast == naive, (principal, now)
            for turn in (p + 3 * c, p + 3 * c + 3, p + 3 * c + 6):
                name, values = ONE_VALUE_FILTERS[turn % len(ONE_VALUE_FILTERS)]
                params = SearchParams(**{name: values[(p + 2 * c) % len(values)]})
                clauses = filter_clauses(session, params, principal, now)
                one = one_value_filter(params, clauses)
                assert one is not None and one[0] == name
                paired = tallied_counts(session, principal, now, one, clauses[1])
                naive = _as_dict(facet_counts(session, clauses, now))
                assert _as_dict(paired) == naive, (principal, now, params)


def random_fields(rng: random.Random) -> dict[str, object]:
    hours = rng.choice(RELEASES)
    return {
        "platform": rng.choice(PLATFORMS),
        "pi_name": rng.choice(("Ramanathan", "RAMANATHAN", "Crutzen")),
        "instrument": rng.choice(("Ozone photometer", "Lidar")),
        "project": rng.choice(("INDOEX", "ACE-Asia", None)),
        "origin_center": rng.choice(("JOSS", "NPL")),
        "level": rng.randint(0, 2),
        "access_state": rng.choice(STATES),
        "release_at": None if hours is None else NOW + timedelta(hours=hours),
        "owner_user_id": rng.choice((None, 1, 2)),
    }


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_fast_counts_equal_naive_counts_through_writes(db: Session, seed: int) -> None:
    rng = random.Random(seed)
    datasets = [
        make_dataset(
            db, variables=tuple(rng.sample(VARIABLES, rng.randint(0, 3))), **random_fields(rng)
        )
        for _ in range(30)
    ]
    db.commit()
    assert_consistent(db)
    for _round in range(3):
        for dataset in rng.sample(datasets, 8):  # edits and access changes, through the ORM
            for key, value in random_fields(rng).items():
                if rng.random() < 0.4:
                    setattr(dataset, key, value)
        victim = datasets.pop(rng.randrange(len(datasets)))  # a delete
        db.delete(victim)
        some = rng.choice(datasets)  # variables added and removed
        some.variables.append(Variable(position=9, name=rng.choice(VARIABLES), original_name="x"))
        if datasets[0].variables:
            datasets[0].variables.pop()
        db.commit()
        assert_consistent(db)
    # Plain SQL writers (a mirror's bulk apply, a staff bulk withdrawal) are tallied too.
    db.execute(
        update(Dataset).where(Dataset.platform == "Citation").values(access_state="withdrawn")
    )
    db.execute(update(Variable).where(Variable.name == "CO").values(name="Co"))
    db.execute(delete(Variable).where(Variable.name == "RH"))
    campaign_id = db.scalar(select(Campaign.id))
    new_id = (
        db.execute(
            insert(Dataset).returning(Dataset.id),
            [{**_core_fields(campaign_id, i), **random_fields(rng)} for i in range(5)],
        )
        .scalars()
        .all()
    )
    db.execute(
        insert(Variable), [{"dataset_id": i, "name": "O3", "name_key": "o3"} for i in new_id]
    )
    db.commit()
    assert_consistent(db)
    folded = compact_tallies(db.connection())
    db.commit()
    assert folded > 0
    assert_consistent(db)
    assert compact_tallies(db.connection()) == 0  # nothing left to fold: nothing written
    rebuild_tallies(db.connection())
    db.commit()
    assert_consistent(db)


def _core_fields(campaign_id: int, i: int) -> dict[str, object]:
    return {
        "public_id": f"core{i}",
        "campaign_id": campaign_id,
        "start": NOW,
        "stop": NOW,
        "title": f"core {i}",
        "created": NOW,
        "updated": NOW,
    }


def test_the_clock_releases_counts_without_a_write(db: Session) -> None:
    make_dataset(db, access_state="embargoed", release_at=NOW + timedelta(hours=1))
    make_dataset(db, access_state="password", release_at=NOW + timedelta(days=1, hours=1))
    make_dataset(db, access_state="open")
    db.commit()
    anon = Principal.anonymous()

    def access(now: object) -> dict[str, int]:
        page = search_datasets(db, SearchParams(limit=1), anon, now)  # type: ignore[arg-type]
        return {f.value: f.count for f in page.facets["access"]}

    assert access(NOW) == {"open": 1, "embargoed": 1, "password": 1}
    assert access(NOW + timedelta(hours=1)) == {"open": 2, "password": 1}  # the same day
    assert access(NOW + timedelta(days=1, hours=2)) == {"open": 3}  # a later day's bucket


def test_counts_never_show_hidden_records(db: Session) -> None:
    make_dataset(db, platform="Secret plane", access_state="private", owner_user_id=1)
    make_dataset(db, platform="Gone plane", access_state="withdrawn", owner_user_id=1)
    make_dataset(db, platform="Citation")
    db.commit()

    def platforms(principal: Principal) -> dict[str, int]:
        page = search_datasets(db, SearchParams(limit=1), principal, NOW)
        assert page.total == sum(f.count for f in page.facets["access"])
        return {f.value: f.count for f in page.facets["platform"]}

    assert platforms(Principal.anonymous()) == {"Citation": 1}
    assert platforms(Principal(user_id=2, role=Role.PI)) == {"Citation": 1}
    assert platforms(Principal(user_id=1, role=Role.PI)) == {"Citation": 1, "Secret plane": 1}
    staff = {"Citation": 1, "Secret plane": 1, "Gone plane": 1}
    assert platforms(Principal(user_id=3, role=Role.STAFF)) == staff


def test_migrated_database_has_the_triggers(engine: Engine) -> None:
    if engine.dialect.name == "sqlite":
        query = "SELECT name FROM sqlite_master WHERE type = 'trigger'"
    else:
        query = "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal"
    with engine.connect() as conn:
        names = set(conn.execute(text(query)).scalars())
    assert set(TRIGGERS) <= names


def test_a_variable_written_beside_an_access_change_lands_in_the_right_class(
    db: Session, engine: Engine
) -> None:
    """Two writers at once: one adds a variable, the other hides its dataset. Whichever
    order they commit in, the variable ends in the class its dataset has at the end."""
    dataset = make_dataset(db, variables=("O3",))
    db.commit()
    writer = engine.connect()
    writer.begin()
    writer.execute(insert(Variable).values(dataset_id=dataset.id, name="NO2", name_key="no2"))
    done = threading.Event()

    def hide() -> None:
        with engine.begin() as conn:
            conn.execute(
                update(Dataset).where(Dataset.id == dataset.id).values(access_state="private")
            )
        done.set()

    thread = threading.Thread(target=hide)
    thread.start()
    time.sleep(0.5)  # the access change is under way (waiting for the writer's lock)
    writer.commit()
    writer.close()
    thread.join(timeout=30)
    assert done.is_set()
    db.expire_all()
    assert_consistent(db)
    anon = Principal.anonymous()
    assert _as_dict(tallied_counts(db, anon, NOW))[0]["variable"] == {}


def test_a_search_filtered_by_one_facet_value_counts_from_the_pair_tallies(db: Session) -> None:
    """The search answers a one-value filter from the pair tallies (a row written straight
    into them shows), and anything more from the filtered rows (it does not)."""
    make_dataset(db, platform="Citation", project="INDOEX", level=1)
    make_dataset(db, platform="NCAR C-130", project="INDOEX", level=1)
    db.commit()
    planted = {"facet": "project", "value": "PLANTED", "shared": True, "n": 5}
    db.add(FacetPairTally(by_facet="platform", by_key="citation", release_day=None, **planted))
    db.commit()
    anon = Principal.anonymous()

    def projects(**filters: str) -> dict[str, int]:
        page = search_datasets(db, SearchParams(limit=1, **filters), anon, NOW)
        return {f.value: f.count for f in page.facets["project"]}

    assert projects(platform=" CITATION ") == {"PLANTED": 5, "INDOEX": 1}
    assert projects(platform="NCAR C-130") == {"INDOEX": 1}
    assert projects(platform="Citation", q="citation") == {"INDOEX": 1}
    assert projects(platform="Citation", level="1") == {"INDOEX": 1}
