"""A node seeded with one dataset per access state, each carrying canary strings.

Metadata canaries (`MCANARY<state>`) sit in the PI name and title; data canaries (a unique
number) sit in the rows only. Where the policy says no, neither may appear in any answer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient

from catalog.access import AccessState
from catalog.access_admin import AccessRequest, change_access
from catalog.grants import set_dataset_password
from catalog.schemas import Principal, Role
from catalog.users import create_user, issue_api_token

NOW = datetime(2026, 1, 1, tzinfo=UTC)
FUTURE = NOW + timedelta(days=365)
PAST = NOW - timedelta(days=1)
USER_PASSWORD = "correct horse battery"
DATASET_PASSWORD = "dataset pass phrase"
STATES = (
    "open", "embargoed", "embargo_passed", "password", "private", "withdrawn", "reembargoed",
)  # fmt: skip
CALLERS = ("anonymous", "other", "owner", "holder", "staff", "admin", "outsider")
STAFF_LIKE = frozenset({"staff", "admin"})

# Expectations written from DESIGN.md's access model, not read back from the policy.
SEES: dict[str, frozenset[str]] = {
    "open": frozenset(CALLERS),
    "embargoed": frozenset(CALLERS),
    "embargo_passed": frozenset(CALLERS),
    "password": frozenset(CALLERS),
    "private": frozenset({"owner", "staff", "admin"}),
    "withdrawn": STAFF_LIKE,
    "reembargoed": frozenset(CALLERS),
}
READS: dict[str, frozenset[str]] = {
    "open": frozenset(CALLERS),
    "embargoed": frozenset({"owner", "staff", "admin"}),
    "embargo_passed": frozenset(CALLERS),
    "password": frozenset({"owner", "holder", "staff", "admin"}),
    "private": frozenset({"owner", "staff", "admin"}),
    "withdrawn": STAFF_LIKE,
    "reembargoed": frozenset({"owner", "staff", "admin"}),
}


def meta_canary(state: str) -> str:
    """The string planted in a dataset's metadata."""
    return f"MCANARY{state.replace('_', '')}"


def data_canary(index: int) -> str:
    """The number planted in a dataset's rows (as the file and CSV print it)."""
    return f"7319.{index + 11}"


def header_file(state: str, index: int) -> str:
    """A small valid campaign file whose metadata and data carry the state's canaries."""
    rows = "\n".join(
        f"1999-02-01T0{h}:00:00Z {18.2 + h:.2f} {data_canary(index) if h == 3 else '0.36'}"
        for h in range(6)
    )
    return (
        f"DID = {900 + index}\n"
        "FILE START TIME (UTC) = 1999-02-01T00:00:00Z\n"
        "FILE STOP TIME (UTC) = 1999-02-01T05:00:00Z\n"
        f"PI NAME = Pi {meta_canary(state)}\n"
        f"PLATFORM = Platform {meta_canary(state)}\n"
        "INSTRUMENT = Ozone sonde\n"
        "LOCATION = Kaashidhoo, Maldives; 4.965N 73.466E\n"
        "DATA VERSION = 1.0\n"
        "REMARKS = access matrix dataset\n"
        "##END OF HEADER##\n"
        "DATE/TIME O3 AOD500\n"
        "UTC ppbv 1\n"
        f"{rows}\n"
    )


@dataclass
class MatrixNode:
    """The seeded node: its apps, clients, dataset ids per state and caller headers."""

    app: FastAPI
    client: TestClient
    public_client: TestClient
    ids: dict[str, str]
    headers: dict[str, dict[str, str]] = field(default_factory=dict)


def _register(app: FastAPI, state: str, index: int, owner_id: int, tmp: Path) -> str:
    import formats
    from catalog.registration import register_datafile
    from catalog.storage import ArchiveStore
    from formats.timeparse import CampaignTime

    store: ArchiveStore = app.state.store
    campaign = CampaignTime(
        year=1999, start=datetime(1999, 1, 1, tzinfo=UTC), end=datetime(1999, 3, 31, tzinfo=UTC)
    )
    source = tmp / f"{state}.txt"
    source.write_text(header_file(state, index))
    datafile = formats.read(source, campaign=campaign, filename=source.name)
    staged = store.new_staging_path()
    staged.write_bytes(source.read_bytes())
    sha256, path = store.put_original(staged)
    stored = {"embargo_passed": "embargoed", "withdrawn": "open", "reembargoed": "open"}
    release = {"embargoed": FUTURE, "password": FUTURE, "embargo_passed": PAST}
    with app.state.session_factory() as session, session.begin():
        dataset = register_datafile(
            session, datafile=datafile, sha256=sha256, size=path.stat().st_size,
            original_name=source.name, center_code="JOSS", campaign_code="INDOEX",
            owner_user_id=owner_id, access_state=stored.get(state, state),
            release_at=release.get(state), now=NOW - timedelta(days=30),
        )  # fmt: skip
        if state == "embargo_passed":
            dataset.release_at = PAST
        if state == "password":
            set_dataset_password(session, dataset, DATASET_PASSWORD)
        staff = Principal(user_id=None, username="seed", role=Role.STAFF)
        later = {"withdrawn": AccessState.WITHDRAWN, "reembargoed": AccessState.EMBARGOED}
        if state in later:
            request = AccessRequest(state=later[state], reason="matrix seed", release_at=FUTURE)
            change_access(session, dataset.public_id, request, actor=staff, now=NOW)
        return dataset.public_id


def seed_matrix(app: FastAPI, tmp: Path) -> tuple[dict[str, str], dict[str, dict[str, str]]]:
    """Users with tokens, then one dataset per state owned by `owner`."""
    headers: dict[str, dict[str, str]] = {"anonymous": {}}
    plan = {"owner": Role.PI, "other": Role.PI, "staff": Role.STAFF, "admin": Role.ADMIN}
    owner_id = 0
    with app.state.session_factory() as session, session.begin():
        for name, role in plan.items():
            user = create_user(session, username=name, password=USER_PASSWORD, role=role, now=NOW)
            token = issue_api_token(session, user, name="matrix", now=NOW)
            headers[name] = {"Authorization": f"Bearer {token}"}
            owner_id = user.id if name == "owner" else owner_id
    ids = {state: _register(app, state, i, owner_id, tmp) for i, state in enumerate(STATES)}
    headers["outsider"] = headers["admin"]  # on the public listener, credentials count for nothing
    return ids, headers
