"""The background worker: derived NetCDF and quick-looks for current versions, then idle."""

from __future__ import annotations

import threading
import time

from sqlalchemy import select

from archive_center.worker import run_worker
from catalog.models import DerivedFile
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
    from datetime import UTC, datetime

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
