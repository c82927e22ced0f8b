"""The `build-merge` job kind: a scheduled job builds a CIDS merged product again.

A merge of three C-130 datasets is defined; a job names it; each run of the job builds it
again from the inputs' current versions (a new DATA VERSION each time, even when nothing
changed, unlike the worker's own build of changed merges), and records its result. A PI
schedules only the merges they defined; a missing merge is refused.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from archive_center.job_queue import configure, run_attempt
from catalog.errors import NotFoundError, RoleRequiredError
from catalog.jobs import define_job, list_jobs
from catalog.merges import MERGE_DID_BASE
from catalog.models import Dataset
from catalog.storage import ArchiveStore
from tests.cids.test_merged_products import _define, _setup
from tests.submissions.conftest import NOW, OWNER, STAFF, Submit


def _job(db: Session, merge_id: int, owner=STAFF) -> int:  # type: ignore[no-untyped-def]
    definition = define_job(
        db, name="rebuild", kind="build-merge", params={"merge_id": merge_id},
        period="daily", first_due=NOW, owner=owner, now=NOW,
    )  # fmt: skip
    db.commit()
    return definition.id


def test_each_run_builds_the_merge_again_and_says_so(
    db: Session,
    engine: Engine,
    session_factory: sessionmaker[Session],
    store: ArchiveStore,
    submit: Submit,
) -> None:
    merge_id = _define(db, _setup(db, submit))
    job_id = _job(db, merge_id)
    configure(engine, store, "JOSS", "INDOEX")
    run_attempt(engine, job_id, NOW, 1)
    run_attempt(engine, job_id, NOW + timedelta(days=1), 1)
    db.expire_all()
    product = db.scalars(select(Dataset).where(Dataset.did == str(MERGE_DID_BASE + merge_id))).one()
    assert product.data_version == "2" and len(product.versions) == 2
    [job] = list_jobs(db, STAFF)
    runs = sorted(job["runs"], key=lambda r: r["due_at"])
    assert [r["state"] for r in runs] == ["succeeded", "succeeded"], runs
    assert [r["result"]["data_version"] for r in runs] == ["1", "2"]
    assert runs[0]["result"]["dataset"] == product.public_id


def test_a_missing_merge_is_refused(db: Session) -> None:
    with pytest.raises(NotFoundError):
        _job(db, 999)


def test_a_pi_schedules_only_their_own_merges(
    db: Session, store: ArchiveStore, submit: Submit
) -> None:
    merge_id = _define(db, _setup(db, submit))
    with pytest.raises(RoleRequiredError):
        _job(db, merge_id, owner=OWNER)
