"""The watched directory: a file is taken once it stops growing, then moved with its report."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from catalog.schemas import Principal
from catalog.storage import ArchiveStore
from submissions.acceptance import SubmitOptions
from submissions.pipeline import SubmissionResult, submit_file
from submissions.watch_dir import DirectoryWatcher
from tests.submissions.conftest import NOW


def watcher(sessions: sessionmaker[Session], store: ArchiveStore) -> DirectoryWatcher:
    def take(path: Path, name: str) -> SubmissionResult:
        return submit_file(
            sessions, store, source=path, original_name=name,
            submitter=Principal(username="watch-drop"), center_code="JOSS", campaign="INDOEX",
            receiver="watch", options=SubmitOptions(), now=NOW,
        )  # fmt: skip

    return DirectoryWatcher(store.incoming_dir, store.done_dir, store.rejected_dir, take, 2)


def test_a_growing_file_waits_until_it_is_stable(
    session_factory: sessionmaker[Session], store: ArchiveStore, samples: Path, db: Session
) -> None:
    watch = watcher(session_factory, store)
    content = (samples / "valid" / "c130_rf07_track.txt").read_bytes()
    target = store.incoming_dir / "track.txt"
    target.write_bytes(content[:500])
    assert watch.poll() == [] and watch.poll() == []
    with target.open("ab") as handle:  # still arriving
        handle.write(content[500:])
    assert watch.poll() == [] and watch.poll() == []
    (result,) = watch.poll()
    assert result is not None and result.state == "registered", result.report_text
    assert not target.exists()
    assert (store.done_dir / "track.txt").read_bytes() == content
    assert "registered" in (store.done_dir / "track.txt.report.txt").read_text()
    assert json.loads((store.done_dir / "track.txt.report.json").read_text())["valid"]


def test_invalid_and_misnamed_files_go_to_rejected_with_their_report(
    session_factory: sessionmaker[Session], store: ArchiveStore, samples: Path, db: Session
) -> None:
    watch = watcher(session_factory, store)
    for name in ("no_end_marker.txt", "empty.txt"):
        (store.incoming_dir / name).write_bytes((samples / "invalid" / name).read_bytes())
    (store.incoming_dir / "track.gif").write_bytes(b"GIF89a" + b"\0" * 40)
    (store.incoming_dir / ".rsync-temp").write_bytes(b"partial")
    for _ in range(3):
        watch.poll()
    for name in ("no_end_marker.txt", "empty.txt", "track.gif"):
        assert (store.rejected_dir / name).is_file()
        report = json.loads((store.rejected_dir / f"{name}.report.json").read_text())
        assert report["state"] == "rejected" and report["diagnostics"]
    gif_report = (store.rejected_dir / "track.gif.report.txt").read_text()
    assert "product_source.YYMMDDHHmm.product_name.ext" in gif_report
    assert (store.incoming_dir / ".rsync-temp").exists(), "dot files are left alone"
