"""A stream's day versions: one transaction each when clean, the ordinary pipeline for
anything else; many streams publishing at once lose and double nothing (SQLite and
PostgreSQL); publications take turns in order and a stream that waited publishes everything
that arrived meanwhile in one version."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from catalog.models import Dataset
from catalog.storage import ArchiveStore
from catalog.submission_models import Submission
from formats.profile_rows import RowReader, render
from formats.profiles import Profile, load_profile
from submissions.acceptance import SubmitOptions
from submissions.day_stream import TURNS, DayStream, Turnstile, day_did
from submissions.intake import SubmissionResult
from submissions.stream_version import submit_version
from tests.archive_center.stream_feed import START, met_line
from tests.conftest import REPO
from tests.polling import eventually
from tests.submissions.conftest import NOW, OTHER, OWNER, Submit

PROFILE = REPO / "tests" / "fixtures" / "profiles" / "campbell_met.toml"
Take = Callable[[Path, str], SubmissionResult]


@pytest.fixture(scope="module")
def profile() -> Profile:
    return load_profile(PROFILE)


@pytest.fixture
def take(session_factory: sessionmaker[Session], store: ArchiveStore) -> Take:
    def run(path: Path, name: str) -> SubmissionResult:
        return submit_version(
            session_factory, store, source=path, original_name=name, submitter=OWNER,
            center_code="JOSS", campaign="INDOEX", receiver="stream-met",
            options=SubmitOptions(), now=NOW,
        )  # fmt: skip

    return run


@pytest.fixture
def commits(engine: Engine) -> Iterator[list[int]]:
    seen: list[int] = []

    def note(_connection: Any) -> None:
        seen.append(1)

    event.listen(engine, "commit", note)
    yield seen
    event.remove(engine, "commit", note)


def day_file(profile: Profile, tmp_path: Path, lines: int, did: int = 71019990301) -> Path:
    reader = RowReader(profile)
    rows = [reader.read(n + 1, met_line(n)) for n in range(lines)]
    text = render(profile, rows, did=did, data_version=f"1.0.{lines}", source="met")  # type: ignore[arg-type]
    path = tmp_path / f"met-{lines}.txt"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_clean_version_is_registered_with_one_commit(
    take: Take, profile: Profile, tmp_path: Path, db: Session, store: ArchiveStore,
    commits: list[int],
) -> None:  # fmt: skip
    first = take(day_file(profile, tmp_path, 3), "met_19990301.txt")
    commits.clear()
    result = take(day_file(profile, tmp_path, 5), "met_19990301.txt")
    assert result.accepted, result.report_text
    assert len(commits) == 1
    assert result.dataset_public_id == first.dataset_public_id
    dataset = db.scalars(select(Dataset).where(Dataset.did == "71019990301")).one()
    assert dataset.current_version is not None
    assert dataset.current_version.data_version == "1.0.5"
    assert store.original_path(result.sha256).exists()
    rows = db.scalars(select(Submission).order_by(Submission.id)).all()
    assert [(r.state, r.receiver) for r in rows] == [("registered", "stream-met")] * 2
    assert "registered as dataset" in rows[-1].report_text
    assert list(store.staging_dir.iterdir()) == []


def test_a_version_that_does_not_validate_is_rejected_with_its_report(
    take: Take, samples: Path, db: Session
) -> None:
    path = samples / "invalid" / sorted(p.name for p in (samples / "invalid").iterdir())[0]
    result = take(path, path.name)
    assert result.state == "rejected"
    assert "error" in result.report_text
    assert db.scalars(select(Submission.state)).all() == ["rejected"]
    assert db.scalars(select(Dataset)).all() == []


def test_a_version_of_a_did_another_pi_owns_is_refused(
    take: Take, submit: Submit, profile: Profile, tmp_path: Path, db: Session
) -> None:
    assert submit(day_file(profile, tmp_path, 2), submitter=OTHER).accepted
    result = take(day_file(profile, tmp_path, 4), "met_19990301.txt")
    assert result.state == "rejected"
    assert "SUB" in result.report_text
    current = db.scalars(select(Dataset)).one().current_version
    assert current is not None and current.data_version == "1.0.2"


def test_the_same_version_twice_is_a_duplicate(
    take: Take, profile: Profile, tmp_path: Path, db: Session
) -> None:
    path = day_file(profile, tmp_path, 3)
    assert take(path, "met_19990301.txt").accepted
    again = take(path, "met_19990301.txt")
    assert again.accepted and again.duplicate
    assert len(db.scalars(select(Dataset)).one().versions) == 1


def test_many_streams_at_once_lose_and_double_no_line(
    take: Take, profile: Profile, tmp_path: Path, db: Session
) -> None:
    streams = [
        DayStream(f"s{n}", profile, tmp_path / f"s{n}", take, did=800 + n, every_s=0.2)
        for n in range(5)
    ]
    lines = 30

    def feed(stream: DayStream) -> None:
        for i in range(lines):
            assert stream.append(met_line(i)) is None
            stream.publish_due()
            time.sleep(0.01)

    threads = [threading.Thread(target=feed, args=(s,)) for s in streams]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for stream in streams:
        stream.every_s = 0
        stream.publish_due()
    db.expire_all()
    for n in range(5):
        did = str(day_did(800 + n, START.date()))
        dataset = db.scalars(select(Dataset).where(Dataset.did == did)).one()
        versions = sorted(int(v.data_version.rsplit(".", 1)[1]) for v in dataset.versions)
        assert versions[-1] == lines and len(set(versions)) == len(versions)
        assert dataset.current_version is not None
        assert dataset.current_version.data_version == f"1.0.{lines}"
    assert set(db.scalars(select(Submission.state)).all()) == {"registered"}


def test_turns_are_taken_in_the_order_asked() -> None:
    turns = Turnstile()
    order: list[int] = []
    release = threading.Event()

    def first() -> None:
        with turns.turn():
            release.wait(10)
            order.append(0)

    def later(n: int) -> None:
        with turns.turn():
            order.append(n)

    threads = [threading.Thread(target=first)]
    threads[0].start()
    eventually(lambda: turns.queued() == 1, timeout=10, every=0.01)
    for n in range(1, 6):
        threads.append(threading.Thread(target=later, args=(n,)))
        threads[-1].start()
        eventually(
            lambda: turns.queued() == n + 1, timeout=10, every=0.01
        )  # each asks after the one before
    release.set()
    for thread in threads:
        thread.join(10)
    assert order == [0, 1, 2, 3, 4, 5]


def test_a_stream_that_waited_publishes_everything_in_one_version(
    profile: Profile, tmp_path: Path
) -> None:
    release = threading.Event()
    taken: list[tuple[str, str]] = []

    def slow(path: Path, name: str) -> Any:
        if name.startswith("busy"):
            release.wait(10)
        taken.append((name, path.read_text()))
        return type("Result", (), {"accepted": True, "report_text": ""})()

    busy = DayStream("busy", profile, tmp_path / "busy", slow, did=1, every_s=0)
    waiting = DayStream("waiting", profile, tmp_path / "waiting", slow, did=2, every_s=0)
    busy.append(met_line(0))
    for i in range(3):
        waiting.append(met_line(i))
    queued = TURNS.queued()
    first = threading.Thread(target=busy.publish_due)
    first.start()
    eventually(lambda: TURNS.queued() == queued + 1, timeout=10, every=0.01)
    second = threading.Thread(target=waiting.publish_due)
    second.start()
    eventually(lambda: TURNS.queued() == queued + 2, timeout=10, every=0.01)
    for i in range(3, 7):  # arrive while the version waits for its turn
        waiting.append(met_line(i))
    release.set()
    first.join(10)
    second.join(10)
    assert [name for name, _ in taken] == ["busy_19990301.txt", "waiting_19990301.txt"]
    assert "DATA VERSION = 1.0.7" in taken[1][1]
    assert waiting.publish_due() is None  # nothing left: one version held all seven lines
