"""The pipeline: valid files are registered, invalid ones rejected with their report and kept."""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from catalog.models import Change, Dataset, DatasetVersion
from catalog.schemas import Principal, SearchParams
from catalog.search import search_datasets
from catalog.storage import ArchiveStore
from catalog.submission_models import Submission
from submissions.acceptance import SubmitOptions
from submissions.errors import UnsafeNameError, UploadTooLargeError
from tests.conftest import SAMPLES
from tests.submissions.conftest import NOW, Submit


def counts(db: Session) -> tuple[int, int, int]:
    return (
        db.scalar(select(func.count()).select_from(Dataset)) or 0,
        db.scalar(select(func.count()).select_from(DatasetVersion)) or 0,
        db.scalar(select(func.count()).select_from(Change)) or 0,
    )


def test_valid_file_is_archived_registered_and_searchable(
    submit: Submit, samples: Path, store: ArchiveStore, db: Session
) -> None:
    path = samples / "valid" / "kco_surface_hourly.txt"
    result = submit(path)
    assert result.state == "registered", result.report_text
    assert result.dataset_public_id
    assert result.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert store.original_path(result.sha256).read_bytes() == path.read_bytes()
    page = search_datasets(db, SearchParams(), Principal.anonymous(), NOW)
    assert [i.public_id for i in page.items] == [result.dataset_public_id]
    row = db.scalars(select(Submission)).one()
    assert (row.state, row.submitter_user_id, row.original_name) == (
        "registered", 1, "kco_surface_hourly.txt",
    )  # fmt: skip
    assert list(store.staging_dir.iterdir()) == []


@pytest.mark.parametrize(
    "name",
    sorted(p.name for p in (SAMPLES / "invalid").iterdir()),
)
def test_each_invalid_sample_is_rejected_with_its_report(
    name: str, submit: Submit, samples: Path, store: ArchiveStore, db: Session
) -> None:
    before = counts(db)
    result = submit(samples / "invalid" / name)
    assert result.state == "rejected"
    assert result.report["errors"] >= 1 and result.report["diagnostics"]
    assert result.report_text.startswith(f"{name}: rejected")
    kept = store.rejected_dir / f"{result.submission_id}.bin"
    assert kept.read_bytes() == (samples / "invalid" / name).read_bytes()
    report = json.loads((store.rejected_dir / f"{result.submission_id}.report.json").read_text())
    assert report["state"] == "rejected" and report["diagnostics"]
    assert (store.rejected_dir / f"{result.submission_id}.report.txt").read_text()
    db.expire_all()
    assert counts(db) == before
    assert list(store.staging_dir.iterdir()) == []


def test_oversize_is_refused_while_streaming(
    submit: Submit, store: ArchiveStore, db: Session
) -> None:
    class Endless(io.RawIOBase):
        reads = 0

        def readable(self) -> bool:
            return True

        def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def]
            self.reads += 1
            assert self.reads < 100, "kept reading past the limit"
            buffer[:] = b"x" * len(buffer)
            return len(buffer)

    stream = Endless()
    with pytest.raises(UploadTooLargeError):
        submit(stream, "big.txt", options=SubmitOptions(max_bytes=3 << 20))  # type: ignore[arg-type]
    assert list(store.staging_dir.iterdir()) == []
    row = db.scalars(select(Submission)).one()
    assert row.state == "rejected" and "limit" in row.report_text


@pytest.mark.parametrize(
    "name", ["../../etc/passwd", "a/b.txt", "..\\x.txt", "bad\x00name.txt", "tab\there.txt",
             "", ".hidden", "new\nline.txt"],
)  # fmt: skip
def test_unsafe_names_are_refused_before_anything_is_stored(
    name: str, submit: Submit, store: ArchiveStore, db: Session
) -> None:
    with pytest.raises(UnsafeNameError):
        submit(b"DID = 1\n", name)
    assert db.scalar(select(func.count()).select_from(Submission)) == 0
    assert list(store.staging_dir.iterdir()) == []


def test_the_worker_derives_each_new_version(
    submit: Submit, samples: Path, store: ArchiveStore, db: Session, engine
) -> None:  # type: ignore[no-untyped-def]
    from archive_center.worker import derive_missing
    from catalog.models import DerivedFile

    text = (samples / "valid" / "kco_surface_hourly.txt").read_text()
    first = submit(text.encode(), "kco.txt")
    second = submit(text.replace("DATA VERSION = 2.1", "DATA VERSION = 3").encode(), "kco.txt")
    assert first.state == second.state == "registered", second.report_text
    assert not second.duplicate and second.sha256 != first.sha256
    assert derive_missing(engine, store, NOW, set()) >= 2
    db.expire_all()
    current = db.scalars(select(DatasetVersion).where(DatasetVersion.is_current)).one()
    assert current.sha256 == second.sha256
    formats_made = {d.format for d in db.scalars(select(DerivedFile)) if d.version_id == current.id}
    assert {"netcdf", "png"} <= formats_made


def test_concurrent_first_submissions_of_one_did_give_it_one_owner(
    submit: Submit, samples: Path, db: Session
) -> None:
    import threading

    from tests.submissions.conftest import OTHER, OWNER

    text = (samples / "valid" / "kco_surface_hourly.txt").read_text()
    results = {}

    def send(who, remark: str) -> None:  # type: ignore[no-untyped-def]
        content = text.replace("##END OF HEADER##", f"REMARKS = {remark}\n##END OF HEADER##")
        results[remark] = submit(content.encode(), f"{remark}.txt", submitter=who)

    threads = [threading.Thread(target=send, args=(w, r)) for w, r in ((OWNER, "a"), (OTHER, "b"))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    states = sorted(r.state for r in results.values())
    assert states == ["registered", "rejected"], [r.report_text for r in results.values()]
    (loser,) = [r for r in results.values() if r.state == "rejected"]
    assert loser.report["diagnostics"][-1]["code"] in ("SUB001", "SUB002")
    assert db.scalar(select(func.count()).select_from(Dataset)) == 1
