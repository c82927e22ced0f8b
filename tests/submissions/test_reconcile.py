"""Start-up reconciliation finishes what had its bytes, rolls back what did not, cleans staging."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from catalog.handover_files import holding_dir
from catalog.storage import ArchiveStore
from catalog.submission_models import Submission
from submissions.acceptance import SubmitOptions
from submissions.pipeline import Intake, open_ticket, set_state
from submissions.reconcile import reconcile
from submissions.staging import stage_path
from tests.submissions.conftest import NOW, OWNER


def intake(sessions: sessionmaker[Session], store: ArchiveStore) -> Intake:
    return Intake(sessions, store, OWNER, "JOSS", "INDOEX", "api", SubmitOptions(), NOW)


def test_interrupted_submissions_are_finished_or_rolled_back(
    session_factory: sessionmaker[Session], store: ArchiveStore, samples: Path, db: Session
) -> None:
    it = intake(session_factory, store)
    valid = samples / "valid"
    # 1. bytes still arriving: rolled back
    partial = store.new_staging_path()
    arriving = open_ticket(it, "arriving.txt", "received", partial.name, None)
    partial.write_bytes((valid / "kco_surface_hourly.txt").read_bytes()[:300])
    # 2. staged completely: finished
    staged = stage_path(store, valid / "c130_rf07_track.txt", 1 << 30)
    complete = open_ticket(it, "track.txt", "staged", staged.path.name, staged)
    # 3. archived, not registered: finished from the archive
    archived_file = stage_path(store, valid / "sagar_kanya_sounding.txt", 1 << 30)
    archived = open_ticket(it, "sounding.txt", "staged", archived_file.path.name, archived_file)
    store.put_original(archived_file.path)
    set_state(it, archived, "validated")
    set_state(it, archived, "archived")
    # 4. a stray staging file from a dead upload
    stray = store.new_staging_path()
    shutil.copyfile(valid / "seed_example.txt", stray)
    # 5. a hand-over's verified derived files, held for its next run, and a stray folder
    held = holding_dir(store, "LMD") / ("a" * 64)
    held.parent.mkdir(parents=True)
    held.write_bytes(b"verified quick look")
    (store.staging_dir / "unpacked").mkdir()

    started = datetime.now(UTC) + timedelta(seconds=1)  # after the stray file was written
    assert reconcile(session_factory, store, started) == 3
    states = {row.public_id: row for row in db.scalars(select(Submission))}
    assert states[arriving.public_id].state == "rejected"
    assert "SUB007" in states[arriving.public_id].report_text
    for ticket in (complete, archived):
        row = states[ticket.public_id]
        assert row.state == "registered", row.report_text
        assert row.dataset_public_id
        assert store.original_path(row.sha256).is_file()
    assert list(store.staging_dir.iterdir()) == [held.parent]
    assert held.read_bytes() == b"verified quick look"
    assert reconcile(session_factory, store, started) == 0
