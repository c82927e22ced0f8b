"""The change log: gap-free seq (also under concurrent writers), public payloads only."""

from __future__ import annotations

import threading

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from catalog.changes import append_change, dataset_payload, last_seq, list_changes_since
from catalog.models import Campaign, Change, Dataset
from tests.catalog.conftest import NOW, counter
from tests.catalog.factories import make_dataset


def test_seq_is_gap_free_and_rollbacks_leave_no_hole(db: Session) -> None:
    a = make_dataset(db)
    append_change(db, a, "upsert", NOW)
    append_change(db, a, "upsert", NOW)
    db.commit()
    append_change(db, a, "upsert", NOW)
    db.rollback()  # the number it took is given back
    b = make_dataset(db)
    append_change(db, b, "upsert", NOW)
    db.commit()
    seqs = [c.seq for c in list_changes_since(db, 0, 100)]
    assert seqs == [1, 2, 3]
    assert last_seq(db) == counter(db) == 3
    assert [c.seq for c in list_changes_since(db, 1, 1)] == [2]
    assert list_changes_since(db, 3, 10) == []


def test_payload_is_public_metadata_only(db: Session) -> None:
    d = make_dataset(db, password_hash="$argon2id$secret", owner_user_id=1, access_state="password")
    change = append_change(db, d, "upsert", NOW)
    assert change is not None
    assert change.payload == dataset_payload(d)
    assert "password_hash" not in change.payload and "owner_user_id" not in change.payload
    assert "$argon2id$secret" not in str(change.payload)
    assert change.payload["variables"][0]["name"] == "O3"
    assert change.origin_center == "JOSS" and change.origin_version == d.origin_version


def test_private_datasets_never_enter_the_log(db: Session) -> None:
    d = make_dataset(db, access_state="private")
    assert append_change(db, d, "upsert", NOW) is None
    assert list_changes_since(db, 0, 10) == []
    # once shared, making it private again travels as a tombstone without metadata
    d.access_state = "open"
    append_change(db, d, "upsert", NOW)
    d.access_state = "private"
    change = append_change(db, d, "upsert", NOW)
    assert change is not None and change.kind == "tombstone"
    assert set(change.payload) == {"public_id", "origin_center", "origin_version"}


def test_withdrawal_is_a_tombstone(db: Session) -> None:
    d = make_dataset(db)
    append_change(db, d, "upsert", NOW)
    d.access_state, d.withdrawn_at = "withdrawn", NOW
    change = append_change(db, d, "tombstone", NOW)
    assert change is not None and change.kind == "tombstone"
    assert change.payload == {
        "public_id": d.public_id, "origin_center": d.origin_center,
        "origin_version": d.origin_version,
    }  # fmt: skip


def test_withdrawn_and_made_private_give_the_same_tombstone(db: Session) -> None:
    """A peer cannot tell "gone" from "hidden but still here" (no reason, no time)."""
    gone, hidden = make_dataset(db), make_dataset(db)
    for d in (gone, hidden):
        append_change(db, d, "upsert", NOW)
    gone.access_state, gone.withdrawn_at = "withdrawn", NOW
    hidden.access_state = "private"
    stones = [append_change(db, gone, "tombstone", NOW), append_change(db, hidden, "upsert", NOW)]
    assert all(s is not None and s.kind == "tombstone" for s in stones)
    shapes = [
        {k: v for k, v in s.payload.items() if k != "public_id"} | {"keys": sorted(s.payload)}
        for s in stones
        if s is not None
    ]
    assert shapes[0] == shapes[1]
    everything = [c.payload for c in list_changes_since(db, 0, 100)]
    assert not any("withdrawn_at" in p or "reason" in p for p in everything)


def test_leaving_the_catalog_redacts_the_earlier_entries(db: Session) -> None:
    kept, gone = make_dataset(db, title="Kept MCANARYkept"), make_dataset(db, title="MCANARYgone")
    append_change(db, gone, "upsert", NOW)
    append_change(db, kept, "upsert", NOW)
    gone.title = "MCANARYgone, revised"
    gone.origin_version += 1
    append_change(db, gone, "upsert", NOW)
    gone.access_state = "private"
    gone.origin_version += 1
    append_change(db, gone, "upsert", NOW)
    db.commit()
    log = list_changes_since(db, 0, 100)
    assert [c.seq for c in log] == [1, 2, 3, 4]  # still gap-free
    assert "MCANARYgone" not in str([c.payload for c in log])
    assert [c.kind for c in log] == ["tombstone", "upsert", "tombstone", "tombstone"]
    assert [c.payload["origin_version"] for c in log if c.public_id == gone.public_id] == [
        c.origin_version for c in log if c.public_id == gone.public_id
    ]
    assert log[1].payload["title"] == "Kept MCANARYkept"  # other datasets untouched


def test_concurrent_appends_are_gap_free(
    engine: Engine, session_factory: sessionmaker[Session]
) -> None:
    with session_factory() as setup:
        campaign_id = setup.scalars(select(Campaign.id)).one()
        ids = []
        for _ in range(4):
            d = make_dataset(setup)
            ids.append(d.id)
        setup.commit()
    errors: list[BaseException] = []

    def writer(dataset_id: int) -> None:
        try:
            for i in range(10):
                with session_factory() as session:
                    dataset = session.get(Dataset, dataset_id)
                    assert dataset is not None and dataset.campaign_id == campaign_id
                    append_change(session, dataset, "upsert", NOW)
                    if i % 3 == 2:
                        session.rollback()
                    else:
                        session.commit()
        except BaseException as err:  # surfaced by the assertion below
            errors.append(err)

    threads = [threading.Thread(target=writer, args=(i,)) for i in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with session_factory() as check:
        seqs = list(check.scalars(select(Change.seq).order_by(Change.seq)))
        assert seqs == list(range(1, len(seqs) + 1))
        assert len(seqs) == 4 * 7
        assert last_seq(check) == len(seqs)
