"""What a replicator's tick reads of its peers (`catalog.peer_records.replication_targets`),
on SQLite and PostgreSQL: every enabled peer with its newest valid key, how far its log is
applied here and what it announced, in a fixed number of statements."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session

from catalog.peer_records import ensure_peer, peer_state, replication_targets, set_enabled
from federation.peers import add_key
from tests.catalog.conftest import NOW
from tests.sql_log import recorded_statements


def _statements(db: Session) -> list[str]:
    with recorded_statements(db.get_bind()) as seen:
        replication_targets(db, NOW)
    return seen


def test_each_enabled_peer_with_its_newest_valid_key_in_two_statements(db: Session) -> None:
    for code in ("LMD", "NPL", "ABC", "OFF"):
        ensure_peer(db, code, f"http://{code.lower()}.test", code, NOW)
    add_key(db, "LMD", NOW - timedelta(days=2), key_id="old", secret="s" * 32,
            grace=timedelta(days=1))  # fmt: skip
    add_key(db, "LMD", NOW - timedelta(days=1), key_id="new", secret="t" * 32)  # old expired
    add_key(db, "NPL", NOW, key_id="npl", secret="u" * 32)
    add_key(db, "OFF", NOW, key_id="off", secret="v" * 32)
    set_enabled(db, ensure_peer(db, "OFF", "http://off.test", "OFF", NOW), False)
    lmd = ensure_peer(db, "LMD", "http://lmd.test", "LMD", NOW)
    lmd.notified_seq, lmd.next_poll_at = 9, NOW + timedelta(seconds=30)
    state = peer_state(db, "LMD")
    assert state is not None
    state.last_seq_applied = 7
    db.flush()
    targets = {t.code: t for t in replication_targets(db, NOW)}
    assert sorted(targets) == ["ABC", "LMD", "NPL"]  # the disabled one is not a target
    assert targets["ABC"].key is None  # no key: the tick leaves it alone
    assert targets["LMD"].key is not None and targets["LMD"].key.key_id == "new"
    assert (targets["LMD"].notified_seq, targets["LMD"].applied) == (9, 7)
    assert targets["LMD"].next_poll_at == NOW + timedelta(seconds=30)
    assert targets["NPL"].key is not None and targets["NPL"].key.key_id == "npl"
    assert (targets["NPL"].notified_seq, targets["NPL"].applied) == (0, 0)
    # as many statements with three peers as with one (a tick runs 10-20 times a second)
    assert len(_statements(db)) == 2
    for code in ("ABC", "NPL"):
        set_enabled(db, ensure_peer(db, code, f"http://{code.lower()}.test", code, NOW), False)
    assert len(_statements(db)) == 2
