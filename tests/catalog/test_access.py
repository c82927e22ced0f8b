"""The access policy: per-object decisions, and their SQL twins agreeing with them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog.access import (
    AccessState,
    can_read_data,
    can_see_metadata,
    data_readable_filter,
    effective_state,
    visible_filter,
)
from catalog.errors import NotFoundError, PermissionDeniedError
from catalog.models import Dataset
from catalog.schemas import Principal, Role, SearchParams
from catalog.search import get_dataset, load_dataset_for_data, search_datasets
from tests.catalog.conftest import NOW
from tests.catalog.factories import make_dataset
from web.links import API_LINKS

OWNER_ID, OTHER_ID = 1, 2
ANON = Principal.anonymous()
OWNER = Principal(user_id=OWNER_ID, username="owner", role=Role.PI)
OTHER = Principal(user_id=OTHER_ID, username="other", role=Role.PI)
STAFF = Principal(user_id=3, username="staff", role=Role.STAFF)
ADMIN = Principal(user_id=4, username="admin", role=Role.ADMIN)
PEER = Principal(username="NPL", role=Role.PEER)
LATER = NOW + timedelta(days=30)
EARLIER = NOW - timedelta(days=30)


class Row:
    def __init__(self, state: str, release_at=None, owner=OWNER_ID, public_id="ds1") -> None:
        self.public_id, self.access_state = public_id, state
        self.release_at, self.owner_user_id = release_at, owner


def holder() -> Principal:
    return Principal(
        user_id=OTHER_ID, username="other", role=Role.PI, dataset_grants=frozenset({"ds1"})
    )


# (state, release_at) -> "sees metadata, reads data" per caller, in CALLERS order
CALLERS = ("anon", "other", "owner", "holder", "staff", "peer")
MATRIX = {
    ("open", None): "11 11 11 11 11 11",
    ("embargoed", LATER): "10 10 11 10 11 10",
    ("embargoed", EARLIER): "11 11 11 11 11 11",
    ("embargoed", None): "10 10 11 10 11 10",
    ("password", LATER): "10 10 11 11 11 10",
    ("password", EARLIER): "11 11 11 11 11 11",
    ("private", None): "00 00 11 00 11 00",
    ("withdrawn", None): "00 00 00 00 11 00",
}


@pytest.mark.parametrize(("state", "release_at"), list(MATRIX))
def test_decision_matrix(state: str, release_at) -> None:
    callers = {
        "anon": ANON,
        "other": OTHER,
        "owner": OWNER,
        "holder": holder(),
        "staff": STAFF,
        "peer": PEER,
    }
    row = Row(state, release_at)
    for name, expected in zip(CALLERS, MATRIX[(state, release_at)].split(), strict=True):
        caller = callers[name]
        got = f"{can_see_metadata(caller, row, NOW):d}{can_read_data(caller, row, NOW):d}"
        assert got == expected, f"{state}/{release_at} for {name}"
    assert can_see_metadata(ADMIN, row, NOW) and can_read_data(ADMIN, row, NOW)


def test_embargo_releases_by_the_clock_alone() -> None:
    row = Row("embargoed", NOW)
    assert effective_state(row, NOW - timedelta(seconds=1)) is AccessState.EMBARGOED
    assert effective_state(row, NOW) is AccessState.OPEN
    assert not can_read_data(ANON, row, NOW - timedelta(seconds=1))
    assert can_read_data(ANON, row, NOW)


def test_a_grant_opens_only_its_own_password_dataset() -> None:
    assert not can_read_data(holder(), Row("password", LATER, public_id="ds2"), NOW)
    assert not can_read_data(holder(), Row("embargoed", LATER), NOW)


def test_private_and_withdrawn_look_like_missing(db: Session) -> None:
    private = make_dataset(db, access_state="private", owner_user_id=None)
    gone = make_dataset(db, access_state="withdrawn")
    db.commit()
    messages = set()
    for public_id in (private.public_id, gone.public_id, "doesNotExist0000"):
        for fn in (get_dataset, load_dataset_for_data):
            with pytest.raises(NotFoundError) as info:
                fn(db, public_id, ANON, NOW)
            messages.add(str(info.value).replace(public_id, "<id>"))
    assert len(messages) == 1
    assert get_dataset(db, gone.public_id, STAFF, NOW).access_state == "withdrawn"


def test_data_of_an_embargoed_dataset_says_when(db: Session) -> None:
    held = make_dataset(db, access_state="embargoed", release_at=LATER, owner_user_id=OWNER_ID)
    db.commit()
    assert get_dataset(db, held.public_id, ANON, NOW).release_at == LATER
    with pytest.raises(PermissionDeniedError) as info:
        load_dataset_for_data(db, held.public_id, ANON, NOW)
    assert info.value.release_at == LATER
    assert LATER.isoformat() in str(info.value)
    assert load_dataset_for_data(db, held.public_id, OWNER, NOW).public_id == held.public_id
    assert load_dataset_for_data(db, held.public_id, ANON, LATER).public_id == held.public_id


def test_detail_links_a_mirror_to_its_origin(db: Session) -> None:
    mirror = make_dataset(db, origin_center="NPL")
    db.commit()
    detail = get_dataset(db, mirror.public_id, ANON, NOW, API_LINKS)
    assert detail.is_mirror
    assert detail.links["origin"] == f"http://npl.test/api/v1/datasets/{mirror.public_id}"
    assert "password_hash" not in detail.model_dump() and "owner_user_id" not in detail.model_dump()


STATES = [s.value for s in AccessState]
datasets_st = st.lists(
    st.tuples(
        st.sampled_from(STATES),
        st.one_of(st.none(), st.integers(-5, 5)),  # release offset in days
        st.sampled_from([None, OWNER_ID, OTHER_ID]),
    ),
    min_size=1,
    max_size=12,
)
principal_st = st.tuples(
    st.sampled_from(list(Role)),
    st.sampled_from([None, OWNER_ID, OTHER_ID]),
    st.sets(st.integers(0, 11)),  # grants: indices into the datasets
    st.booleans(),  # a member of the campaign
    st.sets(st.integers(0, 11)),  # named-reader entries: indices into the datasets
    st.booleans(),  # vouched for by a peer (a PI without a local id) when the role is PI
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=datasets_st, who=principal_st, clock=st.integers(-6, 6))
def test_search_and_filters_agree_with_the_per_object_decision(
    db: Session, rows, who, clock
) -> None:
    try:
        made = [
            make_dataset(
                db,
                access_state=state,
                release_at=None if offset is None else NOW + timedelta(days=offset),
                owner_user_id=owner,
                title=f"d{i}",
            )
            for i, (state, offset, owner) in enumerate(rows)
        ]
        role, user_id, grant_idx, member, named_idx, vouched = who
        grants = frozenset(made[i].public_id for i in grant_idx if i < len(made))
        named = frozenset(made[i].public_id for i in named_idx if i < len(made))
        home = "NPL" if vouched and role is Role.PI else None
        principal = Principal(
            user_id=None if home else user_id, role=role, dataset_grants=grants,
            campaign_ids=frozenset({made[0].campaign_id}) if member else frozenset(),
            named_datasets=named, home_center=home,
        )  # fmt: skip
        now = NOW + timedelta(days=clock)
        _check_agreement(db, made, principal, now)
    finally:
        db.rollback()


def _check_agreement(db: Session, made: list[Dataset], principal: Principal, now) -> None:
    visible = {d.public_id for d in made if can_see_metadata(principal, d, now)}
    readable = {d.public_id for d in made if can_read_data(principal, d, now)}
    assert readable <= visible
    page = search_datasets(db, SearchParams(limit=1000), principal, now)
    assert {i.public_id for i in page.items} == visible
    assert page.total == len(visible)
    assert sum(f.count for f in page.facets["access"]) == len(visible)
    sql_visible = set(db.scalars(select(Dataset.public_id).where(visible_filter(principal, now))))
    sql_readable = set(
        db.scalars(select(Dataset.public_id).where(data_readable_filter(principal, now)))
    )
    assert sql_visible == visible
    assert sql_readable == readable
    for d in made:
        if d.public_id in readable:
            load_dataset_for_data(db, d.public_id, principal, now)
        elif d.public_id in visible:
            with pytest.raises(PermissionDeniedError):
                load_dataset_for_data(db, d.public_id, principal, now)
        else:
            with pytest.raises(NotFoundError):
                get_dataset(db, d.public_id, principal, now)
