"""The hand-over's set-based database work, on SQLite and PostgreSQL: a group imported with
multi-row statements (mirrors replaced, nothing doubled when run again, every record logged
with `moved_from` and audited), and the closing center's rows turned into mirrors."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from catalog.handover import finish_as_mirror, manifest
from catalog.handover_import import Move, import_group
from catalog.models import AuditEvent, Center, Change, Dataset, DatasetVersion, Variable
from catalog.registration import ensure_center
from catalog.storage import ArchiveStore
from tests.catalog.conftest import NOW
from tests.catalog.factories import make_dataset


def _made(db: Session) -> list[str]:
    made = []
    for state in ("open", "private", "withdrawn", "open"):
        dataset = make_dataset(db, access_state=state, title=f"C-130 {state}")
        dataset.versions = [DatasetVersion(data_version=1, sha256="a" * 64, size=3,
                                           original_name="x.nc", source_format="netcdf",
                                           is_current=True, created_at=NOW)]  # fmt: skip
        made.append(dataset.public_id)
    db.flush()
    return made


def test_a_group_is_imported_in_bulk_once(db: Session, tmp_path: Path) -> None:
    public_ids = _made(db)
    store = ArchiveStore(tmp_path)
    items = [("dataset", item) for item in manifest(db, store, "JOSS")["datasets"]]
    ensure_center(db, "LMD", "LMD", "http://lmd.test")
    move = Move("JOSS", "LMD", NOW, store, tmp_path / "holding")
    assert import_group(db, items, move) == (4, {})
    assert import_group(db, items, move) == (0, {})  # run again: nothing doubled
    db.commit()
    rows = db.scalars(select(Dataset).where(Dataset.public_id.in_(public_ids))).all()
    assert sorted(r.public_id for r in rows) == sorted(public_ids)
    assert {r.origin_center for r in rows} == {"LMD"} and {r.origin_version for r in rows} == {2}
    for row in rows:
        assert len(row.versions) == 1 and [v.name for v in row.variables] == ["O3", "CO"]
    assert db.scalar(select(func.count(Variable.id))) == 8
    moved = db.scalars(select(Change).where(Change.origin_center == "LMD")).all()
    assert [c.payload.get("moved_from") for c in moved] == ["JOSS", "JOSS"]  # open ones only
    assert db.scalar(select(func.count(AuditEvent.id))) == 4
    lmd = db.scalars(select(Center).where(Center.code == "LMD")).one()
    assert lmd.shared_records == 2


def test_the_closing_center_turns_its_rows_into_mirrors(db: Session) -> None:
    public_ids = _made(db)
    db.commit()
    assert finish_as_mirror(db, "JOSS", "NPL", {}, NOW) == 4
    assert finish_as_mirror(db, "JOSS", "NPL", {}, NOW) == 0  # run again: nothing moves
    db.commit()
    rows = db.scalars(select(Dataset).where(Dataset.public_id.in_(public_ids))).all()
    assert {r.origin_center for r in rows} == {"NPL"} and {r.origin_version for r in rows} == {2}
    log = db.scalars(select(Change).order_by(Change.seq)).all()
    assert [(c.kind, c.payload.get("moved_from")) for c in log] == [("upsert", "JOSS")] * 2
    assert [c.seq for c in log] == [1, 2]
