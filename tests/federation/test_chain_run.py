"""A chain of real nodes (JOSS - NPL - LMD, no JOSS - LMD link): convergence, SIGKILL during a
pull, and a peer down while a thousand changes happen."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select

from catalog.models import Change, Dataset, PeerState
from tests.archive_center.fieldcat_process import fieldcat
from tests.federation.cluster import (
    Node,
    build_cluster,
    change,
    close_all,
    publish,
    start_all,
)
from tests.polling import eventually


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Node]]:
    """JOSS peers with NPL, NPL with LMD; small pages so a pull takes many transactions."""
    nodes = build_cluster(
        tmp_path_factory.mktemp("chain"), [("JOSS", "NPL"), ("NPL", "LMD")], page_size=20
    )
    try:
        start_all(nodes)
        yield nodes
    finally:
        close_all(nodes)


def records_from(node: Node, origin: str) -> int:
    """How many records of `origin` the node holds."""
    with node.session() as session:
        query = select(func.count()).where(Dataset.origin_center == origin)
        return int(session.scalar(query.select_from(Dataset)) or 0)


def checkpoint(node: Node, peer: str) -> int:
    """The node's last applied seq of `peer`."""
    with node.session() as session:
        state = session.get(PeerState, peer)
        return 0 if state is None else state.last_seq_applied


def log_is_gap_free_without_duplicates(node: Node) -> None:
    """The node's own change log: seqs 1..N, each (record, version) re-listed once."""
    with node.session() as session:
        rows = session.execute(
            select(Change.seq, Change.public_id, Change.origin_version).order_by(Change.seq)
        ).all()
    assert [r.seq for r in rows] == list(range(1, len(rows) + 1))
    pairs = [(r.public_id, r.origin_version) for r in rows]
    assert len(pairs) == len(set(pairs)), "a change was re-listed twice"


def test_a_chain_converges(chain: dict[str, Node]) -> None:
    joss, lmd = chain["JOSS"], chain["LMD"]
    [public_id] = publish(joss, label="chain")
    detail = eventually(
        lambda: (r := lmd.get(f"/datasets/{public_id}")).status_code == 200 and r.json()
    )
    assert detail["origin_center"] == "JOSS"
    assert detail["links"]["origin"] == f"{joss.url}/api/v1/datasets/{public_id}"
    redirect = lmd.get(f"/datasets/{public_id}/data")
    assert redirect.status_code == 307 and redirect.headers["location"].startswith(joss.url)
    change(joss, public_id, title="chain renamed")
    eventually(lambda: lmd.get(f"/datasets/{public_id}").json()["title"] == "chain renamed")
    [from_lmd] = publish(lmd, label="back-up-the-chain")
    eventually(lambda: joss.get(f"/datasets/{from_lmd}").status_code == 200)
    change(joss, public_id, access_state="withdrawn")
    eventually(lambda: lmd.get(f"/datasets/{public_id}").status_code == 404)


def test_sigkill_during_a_pull_resumes_without_gap_or_duplicate(chain: dict[str, Node]) -> None:
    joss, npl, lmd = chain["JOSS"], chain["NPL"], chain["LMD"]
    lmd.stop()
    before = records_from(lmd, "JOSS")
    publish(joss, 1500, label="bulk")
    eventually(lambda: records_from(npl, "JOSS") >= before + 1500, timeout=90)
    target = npl.get("/federation/status").json()["last_seq"]
    lmd.launch()
    start = checkpoint(lmd, "NPL")
    eventually(lambda: start < checkpoint(lmd, "NPL") < target - 200, timeout=60, every=0.01)
    lmd.kill()
    killed_at = checkpoint(lmd, "NPL")
    assert killed_at < target, "the kill came mid-pull"
    log_is_gap_free_without_duplicates(lmd)
    lmd.start()
    eventually(lambda: checkpoint(lmd, "NPL") >= target, timeout=60)
    assert records_from(lmd, "JOSS") == records_from(npl, "JOSS")
    log_is_gap_free_without_duplicates(lmd)


def test_a_peer_down_during_a_thousand_changes_catches_up(chain: dict[str, Node]) -> None:
    joss, npl, lmd = chain["JOSS"], chain["NPL"], chain["LMD"]
    lmd.kill()
    ids = publish(joss, 600, label="while-down")
    for public_id in ids[:400]:
        change(joss, public_id, title="updated while LMD was down")
    eventually(lambda: "while-down" in str(npl.get("/datasets", q="updated while").json()))
    page = eventually(
        lambda: (
            (p := npl.get("/datasets", q="while-down").json())
            and any(c["center"] == "LMD" and c["last_error"] for c in p["centers"])
            and p
        )
    )
    assert page["items"], "search at the others keeps working"

    def peers() -> dict[str, dict[str, object]]:
        return {p["code"]: p for p in npl.get("/federation/status").json()["peers"]}

    # LMD is down, so stale; JOSS is up, so fresh once a pull has gone through (on a busy
    # machine one of NPL's pulls from JOSS, publishing a thousand changes, may time out).
    status = eventually(lambda: (s := peers()) and not s["JOSS"]["stale"] and s, timeout=60)
    assert status["LMD"]["stale"] and status["LMD"]["last_error"]
    eventually(lambda: checkpoint(npl, "JOSS") >= joss.get("/federation/status").json()["last_seq"])
    # Only now has NPL re-listed every change of JOSS's, so its log position covers them all.
    target = npl.get("/federation/status").json()["last_seq"]
    lmd.start()
    eventually(lambda: checkpoint(lmd, "NPL") >= target, timeout=60)
    updated = lmd.search_ids(q="updated while lmd was down")
    assert set(ids[:400]) <= updated
    assert set(ids) <= lmd.search_ids(q="while-down")
    log_is_gap_free_without_duplicates(lmd)
    verify = fieldcat("peers", "verify", "NPL", "--json", "--config", str(lmd.config))
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert json.loads(verify.stdout)["compared"] >= 600
