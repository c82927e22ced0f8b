"""The shared-access part of `bench/access.py`: the campaign tier and 10,000 named-reader
entries added to the loaded catalog, the callers that use them (a local PI reading as a named
reader and campaign member, a PI vouched for by a peer), and `federated_signin_ms` on two real
nodes on loopback.

Named and vouched callers are built per request exactly as `web.deps.get_principal` builds
them (the vouched session looked up, the named-reader entries loaded), inside the timed call.

Not a script of its own: `bench/access.py` runs it and prints its figures and ratios in
its JSON line."""

from __future__ import annotations

import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import httpx
from sqlalchemy import Engine, insert, select, update
from sqlalchemy.orm import Session

from catalog.access_models import DatasetReader
from catalog.db import make_session_factory
from catalog.models import Dataset
from catalog.schemas import Principal, Role
from catalog.vouched import (
    LOCAL_CAMPAIGN_KEY,
    campaign_ids,
    resolve_vouched,
    start_vouched_session,
    with_memberships,
)

NAMED_ENTRIES = 10_000
READERS = 1_000
"""10,000 entries over 1,000 people (10 each), local and vouched alike."""
CAMPAIGN_SHARE = 0.1
"""The share of embargoed datasets moved to the campaign tier."""


def add_shared_access(engine: Engine, now: datetime, seed: int = 5) -> None:
    """Move a share of the restricted datasets to the campaign tier; add the named readers."""
    rng = random.Random(seed)
    with engine.begin() as conn:
        restricted = list(
            conn.scalars(select(Dataset.id).where(Dataset.access_state == "embargoed"))
        )
        moved = rng.sample(restricted, int(len(restricted) * CAMPAIGN_SHARE))
        for first in range(0, len(moved), 5000):
            chunk = moved[first : first + 5000]
            conn.execute(
                update(Dataset).where(Dataset.id.in_(chunk)).values(access_state="campaign")
            )
        ids = list(conn.scalars(select(Dataset.id)))
        rows = [
            {
                "dataset_id": dataset_id,
                "center": "JOSS" if person % 2 == 0 else "NPL",
                "username": f"reader{person}",
                "expires_at": now + timedelta(days=rng.choice([-10, 100])),
                "added_by": "bench",
                "added_at": now - timedelta(days=20),
            }
            for person in range(READERS)
            for dataset_id in rng.sample(ids, NAMED_ENTRIES // READERS)
        ]
        conn.execute(insert(DatasetReader), rows)


def node_session_info(engine: Engine) -> dict[str, Any]:
    """What a running node puts in every session's `info` (its campaign ids, found at start)."""
    with make_session_factory(engine)() as session:
        return {LOCAL_CAMPAIGN_KEY: campaign_ids(session, ["INDOEX"])}


def principal_calls(engine: Engine, now: datetime) -> dict[str, Callable[[Session], Principal]]:
    """Per request, in its session: the named local PI (`reader0` of JOSS), the vouched PI
    (`reader1` of NPL)."""
    factory = make_session_factory(engine)
    with factory() as session, session.begin():
        token = start_vouched_session(
            session, center="NPL", username="reader1", display_name="", email="",
            campaigns=["INDOEX"], now=now, expires_at=now + timedelta(days=1),
        )  # fmt: skip
        _ensure_peer(session, now)

    def named(session: Session) -> Principal:
        local = Principal(user_id=10_000, username="reader0", role=Role.PI)
        return with_memberships(session, local, local_center="JOSS", campaign="INDOEX", now=now)

    def vouched(session: Session) -> Principal:
        found = resolve_vouched(session, token, now)
        assert found is not None
        return with_memberships(session, found, local_center="JOSS", campaign="INDOEX", now=now)

    return {"named": named, "vouched": vouched}


def _ensure_peer(session: Any, now: datetime) -> None:
    from catalog.peer_records import ensure_peer

    ensure_peer(session, "NPL", "http://npl.test", "NPL", now)


# ---- federated_signin_ms: two real nodes on loopback ----------------------------------------


@contextmanager
def two_nodes() -> Iterator[dict[str, Any]]:
    """JOSS and NPL peered and running; a PI `alice` at JOSS; a campaign dataset at NPL and
    one at JOSS (the local baseline's)."""
    from tests.federation.cluster import build_cluster, close_all, start_all

    with tempfile.TemporaryDirectory(prefix="bench-signin-") as tmp:
        nodes = build_cluster(Path(tmp), [("JOSS", "NPL")], codes=("JOSS", "NPL"))
        for node in nodes.values():  # every round signs in again: no attempt limit here
            with node.config.open("a", encoding="utf-8") as config:
                config.write("\n[access]\npassword_attempts = 1000000\n")
        try:
            start_all(nodes)
            yield {
                "nodes": nodes,
                "npl": _campaign_dataset(nodes["NPL"]),
                "joss": _campaign_dataset(nodes["JOSS"]),
                "password": _pi(nodes["JOSS"], "alice"),
            }
        finally:
            close_all(nodes)


def _pi(node: Any, username: str) -> str:
    from catalog.users import create_user

    password = "bench-password-0123"
    with node.session() as session, session.begin():
        create_user(session, username=username, password=password, role=Role.PI)
    return password


def _campaign_dataset(node: Any) -> str:
    from archive_center.demo.seeding import seed_file
    from catalog.access_admin import AccessRequest, change_access
    from catalog.access_states import AccessState
    from catalog.storage import ArchiveStore

    settings, now = node.settings, datetime.now(UTC)
    sample = Path(__file__).resolve().parents[2] / "tests/fixtures/samples/valid"
    factory = make_session_factory(node.engine)
    pid = seed_file(
        factory, ArchiveStore(settings.root), settings, sample / "kco_surface_hourly.txt",
        release_at=None, now=now,
    )  # fmt: skip
    assert pid is not None
    request = AccessRequest(AccessState.CAMPAIGN, "bench", now + timedelta(days=365))
    with factory() as session, session.begin():
        change_access(
            session, pid, request, actor=Principal(username="b", role=Role.STAFF), now=now
        )
    return pid


def _sign_in(client: httpx.Client, url: str, password: str) -> str:
    answer = client.post(
        f"{url}/api/v1/auth/session", json={"username": "alice", "password": password}
    )
    answer.raise_for_status()
    return str(answer.json()["csrf_token"])


def password_once(world: dict[str, Any]) -> float:
    """The password sign-in at home alone (argon2id on purpose: the same on both paths)."""
    with httpx.Client(timeout=30) as client:
        t0 = time.perf_counter()
        _sign_in(client, world["nodes"]["JOSS"].url, world["password"])
        return (time.perf_counter() - t0) * 1000


def local_once(world: dict[str, Any]) -> float:
    """Signed in at home: ms to the first authorised answer there (the baseline)."""
    joss = world["nodes"]["JOSS"]
    with httpx.Client(timeout=30) as client:
        _sign_in(client, joss.url, world["password"])
        t0 = time.perf_counter()
        data = client.get(f"{joss.url}/api/v1/datasets/{world['joss']}/data")
        assert data.status_code == 200, data.text
        return (time.perf_counter() - t0) * 1000


def federated_once(world: dict[str, Any]) -> float:
    """Signed in at home: ms to get an assertion for NPL, exchange it there and have NPL's
    campaign data answered."""
    joss, npl = world["nodes"]["JOSS"], world["nodes"]["NPL"]
    with httpx.Client(timeout=30) as home, httpx.Client(timeout=30) as peer:
        csrf = _sign_in(home, joss.url, world["password"])
        t0 = time.perf_counter()
        made = home.post(
            f"{joss.url}/api/v1/auth/assertions", json={"audience": "NPL"},
            headers={"X-CSRF-Token": csrf},
        )  # fmt: skip
        made.raise_for_status()
        session = peer.post(
            f"{npl.url}/api/v1/auth/vouched", json={"assertion": made.json()["assertion"]}
        )
        session.raise_for_status()
        bearer = {"Authorization": f"Bearer {session.json()['token']}"}
        data = peer.get(f"{npl.url}/api/v1/datasets/{world['npl']}/data", headers=bearer)
        assert data.status_code == 200, data.text
        return (time.perf_counter() - t0) * 1000


def signin_figures(repeat: int) -> dict[str, float]:
    """Medians of the federated path, of the local baseline, and of the password sign-in
    both start from, alternated."""
    federated: list[float] = []
    local: list[float] = []
    password: list[float] = []
    with two_nodes() as world:
        federated_once(world)  # warm-up
        local_once(world)
        for _ in range(repeat):
            federated.append(federated_once(world))
            local.append(local_once(world))
            password.append(password_once(world))
    return {
        "federated_signin_ms": round(statistics.median(federated), 1),
        "local_first_answer_ms": round(statistics.median(local), 1),
        "home_password_signin_ms": round(statistics.median(password), 1),
    }
