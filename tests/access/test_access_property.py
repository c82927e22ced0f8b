"""Property: through the real API, for random states, release dates, callers, grants, named
readers and clocks, search lists exactly the datasets DESIGN.md's access model lets the caller
see, and the data route answers 200 / 403 / 404 exactly as that model says (an independent
oracle). Callers include a PI vouched for by a peer and a named reader."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, update

from archive_center.app import create_app
from catalog.access_models import DatasetReader
from catalog.auth_models import AccessGrant
from catalog.models import Dataset
from catalog.users import hash_token
from tests.access.matrix_node import NOW, MatrixNode, seed_matrix
from tests.archive_center.conftest import database_url, make_settings  # noqa: F401

HOLDER = "fcg_property-holder-secret-0123456789"
CALLERS = ("anonymous", "other", "owner", "staff", "admin", "holder", "vouched", "reader")
STATES = ("open", "embargoed", "password", "campaign", "private", "withdrawn")
MEMBERS = ("other", "owner", "vouched", "reader")
"""PIs of the campaign: every local PI, and the PI that NPL vouches for."""
DATASETS = 8


@pytest.fixture(scope="module")
def prop(
    tmp_path_factory: pytest.TempPathFactory,
    database_url: str | None,  # noqa: F811
) -> Iterator[MatrixNode]:
    """The matrix node (seven datasets owned by `owner`), its clock movable by the test."""
    settings = make_settings(tmp_path_factory.mktemp("prop"), database_url)
    app = create_app(settings)
    with TestClient(app) as client:
        ids, headers = seed_matrix(app, tmp_path_factory.mktemp("files"))
        headers["holder"] = {"X-FieldCat-Grant": HOLDER}
        headers["vouched"] = {"Authorization": f"Bearer {_vouched_token(app)}"}
        yield MatrixNode(app, client, client, ids, headers)


def _vouched_token(app: object) -> str:
    """A session of NPL's PI that outlives every clock the test sets."""
    from catalog.vouched import start_vouched_session

    with app.state.session_factory() as session, session.begin():  # type: ignore[attr-defined]
        return start_vouched_session(
            session, center="NPL", username="npl-pi", display_name="", email="",
            campaigns=["INDOEX"], now=NOW, expires_at=NOW + timedelta(days=30),
        )  # fmt: skip


def oracle(  # type: ignore[no-untyped-def]
    state: str, release_days: int | None, clock: int, caller: str, granted: bool,
    named: int | None = None,
):  # fmt: skip
    """(sees, reads) from the design's words, not from `catalog.access`. `named`: the day the
    `reader` caller's entry on the dataset ends (None: no entry)."""
    staff = caller in ("staff", "admin")
    restricted = state in ("embargoed", "password", "campaign")
    released = restricted and release_days is not None
    released = released and release_days <= clock  # type: ignore[operator]
    sees = (
        staff
        or state in ("open", "embargoed", "password", "campaign")
        or (state == "private" and caller == "owner")
    )
    if not sees:
        return False, False
    reads = (
        staff
        or state == "open"
        or released
        or (caller == "owner" and state != "withdrawn")
        or (state == "password" and caller == "holder" and granted)
        or (state == "campaign" and caller in MEMBERS)
        or (restricted and caller == "reader" and named is not None and named > clock)
    )
    return True, reads


days_st = st.one_of(st.none(), st.integers(-3, 3))
row_st = st.tuples(st.sampled_from(STATES), days_st, st.booleans(), days_st)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    rows=st.lists(row_st, min_size=DATASETS, max_size=DATASETS),
    caller=st.sampled_from(CALLERS),
    clock=st.integers(-4, 4),
    probe=st.integers(0, DATASETS - 1),
)
def test_search_and_data_follow_the_access_model(
    prop: MatrixNode,
    rows: list[tuple[str, int | None, bool, int | None]],
    caller: str,
    clock: int,
    probe: int,
) -> None:
    ids = list(prop.ids.values())
    with prop.app.state.session_factory() as session, session.begin():
        session.execute(delete(AccessGrant))
        session.execute(delete(DatasetReader))
        for public_id, (state, days, granted, named) in zip(ids, rows, strict=True):
            release = None if days is None else NOW + timedelta(days=days)
            session.execute(
                update(Dataset)
                .where(Dataset.public_id == public_id)
                .values(access_state=state, release_at=release)
            )
            dataset_id = session.query(Dataset.id).filter_by(public_id=public_id).scalar()
            if named is not None:
                session.add(
                    DatasetReader(
                        dataset_id=dataset_id, center="JOSS", username="reader",
                        expires_at=NOW + timedelta(days=named), added_by="property",
                        added_at=NOW - timedelta(days=10),
                    )
                )  # fmt: skip
            if granted:
                session.add(
                    AccessGrant(
                        holder_hash=hash_token(HOLDER), dataset_id=dataset_id,
                        created_at=NOW, expires_at=NOW + timedelta(days=30),
                    )
                )  # fmt: skip
    now = NOW + timedelta(days=clock)
    prop.app.state.clock = lambda: now
    headers = prop.headers[caller]
    expected = {
        pid
        for pid, (state, days, granted, named) in zip(ids, rows, strict=True)
        if oracle(state, days, clock, caller, granted, named)[0]
    }
    page = prop.client.get("/api/v1/datasets?limit=1000", headers=headers)
    assert page.status_code == 200
    assert {item["public_id"] for item in page.json()["items"]} == expected
    assert page.json().get("total") in (None, len(expected))
    state, days, granted, named = rows[probe]
    sees, reads = oracle(state, days, clock, caller, granted, named)
    data = prop.client.get(f"/api/v1/datasets/{ids[probe]}/data", headers=headers)
    assert data.status_code == (200 if reads else 403 if sees else 404), (rows[probe], caller)
