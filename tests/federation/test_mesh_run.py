"""Three real nodes in a full mesh: records, updates, embargoes, withdrawals and privacy travel."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.conftest import SAMPLES
from tests.federation.cluster import (
    Node,
    change,
    publish,
)
from tests.polling import eventually


def held(node: Node, public_id: str) -> dict | None:
    """The dataset as `node` shows it, or None when it answers 404."""
    response = node.get(f"/datasets/{public_id}")
    return response.json() if response.status_code == 200 else None


def title_of(node: Node, public_id: str) -> str | None:
    """The record's title at `node`, if it holds the record."""
    return (held(node, public_id) or {}).get("title")


def test_a_record_published_at_one_center_is_found_at_the_others(
    cluster: dict[str, Node],
) -> None:
    from archive_center.demo.seeding import seed_file
    from catalog.db import make_session_factory
    from catalog.storage import ArchiveStore

    joss = cluster["JOSS"]
    settings = joss.settings
    # seed_file takes a session factory since seeding goes through the submission pipeline
    public_id = seed_file(
        make_session_factory(joss.engine), ArchiveStore(settings.root), settings,
        SAMPLES / "valid" / "c130_rf07_track.txt", release_at=None, now=datetime.now(UTC),
    )  # fmt: skip
    assert public_id is not None
    for code in ("NPL", "LMD"):
        node = cluster[code]
        found = eventually(lambda n=node: public_id in n.search_ids(platform="C130") or None)
        assert found
        detail = held(node, public_id)
        assert detail is not None and detail["is_mirror"] and detail["origin_center"] == "JOSS"
        assert detail["links"]["origin"] == f"{joss.url}/api/v1/datasets/{public_id}"
        data = node.get(f"/datasets/{public_id}/data", format="csv")
        assert data.status_code == 307
        assert data.headers["location"].startswith(f"{joss.url}/api/v1/datasets/{public_id}/data")
    page = cluster["LMD"].get("/datasets").json()
    joss_entry = next(c for c in page["centers"] if c["center"] == "JOSS")
    assert (
        joss_entry["records"] >= 1 and joss_entry["last_contact"] and not joss_entry["last_error"]
    )


def test_update_embargo_and_withdrawal_follow(cluster: dict[str, Node]) -> None:
    joss, others = cluster["JOSS"], [cluster["NPL"], cluster["LMD"]]
    [public_id] = publish(joss, label="follow")
    for node in others:
        eventually(lambda n=node: held(n, public_id))
    change(joss, public_id, title="renamed after calibration")
    for node in others:
        eventually(lambda n=node: title_of(n, public_id) == "renamed after calibration")
    release = datetime.now(UTC) + timedelta(days=300)
    change(joss, public_id, access_state="embargoed", release_at=release)
    for node in others:
        record = eventually(
            lambda n=node: (d := held(n, public_id)) and d["access_state"] == "embargoed" and d
        )
        assert datetime.fromisoformat(record["release_at"]) == release
        assert record["origin_version"] == 3
    change(joss, public_id, access_state="open", release_at=None)  # lifted
    for node in others:
        eventually(lambda n=node: (held(n, public_id) or {}).get("access_state") == "open")
    change(joss, public_id, access_state="withdrawn")
    for node in others:
        eventually(lambda n=node: held(n, public_id) is None)
        assert public_id not in node.search_ids(q="follow")


def test_private_records_never_travel_and_privatised_ones_disappear(
    cluster: dict[str, Node],
) -> None:
    npl = cluster["NPL"]
    [secret] = publish(npl, label="private-canary", state="private")
    [marker] = publish(npl, label="after-private")
    for node in (cluster["JOSS"], cluster["LMD"]):
        eventually(lambda n=node: held(n, marker))
        assert held(node, secret) is None
        assert not node.search_ids(q="private-canary")
    [shared] = publish(npl, label="later-private")
    for node in (cluster["JOSS"], cluster["LMD"]):
        eventually(lambda n=node: held(n, shared))
    change(npl, shared, access_state="private")
    for node in (cluster["JOSS"], cluster["LMD"]):
        eventually(lambda n=node: held(n, shared) is None)
    with cluster["LMD"].session() as session:
        from sqlalchemy import select

        from catalog.models import Change, Dataset

        assert session.scalar(select(Dataset.id).where(Dataset.public_id == secret)) is None
        payloads = session.scalars(select(Change.payload).where(Change.public_id == shared))
        assert all("title" not in p for p in list(payloads)[-1:]), "the last entry is a tombstone"


def test_status_names_every_peer_with_its_position(cluster: dict[str, Node]) -> None:
    status = cluster["LMD"].get("/federation/status").json()
    assert status["center"] == "LMD" and status["last_seq"] > 0
    peers = {p["code"]: p for p in status["peers"]}
    assert set(peers) == {"JOSS", "NPL"}
    joss_seq = cluster["JOSS"].get("/federation/status").json()["last_seq"]
    eventually(
        lambda: (
            cluster["LMD"].get("/federation/status").json()["peers"][0]["last_seq_applied"]
            == joss_seq
        )
    )
    assert "secret" not in str(status).lower()
