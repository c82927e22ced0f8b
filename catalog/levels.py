"""Processing levels: 0 as submitted, 1 QC applied (released by the PI), 2 final.

Every new version starts at level 0. The dataset's PI or staff release level 1 or 2 of the
current version with a note; levels only go up (a correction is a new version, which starts
at 0 again). The release is audited and, as the dataset's public `level`, sent to the peers
in the change log like any metadata change, so a peer shows it within its replication delay.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from catalog.access import LEVEL_RULE_STATES
from catalog.access_admin import publish
from catalog.audit import record_event
from catalog.curation import curated_dataset
from catalog.downloads import PROCESSING_LEVELS, current_version
from catalog.errors import ConflictError, InvalidQueryError
from catalog.models import Dataset
from catalog.schemas import Principal

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

LEVELS = PROCESSING_LEVELS
LEVEL_NAMES = {0: "Level 0 (as submitted)", 1: "Level 1 (quality controlled)", 2: "Level 2 (final)"}


def release_level(
    session: Session,
    public_id: str,
    *,
    level: int,
    note: str,
    actor: Principal,
    now: datetime,
) -> Dataset:
    """Release `level` of the dataset's current version (its PI or staff); audited, sent."""
    if level not in LEVELS:
        raise InvalidQueryError(f"level must be one of {LEVELS}")
    dataset = curated_dataset(session, public_id, actor, now)
    version = current_version(session, dataset)
    if level <= version.level:
        raise ConflictError(
            f"version {version.id} of {public_id} is already at level {version.level}; "
            "levels only go up (send a new version to start again at 0)"
        )
    before = {"level": version.level, "version_id": version.id}
    version.level, version.level_note, version.level_released_at = level, note, now
    dataset.level = level
    record_event(
        session, actor=actor, action="level.release", now=now, reason=note, dataset=dataset,
        before=before, after={"level": level, "version_id": version.id},
    )  # fmt: skip
    publish(session, dataset, now)
    return dataset


def set_level_access(
    session: Session,
    public_id: str,
    *,
    level: int,
    state: str,
    release_at: datetime | None,
    reason: str,
    actor: Principal,
    now: datetime,
) -> Dataset:
    """Set (or with `inherit` remove) the access rule of the data at `level` (its PI or
    staff); audited (`level.access`) and sent to the peers with the record."""
    if level not in LEVELS:
        raise InvalidQueryError(f"level must be one of {LEVELS}")
    if state not in (*LEVEL_RULE_STATES, "inherit"):
        raise InvalidQueryError(f"state must be one of {(*LEVEL_RULE_STATES, 'inherit')}")
    if state == "embargoed" and release_at is None:
        raise InvalidQueryError("an embargo needs its release_at")
    dataset = curated_dataset(session, public_id, actor, now)
    rules = dict(dataset.level_access or {})
    before = rules.get(str(level))
    if state == "inherit":
        if before is None:
            raise ConflictError(f"level {level} of {public_id} has no rule of its own")
        rules.pop(str(level))
    else:
        when = None if state == "open" or release_at is None else release_at.isoformat()
        rules[str(level)] = {"state": state, "release_at": when}
    dataset.level_access = rules or None
    record_event(
        session, actor=actor, action="level.access", now=now, reason=reason, dataset=dataset,
        before={"level": level, "rule": before},
        after={"level": level, "rule": rules.get(str(level))},
    )  # fmt: skip
    publish(session, dataset, now)
    return dataset
