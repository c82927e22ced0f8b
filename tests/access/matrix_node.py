"""A node seeded with one dataset per access state, each carrying canary strings.

Metadata canaries (`MCANARY<state>`) sit in the PI name and title; data canaries (a unique
number) sit in the rows only. Where the policy says no, neither may appear in any answer.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from fastapi import FastAPI
from fastapi.testclient import TestClient

from catalog.access import AccessState
from catalog.access_admin import AccessRequest, change_access
from catalog.grants import set_dataset_password
from catalog.schemas import Principal, Role
from catalog.users import create_user, issue_api_token
from federation.peers import add_key, ensure_peer
from federation.signing import sign_headers

NOW = datetime(2026, 1, 1, tzinfo=UTC)
FUTURE = NOW + timedelta(days=365)
PAST = NOW - timedelta(days=1)
USER_PASSWORD = "correct horse battery"
DATASET_PASSWORD = "dataset pass phrase"
STATES = (
    "open", "embargoed", "embargo_passed", "password", "private", "withdrawn", "reembargoed",
    "campaign",
)  # fmt: skip
CALLERS = (
    "anonymous", "other", "owner", "holder", "staff", "admin", "peer", "outsider",
    "vouched", "reader", "expired_reader", "requester",
)  # fmt: skip
"""`holder` presents a dataset-password grant; `peer` is center NPL signing its requests as
the federation protocol does (no user behind it); `outsider` is admin's token sent to the
read-only public listener; `vouched` is a PI of NPL signed in there (its assertion exchanged
here); `reader` is a PI named as a reader of the restricted datasets, `expired_reader` one
whose entries expired; `requester` a PI who asked for access to the embargoed dataset (and is
still waiting). Every local PI and the vouched PI are members of the campaign."""
NAMED_ON = ("embargoed", "password", "reembargoed", "campaign")
"""The datasets naming `reader` (live) and `expired_reader` (expired) as readers."""
MEMBERS = frozenset({"owner", "other", "vouched", "reader", "expired_reader", "requester"})
"""Who reads campaign-tier data: every PI of the campaign, here or vouched for by a peer."""
NO_LOCAL_USER = ("anonymous", "holder", "peer", "outsider", "vouched")
"""Callers that are not a user of this center (a role route answers them 401)."""
PEER_CODE = "NPL"
PEER_KEY = ("matrix-key", "matrix peer secret, 32 chars or more")
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
    "campaign": frozenset(CALLERS),
}
READS: dict[str, frozenset[str]] = {
    "open": frozenset(CALLERS),
    "embargoed": frozenset({"owner", "staff", "admin", "reader"}),
    "embargo_passed": frozenset(CALLERS),
    "password": frozenset({"owner", "holder", "staff", "admin", "reader"}),
    "private": frozenset({"owner", "staff", "admin"}),
    "withdrawn": STAFF_LIKE,
    "reembargoed": frozenset({"owner", "staff", "admin", "reader"}),
    "campaign": MEMBERS | STAFF_LIKE,
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

    def client_for(self, caller: str) -> TestClient:
        """The outsider reaches the public listener; every other caller the LAN one."""
        return self.public_client if caller == "outsider" else self.client

    def request(
        self,
        caller: str,
        method: str,
        path: str,
        query: str = "",
        *,
        body: bytes = b"",
        extra: dict[str, str] | None = None,
    ) -> httpx.Response:
        """One request as `caller` (the peer signs it, as federation does); cookies cleared."""
        headers = dict(self.headers[caller]) | (extra or {})
        if body:
            headers["Content-Type"] = "application/json"
        if caller == "peer":
            key_id, secret = PEER_KEY
            headers |= sign_headers(
                sender=PEER_CODE,
                audience="JOSS",
                key_id=key_id,
                secret=secret,
                method=method,
                path=path,
                query=query,
                body=body,
                now=NOW,
            )
        client = self.client_for(caller)
        url = path + (f"?{query}" if query else "")
        response = client.request(method, url, headers=headers, content=body or None)
        client.cookies.clear()
        return response


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
    release = {"embargoed": FUTURE, "password": FUTURE, "embargo_passed": PAST, "campaign": FUTURE}
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
    plan = {"owner": Role.PI, "other": Role.PI, "staff": Role.STAFF, "admin": Role.ADMIN,
            "reader": Role.PI, "expired_reader": Role.PI, "requester": Role.PI}  # fmt: skip
    owner_id = 0
    with app.state.session_factory() as session, session.begin():
        for name, role in plan.items():
            user = create_user(session, username=name, password=USER_PASSWORD, role=role, now=NOW)
            token = issue_api_token(session, user, name="matrix", now=NOW)
            headers[name] = {"Authorization": f"Bearer {token}"}
            owner_id = user.id if name == "owner" else owner_id
        ensure_peer(session, PEER_CODE, "http://npl.invalid", "NPL New Delhi", NOW)
        add_key(session, PEER_CODE, NOW, key_id=PEER_KEY[0], secret=PEER_KEY[1])
    ids = {state: _register(app, state, i, owner_id, tmp) for i, state in enumerate(STATES)}
    headers["peer"] = {}  # signed per request by MatrixNode.request
    headers["outsider"] = headers["admin"]  # on the public listener, credentials count for nothing
    _name_readers(app, ids)
    _certify(app)
    return ids, headers


def _certify(app: FastAPI) -> None:
    """Calibration 1 with its certificate file, so its public GET answers with the file;
    station 1, so its staff edit page answers."""
    from catalog.certificates import store_certificate
    from catalog.registry import (
        InstrumentInput,
        PlaceInput,
        add_calibration,
        add_instrument,
        add_place,
    )
    from submissions.staging import Stager

    staff = Principal(username="seed", role=Role.STAFF)
    store = app.state.store
    with Stager(store, 1 << 20) as stager:
        stager.write(b"%PDF-1.4 matrix certificate")
        staged = stager.finish()
    with app.state.session_factory() as session, session.begin():
        add_place(session, PlaceInput(kind="station", name="matrix station"), NOW)
        instrument = add_instrument(session, InstrumentInput(name="matrix photometer"), NOW)
        cal = add_calibration(
            session, instrument.id, valid_from=NOW - timedelta(days=1), valid_to=None,
            parameters={}, now=NOW,
        )  # fmt: skip
        session.flush()
        store_certificate(
            session, store, cal.id, staged=staged.path, sha256=staged.sha256, name="m.pdf",
            actor=staff, now=NOW,
        )  # fmt: skip


def _name_readers(app: FastAPI, ids: dict[str, str]) -> None:
    from catalog.models import Dataset
    from catalog.readers import Reader, put_reader

    staff = Principal(username="seed", role=Role.STAFF)
    with app.state.session_factory() as session, session.begin():
        for state in NAMED_ON:
            dataset = session.query(Dataset).filter(Dataset.public_id == ids[state]).one()
            for who, until in (("reader", FUTURE), ("expired_reader", NOW - timedelta(hours=1))):
                entry = Reader(center="JOSS", username=who, expires_at=until)
                put_reader(
                    session,
                    dataset,
                    entry,
                    actor=staff,
                    reason="matrix",
                    now=NOW - timedelta(days=1),
                )


def vouched_assertion(now: datetime = NOW, audience: str = "JOSS") -> str:
    """An assertion of NPL for its PI `npl-pi`, signed with the key NPL shares with JOSS."""
    from joserfc import jwt
    from joserfc.jwk import OctKey

    claims = {
        "iss": PEER_CODE, "aud": audience, "sub": "npl-pi", "campaigns": ["INDOEX"],
        "iat": int(now.timestamp()), "exp": int(now.timestamp()) + 120,
        "jti": secrets.token_hex(16),
    }  # fmt: skip
    header = {"alg": "HS256", "kid": PEER_KEY[0]}
    return jwt.encode(header, claims, OctKey.import_key(PEER_KEY[1]))
