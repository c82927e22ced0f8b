"""The background worker: derived NetCDF and quick-looks for current versions, then idle."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from archive_center.worker import run_worker
from catalog.models import DatasetVersion, DerivedFile
from tests.archive_center.conftest import Node


def test_worker_thread_derives_then_stops_when_told(node: Node) -> None:
    settings = node.settings.model_copy(update={"worker_interval_s": 0.1})
    stop = threading.Event()
    thread = threading.Thread(target=run_worker, args=(settings, stop))
    thread.start()
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline:
            with node.app.state.session_factory() as session:
                kinds = [d.format for d in session.scalars(select(DerivedFile))]
            # four local datasets; the record mirrored from NPL is not local work
            if kinds.count("netcdf") == 4 and kinds.count("png") == 4:
                break
            time.sleep(0.2)
    finally:
        stop.set()
        thread.join(timeout=30)
    assert not thread.is_alive()
    assert kinds.count("netcdf") == 4 and kinds.count("png") == 4
    for path in (node.settings.root / "archive" / "derived").rglob("*.nc"):
        assert path.read_bytes()[:4] in (b"CDF\x01", b"CDF\x02", b"\x89HDF")


def test_a_stopped_round_leaves_pending_work_for_the_next(node: Node) -> None:
    from sqlalchemy import delete

    from archive_center.worker import derive_missing

    engine = node.app.state.engine
    store = node.app.state.store
    with node.app.state.session_factory() as session, session.begin():
        session.execute(delete(DerivedFile))  # whatever earlier tests made is to do again
    stop = threading.Event()
    stop.set()
    assert derive_missing(engine, store, datetime.now(UTC), set(), stop) == 0
    with node.app.state.session_factory() as session:
        assert list(session.scalars(select(DerivedFile))) == []
    # Not stopped, the same round makes every missing file (NetCDF, plot and QC of 4 versions).
    assert derive_missing(engine, store, datetime.now(UTC), set()) == 12


def test_a_file_that_cannot_be_converted_fails_alone(
    node: Node, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A version whose original the readers refuse fails its items with the reader's message;
    the deriving processes live on and the other items of the same round are made. (A reader's
    exception that did not survive pickling once broke the whole pool on every such file.)"""
    from sqlalchemy import delete

    from archive_center.worker import DerivePool
    from catalog.models import Dataset
    from catalog.storage import ArchiveStore

    engine, now = node.app.state.engine, datetime.now(UTC)
    binary = tmp_path / "binary.txt"
    binary.write_bytes(bytes(range(256)) * 64)
    size = binary.stat().st_size
    sha256, _ = ArchiveStore(node.settings.root).put_original(binary)
    with node.app.state.session_factory() as session, session.begin():
        session.execute(delete(DerivedFile))  # the good versions' files are to make again
        template = session.scalars(select(Dataset).where(Dataset.origin_center == "JOSS")).first()
        assert template is not None
        bad = Dataset(campaign_id=template.campaign_id, did="binary-1", pi_name="Test",
                      platform="lab", instrument="none", location="fixed", project="INDOEX",
                      title="binary", summary="binary", access_state="open",
                      origin_center="JOSS", origin_version=1, created=now, updated=now,
                      start=now, stop=now)  # fmt: skip
        version = DatasetVersion(
            sha256=sha256, size=size, original_name="binary.txt", source_format="header",
            created_at=now, is_current=True,
        )  # fmt: skip
        bad.versions = [version]
        session.add(bad)
        session.flush()
        bad_id, version_id = bad.id, bad.versions[0].id
    settings = node.settings.model_copy(
        update={"worker": node.settings.worker.model_copy(update={"derive_processes": 2})}
    )
    pool = DerivePool(settings, engine, threading.Event())
    try:
        made, deadline = 0, time.monotonic() + 120
        wanted = {("netcdf", version_id), ("png", version_id)}
        while time.monotonic() < deadline and (made < 12 or not wanted <= pool.failed):
            made += pool.step()
            time.sleep(0.05)
    finally:
        pool.close()
        with node.app.state.session_factory() as session, session.begin():
            session.execute(delete(Dataset).where(Dataset.id == bad_id))
    assert wanted <= pool.failed
    assert made >= 12  # NetCDF, plot and QC of the four good versions, in the same round
    said = caplog.text
    assert "deriving process died" not in said and "BrokenProcessPool" not in said
    assert f"could not derive netcdf for version {version_id}" in said and "binary" in said
