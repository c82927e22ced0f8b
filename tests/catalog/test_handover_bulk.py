"""The hand-over's set-based database work, on SQLite and PostgreSQL: a group imported with
multi-row statements (mirrors replaced, nothing doubled when run again, every record logged
with `moved_from` and audited), and the closing center's rows turned into mirrors."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from catalog.access_models import DatasetFollower, ReleaseNotice
from catalog.handover import finish_as_mirror, handed_over_blob, manifest
from catalog.handover_files import bundle_paths
from catalog.handover_import import Move, import_group
from catalog.handover_rows import row_of
from catalog.models import (
    AuditEvent,
    Center,
    Change,
    Dataset,
    DatasetVersion,
    DerivedFile,
    Variable,
)
from catalog.registration import ensure_center
from catalog.registry_models import (
    Calibration,
    DatasetDeployment,
    Deployment,
    Instrument,
    InstrumentComponent,
    Place,
    QcConfig,
)
from catalog.storage import ArchiveStore
from tests.catalog.conftest import NOW
from tests.catalog.factories import make_dataset
from tests.catalog.test_facet_tallies import assert_consistent


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


def _registry(db: Session, store: ArchiveStore, tmp_path: Path) -> tuple[str, str, str]:
    """JOSS's station, an instrument deployed there with a calibration whose certificate is
    archived, and a dataset linked to the deployment: (place, instrument, dataset) public ids."""
    station = Place(center_code="JOSS", kind="station", name="KCO", key="kco", latitude=4.97,
                    longitude=73.47, created_at=NOW)  # fmt: skip
    picarro = Instrument(center_code="JOSS", name="Picarro", key="picarro", created_at=NOW)
    db.add_all([station, picarro])
    db.flush()
    staged = tmp_path / "cert.pdf"
    staged.write_bytes(b"%PDF certificate")
    sha, _ = store.put_original(staged)
    db.add(InstrumentComponent(instrument_id=picarro.id, name="analyser", serial="CF-1"))
    db.add(Calibration(instrument_id=picarro.id, valid_from=NOW, parameters={"slope": 1.0},
                       certificate_name="cal.pdf", certificate_sha256=sha))  # fmt: skip
    deployment = Deployment(instrument_id=picarro.id, place_id=station.id, start=NOW)
    db.add(deployment)
    db.add(QcConfig(instrument_id=picarro.id, variable_key="o3", version=1,
                    tests={"gross_range": {"fail_span": [0, 200]}}, created_at=NOW))  # fmt: skip
    dataset = make_dataset(db, title="KCO O3")
    dataset.versions = [DatasetVersion(data_version=1, sha256="a" * 64, size=3,
                                       original_name="x.nc", source_format="netcdf",
                                       is_current=True, created_at=NOW)]  # fmt: skip
    db.flush()
    db.add(DatasetDeployment(dataset_id=dataset.id, deployment_id=deployment.id, chosen_by="pi"))
    db.flush()
    return station.public_id, picarro.public_id, dataset.public_id


def _registry_changes(db: Session) -> list[Change]:
    """The change log's place and instrument entries, in order."""
    query = select(Change).where(Change.record_type.in_(("place", "instrument")))
    return list(db.scalars(query.order_by(Change.seq)))


def test_the_registry_moves_with_the_datasets(db: Session, tmp_path: Path) -> None:
    store = ArchiveStore(tmp_path)
    place, instrument, dataset = _registry(db, store, tmp_path)
    listed = manifest(db, store, "JOSS")
    (cert,) = listed["instruments"][0]["certificates"]
    assert listed["blobs"][cert["sha256"]] == cert["size"] == len(b"%PDF certificate")
    assert handed_over_blob(db, "JOSS", cert["sha256"])
    served = store.original_path(cert["sha256"])  # in a bundle as on the single-file route
    assert bundle_paths(db, store, "JOSS", [(cert["sha256"], None)]) == [served]
    assert bundle_paths(db, store, "LMD", [(cert["sha256"], None)]) == [None]
    old_cal = listed["instruments"][0]["calibrations"][0]["ref"]
    ensure_center(db, "LMD", "LMD", "http://lmd.test")
    items = [("place", p) for p in listed["places"]]
    items += [("instrument", i) for i in listed["instruments"]]
    items += [("dataset", d) for d in listed["datasets"]]
    move = Move("JOSS", "LMD", NOW, store, tmp_path / "holding")
    _, refs = import_group(db, items, move)
    _, again = import_group(db, items, move)  # run again: nothing doubled, same ids
    db.commit()
    assert refs == again and list(refs) == [f"calibration:{old_cal}"]
    station = db.scalars(select(Place).where(Place.public_id == place)).one()
    picarro = db.scalars(select(Instrument).where(Instrument.public_id == instrument)).one()
    assert (station.center_code, station.origin_version) == ("LMD", 2)
    assert (picarro.center_code, picarro.origin_version) == ("LMD", 2)
    for model in (InstrumentComponent, Calibration, Deployment, QcConfig):
        assert db.scalar(select(func.count()).select_from(model)) == 1, model
    (cal,) = db.scalars(select(Calibration)).all()
    assert cal.id == refs[f"calibration:{old_cal}"] and cal.origin_ref is None
    (deployment,) = db.scalars(select(Deployment)).all()
    assert deployment.place_id == station.id
    linked = db.scalars(
        select(DatasetDeployment).join(Dataset).where(Dataset.public_id == dataset)
    ).one()  # fmt: skip
    assert (linked.deployment_id, linked.chosen_by) == (deployment.id, "pi")
    moved = _registry_changes(db)
    assert [(c.record_type, c.origin_center, c.payload["moved_from"]) for c in moved] == [
        ("place", "LMD", "JOSS"), ("instrument", "LMD", "JOSS"),
    ]  # fmt: skip
    actions = db.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert actions == ["place.handover", "instrument.handover", "dataset.handover"]


def test_the_closing_center_mirrors_its_registry(db: Session, tmp_path: Path) -> None:
    store = ArchiveStore(tmp_path)
    place, instrument, _ = _registry(db, store, tmp_path)
    (cal,) = db.scalars(select(Calibration)).all()
    db.commit()
    assert finish_as_mirror(db, "JOSS", "NPL", {}, NOW, {str(cal.id): 77}) == 3
    assert finish_as_mirror(db, "JOSS", "NPL", {}, NOW, {str(cal.id): 77}) == 0  # once
    db.commit()
    for model, public_id in ((Place, place), (Instrument, instrument)):
        entry = db.scalars(select(model).where(model.public_id == public_id)).one()
        assert (entry.center_code, entry.origin_version) == ("NPL", 2)
    assert db.get_one(Calibration, cal.id).origin_ref == 77
    assert not handed_over_blob(db, "JOSS", cal.certificate_sha256 or "")
    assert bundle_paths(db, store, "JOSS", [(cal.certificate_sha256 or "", None)]) == [None]
    log = _registry_changes(db)
    assert [(c.record_type, c.origin_center, c.payload["moved_from"]) for c in log] == [
        ("place", "NPL", "JOSS"), ("instrument", "NPL", "JOSS"),
    ]  # fmt: skip
    assert log[1].payload["calibrations"][0]["id"] == 77  # the certificate is fetched at NPL


def _as_imported(db: Session, public_id: str) -> tuple[dict, list[dict], list[dict]]:
    """A record's dataset row, variables and versions, without the ids that are this
    center's own."""
    dataset = db.scalars(select(Dataset).where(Dataset.public_id == public_id)).one()
    skip = {"id", "dataset_id", "campaign_id", "owner_user_id"}
    return (
        {k: v for k, v in row_of(dataset).items() if k not in skip},
        [{k: v for k, v in row_of(x).items() if k not in skip} for x in dataset.variables],
        [{k: v for k, v in row_of(x).items() if k not in skip} for x in dataset.versions],
    )


def test_a_mirror_becomes_the_handed_over_record_in_place(db: Session, tmp_path: Path) -> None:
    """A record the receiving center mirrors is made the handed-over one in place (its id, its
    variables' and versions' ids kept when they are the handed-over ones), with the result a
    delete and an insert would give: the same columns, stale variables replaced, the rows that
    hung on the mirror gone but its followers and announced releases, the facet counts right."""
    exact, stale, absent, *_ = _made(db)
    make_dataset(db, origin_center="NPL", title="later")  # new rows get ids above it
    db.commit()
    db.expire_all()  # the rows as the database holds them (the manifest's values)
    store = ArchiveStore(tmp_path)
    listed = manifest(db, store, "JOSS")["datasets"]
    wanted = {d["row"]["public_id"]: d for d in listed}
    # What LMD mirrors: `exact` as handed over, with a cached derived file and a follower of
    # its own; `stale` an older shape (another variable list); `absent` not at all.
    held = db.scalars(select(Dataset).where(Dataset.public_id == exact)).one()
    kept_ids = ([v.id for v in held.variables], [v.id for v in held.versions], held.id)
    db.add(DerivedFile(version_id=held.versions[0].id, format="nc", path="x", sha256="b" * 64,
                       size=1, created_at=NOW))  # fmt: skip
    db.add(DatasetFollower(dataset_id=held.id, center="LMD", username="ana", since=NOW))
    db.add(ReleaseNotice(dataset_id=held.id, release_at=NOW, kind="released", sent_at=NOW))
    old = db.scalars(select(Dataset).where(Dataset.public_id == stale)).one()
    old.variables = [Variable(position=0, name="NO2", original_name="NO2", unit="ppb",
                              original_unit="ppb")]  # fmt: skip
    db.delete(db.scalars(select(Dataset).where(Dataset.public_id == absent)).one())
    db.flush()
    ensure_center(db, "LMD", "LMD", "http://lmd.test")
    move = Move("JOSS", "LMD", NOW, store, tmp_path / "holding")
    assert import_group(db, [("dataset", d) for d in listed], move)[0] == 4
    db.commit()
    db.expire_all()
    adopted = db.scalars(select(Dataset).where(Dataset.public_id == exact)).one()
    assert kept_ids == ([v.id for v in adopted.variables], [v.id for v in adopted.versions],
                        adopted.id)  # fmt: skip
    assert db.scalar(select(func.count(DerivedFile.id))) == 0
    # Its follower and the release announced here stay with it (`KEPT`).
    assert db.scalars(select(DatasetFollower.dataset_id)).all() == [adopted.id]
    assert db.scalars(select(ReleaseNotice.dataset_id)).all() == [adopted.id]
    listed = {}
    for public_id in (exact, stale, absent):
        row, variables, versions = _as_imported(db, public_id)
        item = wanted[public_id]
        expected = item["row"] | {
            "origin_center": "LMD",
            "origin_version": item["row"]["origin_version"] + 1,
        }
        listed[public_id] = row.pop("listed")  # announced in the change log, or not
        expected.pop("listed")
        assert row == expected, public_id
        assert variables == [{k: v for k, v in x.items() if k != "id"} for x in item["variables"]]
        assert versions == [{k: v for k, v in x.items() if k != "id"} for x in item["versions"]]
    assert listed == {exact: True, stale: False, absent: False}  # open, private, withdrawn
    assert_consistent(db)
