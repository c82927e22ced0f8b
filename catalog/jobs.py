"""Scheduled jobs: definitions (hourly, daily, weekly), claiming due runs, running them and
recording each attempt.

A due run is claimed by moving the definition's `next_due` on with a conditional UPDATE
(`WHERE next_due = <the value read>`): of several schedulers that read the same due time,
exactly one updates the row, and only that one hands the run to the queue. The queue (see
`archive_center/job_queue.py`) then gives it to exactly one worker; `job_runs` is unique on
(definition, due time, attempt), so a run recorded twice would fail at the database.

Kinds: `rerun-qc` (QC of an instrument's datasets runs again: `params.instrument_id`),
`daily-digest` (a daily report listing the datasets registered since the previous run),
`pull-transfer` (`params.source_id`: a transfer source is pulled; the node supplies it, since
it runs the submission pipeline, see `execute_run`) and `build-merge` (`params.merge_id`: a
CIDS merged product is built again from its inputs' current versions; the node supplies it,
since it writes to the archive).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from catalog.cids_models import MergeDefinition
from catalog.errors import InvalidQueryError, NotFoundError, RoleRequiredError
from catalog.field_reports import add_report
from catalog.job_models import PERIODS, JobDefinition, JobRun, TransferSource
from catalog.models import Dataset, DatasetVersion
from catalog.qc import drop_qc_of_instrument
from catalog.registry import get_instrument
from catalog.schemas import Principal, Role

PERIOD_LENGTH = {
    "hourly": timedelta(hours=1), "daily": timedelta(days=1), "weekly": timedelta(weeks=1),
}  # fmt: skip
MAX_ATTEMPTS = 4
"""A failed run is tried again (with back-off, by the queue) up to this many times in all."""


def _rerun_qc(session: Session, definition: JobDefinition, due: datetime) -> dict[str, Any]:
    instrument = get_instrument(session, int(definition.params.get("instrument_id", 0)))
    dropped = drop_qc_of_instrument(session, instrument.id, instrument.key)
    return {"instrument": instrument.name, "versions_queued_for_qc": dropped}


def _daily_digest(session: Session, definition: JobDefinition, due: datetime) -> dict[str, Any]:
    since = due - PERIOD_LENGTH[definition.period]
    rows = session.execute(
        select(Dataset.public_id, Dataset.title)
        .join(DatasetVersion, DatasetVersion.dataset_id == Dataset.id)
        .where(DatasetVersion.created_at >= since, DatasetVersion.created_at < due)
        .order_by(DatasetVersion.id)
    ).all()
    body = "\n".join(f"- {title} ({pid})" for pid, title in rows) or "No new versions."
    report = add_report(
        session, campaign_code=str(definition.params["campaign"]),
        center_code=str(definition.params["center"]), kind="daily", report_date=due.date(),
        title=f"Digest: {len(rows)} new version(s) since {since:%Y-%m-%d %H:%M} UTC",
        body=body, author=Principal(role=Role.STAFF, username="jobs"), now=due,
    )  # fmt: skip
    return {"report_id": report.id, "versions": len(rows)}


JobKind = Callable[[Session, JobDefinition, datetime], dict[str, Any]]
KINDS: dict[str, JobKind] = {"rerun-qc": _rerun_qc, "daily-digest": _daily_digest}
NODE_KINDS = ("pull-transfer", "build-merge")
"""Kinds whose work lies above the catalog; the node passes them to `execute_run`."""


def _check_merge(session: Session, params: dict[str, Any], owner: Principal) -> None:
    """A `build-merge` job names a merged product its owner defined (staff: any)."""
    merge = session.get(MergeDefinition, int(params.get("merge_id", 0)))
    if merge is None:
        raise NotFoundError(f"no merged product {params.get('merge_id')}")
    if owner.role not in (Role.STAFF, Role.ADMIN) and merge.created_by != owner.username:
        raise RoleRequiredError("a PI schedules only the merged products they defined")


def _check_source(session: Session, params: dict[str, Any], owner: Principal) -> None:
    """A `pull-transfer` job names a transfer source whose PI is its owner (staff: any)."""
    source = session.get(TransferSource, int(params.get("source_id", 0)))
    if source is None:
        raise NotFoundError(f"no transfer source {params.get('source_id')}")
    if owner.role not in (Role.STAFF, Role.ADMIN) and source.owner_user_id != owner.user_id:
        raise RoleRequiredError("a PI schedules only the transfer sources whose PI they are")


def check_job(
    session: Session, *, kind: str, params: dict[str, Any], period: str, owner: Principal
) -> None:
    """What a definition names exists and its owner may schedule it."""
    if kind not in (*KINDS, *NODE_KINDS):
        raise InvalidQueryError(f"kind must be one of {', '.join((*KINDS, *NODE_KINDS))}")
    if period not in PERIODS:
        raise InvalidQueryError(f"period must be one of {', '.join(PERIODS)}")
    if kind == "rerun-qc":
        get_instrument(session, int(params.get("instrument_id", 0)))
    if kind == "pull-transfer":
        _check_source(session, params, owner)
    if kind == "build-merge":
        _check_merge(session, params, owner)


def define_job(
    session: Session,
    *,
    name: str,
    kind: str,
    params: dict[str, Any],
    period: str,
    first_due: datetime,
    owner: Principal,
    now: datetime,
) -> JobDefinition:
    """Record a job definition, first due at `first_due`."""
    check_job(session, kind=kind, params=params, period=period, owner=owner)
    definition = JobDefinition(
        name=name, kind=kind, params=params, period=period, owner_user_id=owner.user_id,
        enabled=True, next_due=first_due, created_at=now,
    )  # fmt: skip
    session.add(definition)
    session.flush()
    return definition


def job_of(session: Session, job_id: int, caller: Principal) -> JobDefinition:
    """A definition the caller may manage (their own; staff: any); another PI's is a 404,
    as if it did not exist, since they cannot list it either."""
    definition = session.get(JobDefinition, job_id)
    staff = caller.role in (Role.STAFF, Role.ADMIN)
    if definition is None or not (staff or definition.owner_user_id == caller.user_id):
        raise NotFoundError(f"no job {job_id}")
    return definition


def _owner_of(session: Session, definition: JobDefinition, editor: Principal) -> Principal:
    """Whose rights a definition is checked with: its owner's (an editing staff member keeps
    a PI's job the PI's)."""
    from catalog.models import User

    user = session.get(User, definition.owner_user_id) if definition.owner_user_id else None
    if user is None:
        return editor
    return Principal(user_id=user.id, username=user.username, role=Role(user.role))


def update_job(
    session: Session,
    definition: JobDefinition,
    *,
    name: str,
    kind: str,
    params: dict[str, Any],
    period: str,
    next_due: datetime,
    editor: Principal,
) -> JobDefinition:
    """Change a definition (found with `job_of`): its runs so far stay."""
    owner = _owner_of(session, definition, editor)
    check_job(session, kind=kind, params=params, period=period, owner=owner)
    definition.name, definition.kind, definition.params = name, kind, params
    definition.period, definition.next_due = period, next_due
    session.flush()
    return definition


def set_job_enabled(definition: JobDefinition, enabled: bool) -> None:
    """Pause (not claimed while paused) or resume a definition; a resumed job whose due time
    passed runs at the next poll, once."""
    definition.enabled = enabled


def run_job_now(definition: JobDefinition, now: datetime) -> None:
    """Make a definition due at once: the next poll runs it, and the runs after it follow a
    period apart from now."""
    if not definition.enabled:
        raise InvalidQueryError("this job is paused: resume it to run it")
    definition.next_due = now


def delete_job(session: Session, definition: JobDefinition) -> None:
    """Delete a definition and its runs."""
    session.execute(delete(JobRun).where(JobRun.definition_id == definition.id))
    session.delete(definition)
    session.flush()


def pull_jobs_of(session: Session, source_id: int) -> list[JobDefinition]:
    """The `pull-transfer` definitions that pull a source."""
    query = select(JobDefinition).where(JobDefinition.kind == "pull-transfer")
    return [
        d
        for d in session.scalars(query.order_by(JobDefinition.id))
        if int(d.params.get("source_id", 0)) == source_id
    ]


def list_jobs(session: Session, caller: Principal, runs: int = 20) -> list[dict[str, Any]]:
    """Definitions (a PI's own; staff see all) with their latest runs, newest first."""
    query = select(JobDefinition).order_by(JobDefinition.id)
    if caller.role not in (Role.STAFF, Role.ADMIN):
        query = query.where(JobDefinition.owner_user_id == caller.user_id)
    return [job_json(session, definition, runs) for definition in session.scalars(query)]


def job_json(session: Session, definition: JobDefinition, runs: int = 20) -> dict[str, Any]:
    """One definition with its latest runs, newest first, as the API shows it."""
    latest = session.scalars(
        select(JobRun).where(JobRun.definition_id == definition.id)
        .order_by(JobRun.id.desc()).limit(runs)
    )  # fmt: skip
    return {
        "id": definition.id, "name": definition.name, "kind": definition.kind,
        "params": definition.params, "period": definition.period,
        "next_due": definition.next_due, "enabled": definition.enabled,
        "runs": [run_json(r) for r in latest],
    }  # fmt: skip


def run_json(run: JobRun) -> dict[str, Any]:
    """One run as the API shows it."""
    return {
        "due_at": run.due_at, "attempt": run.attempt, "started_at": run.started_at,
        "finished_at": run.finished_at, "duration_s": run.duration_s, "state": run.state,
        "result": run.result, "error": run.error, "worker": run.worker,
    }  # fmt: skip


def claim_due(session: Session, now: datetime, limit: int = 200) -> list[tuple[int, datetime]]:
    """Claim the runs due at `now`: (definition id, due time) of each definition whose
    `next_due` this caller moved on (one period past its due time, skipping missed ones)."""
    due = session.execute(
        select(JobDefinition.id, JobDefinition.next_due, JobDefinition.period)
        .where(JobDefinition.enabled.is_(True), JobDefinition.next_due <= now)
        .order_by(JobDefinition.next_due)
        .limit(limit)
    ).all()
    claimed = []
    for definition_id, due_at, period in due:
        step = PERIOD_LENGTH[period]
        following = due_at + step * max(1, (now - due_at) // step + 1)
        moved = session.execute(
            update(JobDefinition)
            .where(JobDefinition.id == definition_id, JobDefinition.next_due == due_at)
            .values(next_due=following)
            .execution_options(synchronize_session=False)
        )
        if moved.rowcount == 1:  # type: ignore[attr-defined]
            claimed.append((definition_id, due_at))
    return claimed


def seconds_to_next_due(session: Session, now: datetime) -> float | None:
    """How long until the earliest enabled definition is due (0 when one is due already);
    None when there is none."""
    due = session.scalar(
        select(func.min(JobDefinition.next_due)).where(JobDefinition.enabled.is_(True))
    )
    if due is None:
        return None
    if due.tzinfo is None:  # SQLite hands back naive UTC
        due = due.replace(tzinfo=now.tzinfo)
    return max(0.0, (due - now).total_seconds())


def start_run(
    session: Session, definition_id: int, due_at: datetime, attempt: int, worker: str,
    now: datetime,
) -> JobRun:  # fmt: skip
    """Record that an attempt of a run starts."""
    if session.get(JobDefinition, definition_id) is None:
        raise NotFoundError(f"no job {definition_id}")
    run = JobRun(
        definition_id=definition_id, due_at=due_at, attempt=attempt, started_at=now,
        state="running", error="", worker=worker[:100],
    )  # fmt: skip
    session.add(run)
    session.flush()
    return run


def execute_run(
    session: Session, run: JobRun, node_kinds: Mapping[str, JobKind] | None = None
) -> dict[str, Any]:
    """Do the job of a started run (in the caller's transaction); `node_kinds` adds the
    kinds the node implements (`NODE_KINDS`)."""
    definition = session.get_one(JobDefinition, run.definition_id)
    kinds = {**KINDS, **(node_kinds or {})}
    if definition.kind not in kinds:
        raise InvalidQueryError(f"this process cannot run jobs of kind {definition.kind!r}")
    return kinds[definition.kind](session, definition, run.due_at)


def finish_run(
    session: Session, run_id: int, *, result: dict[str, Any] | None, error: str,
    started: float, now: datetime,
) -> None:  # fmt: skip
    """Record the end of an attempt: its result, or the error that says why it failed."""
    run = session.get_one(JobRun, run_id)
    run.finished_at, run.duration_s = now, time.monotonic() - started
    run.state = "failed" if error else "succeeded"
    run.result, run.error = result, error[:4000]


def runs_count(session: Session) -> int:
    """How many runs were recorded (all definitions, all attempts)."""
    return int(session.scalar(select(func.count()).select_from(JobRun)) or 0)
