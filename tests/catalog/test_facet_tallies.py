"""Facet tallies and facet rows: the fast counts (unfiltered and by one value from the
tallies, by several values over the narrow facet rows) equal a naive GROUP BY over the
dataset rows each caller may see, for random catalogs and callers, through writes, access
changes, deletes, folds and the clock's releases, on SQLite and PostgreSQL."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, case, delete, event, func, insert, select, text, update
from sqlalchemy.orm import Session

from catalog.access import visible_filter
from catalog.db import make_session_factory
from catalog.facet_models import FACET_ROWS, ROW_COLUMNS, FacetPairTally, FacetTallyPause
from catalog.facet_tallies import ACCESS, BY_FACETS, VARIABLE
from catalog.facet_triggers import (
    TRIGGERS,
    WATCHED,
    compact_tallies,
    rebuild_tallies,
    tallies_paused,
)
from catalog.facets import facet_counts, tallied_counts
from catalog.models import Campaign, Dataset, Variable
from catalog.schemas import Principal, Role, SearchParams
from catalog.search import filter_clauses, one_value_filter, search_datasets
from tests.catalog.conftest import NOW, trigger_names
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


def assert_rows_copied(session: Session) -> None:
    """The facet rows are the datasets' rows, column for column; on PostgreSQL with their
    variables' names (one per variable) and the variable filter's keys (distinct, sorted)."""
    copied = [Dataset.__table__.c[name] for name in ROW_COLUMNS]
    datasets = session.execute(select(*copied).order_by(Dataset.id)).all()
    rows = [FACET_ROWS.c[name] for name in ROW_COLUMNS]
    assert session.execute(select(*rows).order_by(FACET_ROWS.c.id)).all() == datasets
    if session.get_bind().dialect.name != "postgresql":
        return
    names: dict[int, list[str]] = {}
    keys: dict[int, set[str]] = {}
    for v in session.scalars(select(Variable).order_by(Variable.id)):
        names.setdefault(v.dataset_id, []).append(v.name)
        found = keys.setdefault(v.dataset_id, set())
        found |= {k for k in (v.name_key, (v.original_name or "").lower()) if k}
    arrays = session.execute(
        select(FACET_ROWS.c.id, FACET_ROWS.c.variable_names, FACET_ROWS.c.variable_keys)
    )
    for dataset_id, held_names, held_keys in arrays:
        assert sorted(held_names or []) == sorted(names.get(dataset_id, [])), dataset_id
        assert (held_keys or []) == sorted(keys.get(dataset_id, set())), dataset_id


def naive_counts(
    session: Session, clauses: list, now: datetime
) -> tuple[dict[str, dict[str, int]], int]:
    """The reference: the counts over the dataset rows themselves."""
    return _as_dict(facet_counts(session, clauses, now, narrow=False))


def assert_consistent(session: Session) -> None:
    """For every caller and clock: the tallies' counts equal the naive ones, unfiltered and
    filtered by one facet value (three filters at each caller and clock, each filter meeting
    every caller across the clocks, its values in turn); and the counts over the facet rows
    filtered by two values, by a value and a time, or with the full text, too."""
    assert {name for name, _ in ONE_VALUE_FILTERS} == {*BY_FACETS, ACCESS, VARIABLE}
    assert_rows_copied(session)
    for c, now in enumerate(CLOCKS):
        for p, principal in enumerate(CALLERS):
            fast = _as_dict(tallied_counts(session, principal, now))
            naive = naive_counts(session, [visible_filter(principal, now)], now)
            assert fast == naive, (principal, now)
            for turn in (p + c, p + c + 2):
                params = SearchParams(**_two_filters(turn, now))
                clauses = filter_clauses(session, params, principal, now)
                narrow = _as_dict(facet_counts(session, clauses, now))
                assert narrow == naive_counts(session, clauses, now), (principal, now, params)
            for turn in (p + 3 * c, p + 3 * c + 3, p + 3 * c + 6):
                name, values = ONE_VALUE_FILTERS[turn % len(ONE_VALUE_FILTERS)]
                params = SearchParams(**{name: values[(p + 2 * c) % len(values)]})
                clauses = filter_clauses(session, params, principal, now)
                one = one_value_filter(params, clauses)
                assert one is not None and one[0] == name
                paired = tallied_counts(session, principal, now, one, clauses[1])
                naive = naive_counts(session, clauses, now)
                assert _as_dict(paired) == naive, (principal, now, params)


def _two_filters(turn: int, now: datetime) -> dict[str, object]:
    """Filters the tallies do not count for (`one_value_filter` is None): two values, a
    value and a time or a place, a value and words."""
    first, second = ONE_VALUE_FILTERS[turn % 8], ONE_VALUE_FILTERS[(turn * 3 + 1) % 8]
    if first[0] == second[0]:
        second = ONE_VALUE_FILTERS[(turn + 1) % 8]
    pick = {first[0]: first[1][turn % len(first[1])]}
    others: list[dict[str, object]] = [
        {second[0]: second[1][(turn // 2) % len(second[1])]},
        {"start": now - timedelta(days=1)},
        {"bbox": (60.0, -10.0, 80.0, 20.0)},
        {"q": "ramanathan"},
    ]
    return pick | others[turn % len(others)]


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
        "start": NOW + timedelta(days=rng.choice((-3, 0, 3))),
        "stop": NOW + timedelta(days=rng.choice((-2, 1, 4))),
        "south": rng.choice((None, -5.0, 15.0)),
        "north": rng.choice((None, 10.0, 30.0)),
        "west": rng.choice((None, 55.0, 70.0)),
        "east": rng.choice((None, 75.0, 100.0)),
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
    # Keys changed in place, a variable moved to another dataset, many rows in one statement.
    db.execute(update(Variable).where(Variable.name == "Temp").values(name_key="rh"))
    db.execute(update(Variable).where(Variable.name == "NO2").values(original_name="O3"))
    first, last = min(new_id), max(new_id)
    db.execute(update(Variable).where(Variable.dataset_id == first).values(dataset_id=last))
    db.execute(
        insert(Variable),
        [{"dataset_id": first, "name": n, "name_key": n.lower(), "original_name": o}
         for n, o in (("CO", "co"), ("Co2", "CO"), ("RH", "x"), ("RH", "rh"))],
    )  # fmt: skip
    db.commit()
    assert_consistent(db)
    pairs = db.scalar(select(func.count()).select_from(FacetPairTally))
    db.execute(update(Variable).values(unit="ppbv"))  # no name, key or dataset changes
    db.commit()
    assert db.scalar(select(func.count()).select_from(FacetPairTally)) == pairs
    db.execute(delete(Variable).where(Variable.dataset_id.in_([first, last])))
    db.commit()
    assert_consistent(db)
    engine = db.get_bind()
    assert isinstance(engine, Engine)
    folded = compact_tallies(engine, window=seed + 5)  # SQLite: in windows of a few rows
    assert folded > 0
    assert_consistent(db)
    assert compact_tallies(engine) == 0  # nothing left to fold: nothing written
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


def _rows_and_keys(db: Session) -> tuple[int, int]:
    keys = "by_facet, by_key, by_day, facet, value, shared, release_day"
    return db.execute(
        text(f"SELECT sum(c), count(*) FROM (SELECT count(*) AS c FROM facet_pair_tallies "
             f"GROUP BY {keys}) AS k")
    ).one()  # fmt: skip


def test_the_fold_holds_writers_up_one_window_at_a_time(db: Session, engine: Engine) -> None:
    """On SQLite the fold commits every few rows (the window), the sums carried from one
    window to the next: one row per key at the end, the counts unchanged. A writer changing
    datasets all the while (between the windows' transactions) loses nothing: its rows are
    folded or left for the next fold, and the counts stay exact."""
    rng = random.Random(5)
    datasets = [
        make_dataset(db, variables=tuple(rng.sample(VARIABLES, 2)), **random_fields(rng))
        for _ in range(30)
    ]
    db.commit()
    rows, keys = _rows_and_keys(db)
    assert rows > keys  # something to fold
    commits: list[int] = []
    fold = threading.current_thread()

    def counted(_conn: Any) -> None:
        if threading.current_thread() is fold:
            commits.append(1)

    event.listen(engine, "commit", counted)
    stop = threading.Event()

    written: list[int] = []

    def writer() -> None:
        step = 0
        while not stop.is_set():
            step += 1
            written.append(step)
            dataset = datasets[step % len(datasets)]
            with engine.begin() as conn:
                conn.execute(
                    update(Dataset).where(Dataset.id == dataset.id)
                    .values(platform=rng.choice(["ER-2", "Citation", "Ron Brown"]))
                )  # fmt: skip

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        assert compact_tallies(engine, window=rows // 40) > 0
    finally:
        stop.set()
        thread.join(timeout=30)
        event.remove(engine, "commit", counted)
    assert written  # the writer ran beside the fold
    if engine.dialect.name == "sqlite":
        assert len(commits) >= 40  # the fold's windows, each a transaction
    db.expire_all()
    assert_consistent(db)
    compact_tallies(engine)  # what the writer appended meanwhile
    rows, keys = _rows_and_keys(db)
    assert rows == keys


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
    assert set(TRIGGERS) <= trigger_names(engine)


def _beside(
    engine: Engine, statement: Any, start: threading.Event | None = None
) -> tuple[threading.Event, Callable[[], bool]]:
    """Run `statement` in a transaction of its own on another thread (once `start` is set):
    the event set when it committed, and a call waiting for that (True if it did)."""
    done = threading.Event()

    def run() -> None:
        if start is not None:
            start.wait(30)
        with engine.begin() as conn:
            conn.execute(statement)
        done.set()

    thread = threading.Thread(target=run)
    thread.start()

    def committed() -> bool:
        thread.join(timeout=30)
        return done.is_set()

    return done, committed


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
    hide = update(Dataset).where(Dataset.id == dataset.id).values(access_state="private")
    _, committed = _beside(engine, hide)
    time.sleep(0.5)  # the access change is under way (waiting for the writer's lock)
    writer.commit()
    writer.close()
    assert committed()
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


def test_a_search_filtered_by_two_values_counts_over_the_facet_rows(db: Session) -> None:
    """Two filters are counted over the narrow facet rows (a value changed only there shows),
    and the page itself still comes from the datasets; a recount puts the copy right."""
    for platform in ("Citation", "Citation", "NCAR C-130"):
        make_dataset(db, platform=platform, project="INDOEX", level=1)
    db.commit()
    citation = db.scalars(select(Dataset.id).where(Dataset.platform == "Citation")).first()
    db.execute(update(FACET_ROWS).where(FACET_ROWS.c.id == citation).values(pi_name="PLANTED"))
    db.commit()
    anon = Principal.anonymous()

    def pis(**filters: str) -> tuple[dict[str, int], int]:
        page = search_datasets(db, SearchParams(limit=5, **filters), anon, NOW)
        return {f.value: f.count for f in page.facets["pi"]}, len(page.items)

    assert pis(platform="citation", level="1") == ({"PLANTED": 1, "Ramanathan": 1}, 2)
    assert pis(platform="citation") == ({"Ramanathan": 2}, 2)  # the pair tallies
    if db.get_bind().dialect.name == "postgresql":  # the variables from the facet rows' arrays
        planted = {"variable_keys": ["planted"], "variable_names": ["Planted"]}
        db.execute(update(FACET_ROWS).where(FACET_ROWS.c.id == citation).values(planted))
        db.commit()
        page = search_datasets(db, SearchParams(variable="PLANTED", level="1"), anon, NOW)
        assert (page.total, page.items) == (1, [])  # counted from the facet rows only
        assert {f.value: f.count for f in page.facets["variable"]} == {"Planted": 1}
    rebuild_tallies(db.connection())
    db.commit()
    assert pis(platform="citation", level="1") == ({"Ramanathan": 2}, 2)
    page = search_datasets(db, SearchParams(variable="PLANTED", level="1"), anon, NOW)
    assert page.total == 0


_other = case((Dataset.origin_center == "JOSS", "NPL"), else_="JOSS")
"""A hand-over's change of origin: each dataset to the other center."""


def _appended(db: Session) -> int:
    return db.scalar(select(func.count()).select_from(FacetPairTally)) or 0


def test_a_bulk_update_with_the_tallies_paused_counts_as_its_triggers_would(db: Session) -> None:
    """A bulk writer (a hand-over's change of origin) pauses its datasets' update triggers
    and tallies them set-based: the counts are those of the rows, a dataset updated beside
    it in the same transaction is still tallied by its trigger, and many alike datasets
    append about as many rows as one does."""
    rng = random.Random(11)
    mixed = [
        make_dataset(
            db, variables=tuple(rng.sample(VARIABLES, rng.randint(0, 3))), **random_fields(rng)
        )
        for _ in range(25)
    ]
    alike = [make_dataset(db, variables=("O3", "CO"), origin_center="JOSS") for _ in range(40)]
    db.commit()
    before = _appended(db)
    db.execute(update(Dataset).where(Dataset.id == alike[0].id).values(origin_center="NPL"))
    one = _appended(db) - before  # what one dataset's trigger appends for this change
    db.rollback()
    before = _appended(db)
    with tallies_paused(db, [d.id for d in alike], {"origin_center"}):
        db.execute(
            update(Dataset).where(Dataset.id.in_([d.id for d in alike])).values(origin_center="NPL")
        )
    assert one > 50 and _appended(db) - before <= 2 * one  # not 40 times one
    chosen = [d.id for d in mixed[:15]]
    with tallies_paused(db, chosen, ["origin_center", "access_state", "platform", "release_at"]):
        db.execute(update(Dataset).where(Dataset.id.in_(chosen)).values(origin_center=_other))
        db.execute(
            update(Dataset).where(Dataset.id.in_(chosen[:6]))
            .values(access_state="private", platform="Citation", release_at=None)
        )  # fmt: skip
    db.execute(update(Dataset).where(Dataset.id == mixed[20].id).values(origin_center=_other))
    db.commit()
    assert db.scalar(select(func.count()).select_from(FacetTallyPause)) == 0
    db.expire_all()
    assert_consistent(db)


def test_paused_tallies_are_counted_back_when_the_block_fails(db: Session) -> None:
    """A block that raises after its update leaves the tallies counted as the rows stand
    (the caller may still commit what it did), and nothing paused; pausing twice in one
    transaction is refused."""
    datasets = [make_dataset(db, variables=("O3",), platform="Citation") for _ in range(5)]
    db.commit()
    ids = [d.id for d in datasets]
    with pytest.raises(ZeroDivisionError), tallies_paused(db, ids, {"platform"}):
        db.execute(update(Dataset).where(Dataset.id.in_(ids[:3])).values(platform="ER-2"))
        _ = 1 / 0
    with tallies_paused(db, ids[:1], {"platform"}):
        with (
            pytest.raises(RuntimeError, match="paused already"),
            tallies_paused(db, ids[1:], {"platform"}),
        ):
            pass
    db.commit()
    assert db.scalar(select(func.count()).select_from(FacetTallyPause)) == 0
    db.expire_all()
    assert_consistent(db)
    anon = Principal.anonymous()
    assert _as_dict(tallied_counts(db, anon, NOW))[0]["platform"] == {"ER-2": 3, "Citation": 2}


def test_only_the_counts_reading_the_changed_columns_are_recounted(db: Session) -> None:
    """A change of origin declared as such recounts the center facet and the center filter's
    pairs only: a fraction of the rows a pause of every column appends, the same counts."""
    rng = random.Random(12)
    datasets = [
        make_dataset(db, variables=tuple(rng.sample(VARIABLES, 2)), **random_fields(rng))
        for _ in range(30)
    ]
    db.commit()
    ids = [d.id for d in datasets]
    appended = {}
    for columns in (["origin_center"], WATCHED):
        before = _appended(db)
        with tallies_paused(db, ids, columns):
            db.execute(update(Dataset).where(Dataset.id.in_(ids)).values(origin_center=_other))
        appended[len(columns)] = _appended(db) - before
        db.commit()
        db.expire_all()
        assert_consistent(db)
    assert 0 < appended[1] < appended[len(WATCHED)] / 3


def test_a_block_changing_what_it_did_not_declare_is_refused(db: Session) -> None:
    """The tallies of a column the pause was not told of would be wrong: the block is
    refused when it ends (and a deleted paused dataset too), the counts still true after
    the rollback; a block declaring no column a tally reads pauses nothing, so its changes
    are tallied by the triggers as usual."""
    datasets = [make_dataset(db, variables=("O3",), platform="Citation") for _ in range(4)]
    db.commit()
    ids = [d.id for d in datasets]
    with pytest.raises(RuntimeError, match=r"changed \['platform'\]"):
        with tallies_paused(db, ids, ["origin_center"]):
            db.execute(update(Dataset).where(Dataset.id.in_(ids)).values(platform="ER-2"))
    db.rollback()
    with pytest.raises(RuntimeError, match="deleted"), tallies_paused(db, ids, ["platform"]):
        db.execute(delete(Dataset).where(Dataset.id == ids[0]))
    db.rollback()
    with tallies_paused(db, ids, ["title"]):
        assert db.scalar(select(func.count()).select_from(FacetTallyPause)) == 0
        db.execute(update(Dataset).where(Dataset.id.in_(ids)).values(platform="ER-2"))
    db.commit()
    counts = _as_dict(tallied_counts(db, Principal.anonymous(), NOW))[0]
    assert counts["platform"] == {"ER-2": 4}
    db.expire_all()
    assert_consistent(db)


def test_a_writer_of_a_paused_dataset_waits_and_is_tallied_after(
    db: Session, engine: Engine
) -> None:
    """Two writers at once: a bulk writer pauses a dataset's tallies while another changes
    the same row. The second waits for the first (PostgreSQL: the row lock taken before
    the rows are counted; SQLite: the write lock), and each change is counted once."""
    dataset = make_dataset(db, variables=("O3",), platform="Citation")
    db.commit()
    writer = make_session_factory(engine)()
    started = threading.Event()
    edit = update(Dataset).where(Dataset.id == dataset.id).values(platform="ER-2")
    done, committed = _beside(engine, edit, started)
    with tallies_paused(writer, [dataset.id], {"origin_center"}):
        started.set()
        time.sleep(0.5)  # the edit is under way, waiting for the row lock
        assert not done.is_set()
        writer.execute(update(Dataset).where(Dataset.id == dataset.id).values(origin_center="NPL"))
    writer.commit()
    writer.close()
    assert committed()
    db.expire_all()
    assert_consistent(db)
    counts = _as_dict(tallied_counts(db, Principal.anonymous(), NOW))[0]
    assert counts["platform"] == {"ER-2": 1} and counts["center"] == {"NPL": 1}
