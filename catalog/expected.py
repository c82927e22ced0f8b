"""What is still to come: the datasets each PI is expected to deliver, and where each stands.

Staff record an expected delivery (the questionnaire: a PI, and the DID or the platform and
instrument of the data). Its due date follows from the campaign's release rules: the day the
data of its category are to be released (`registration.default_release_at`), since data not
in the archive by then cannot be released on time; staff may set another. An entry is
**received** when any center holds a dataset of the campaign matching it (its DID, or the
PI with that platform and instrument), **late** when not and the due day has passed, and
**waiting** otherwise. Entries travel to the peers like reports, so every center (and the
project office) sees every center's list, each judged against every center's datasets.
Staff of the recording center edit an entry's due day and note (`expected.edit`) or withdraw
it (`expected.withdraw`); both raise its origin version and travel, a withdrawal as a
tombstone, so the peers follow.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from catalog.access_states import AccessState
from catalog.audit import record_event
from catalog.closing import refuse_if_closing
from catalog.errors import ConflictError, InvalidQueryError, NotFoundError
from catalog.field_records import announce, withdraw_field_record
from catalog.models import Campaign, Dataset, fold
from catalog.registration import default_release_at
from catalog.schemas import Principal
from catalog.summary_models import ExpectedDelivery

Standing = Literal["received", "late", "waiting"]
CATEGORIES = ("research", "operational")


def add_expected(
    session: Session, *, campaign_code: str, center_code: str, pi_name: str,
    did: str | None, platform: str, instrument: str, category: str, description: str,
    due: date | None, now: datetime,
) -> ExpectedDelivery:  # fmt: skip
    """Record one expected delivery and announce it to the peers."""
    refuse_if_closing(session, center_code)
    campaign = session.scalar(select(Campaign).where(Campaign.code == campaign_code))
    if campaign is None:
        raise NotFoundError(f"no campaign {campaign_code!r}")
    if category not in CATEGORIES:
        raise InvalidQueryError(f"category must be one of {', '.join(CATEGORIES)}")
    if not did and not (platform.strip() or instrument.strip()):
        raise InvalidQueryError("name the DID, or the platform or instrument, of the data")
    if due is None:
        release = default_release_at(campaign, category)
        if release is None:
            raise InvalidQueryError("the campaign has no end date: give the due date")
        due = release.date()
    expected = ExpectedDelivery(
        campaign_id=campaign.id, center_code=center_code, origin_version=1,
        pi_name=pi_name.strip(), pi_key=fold(pi_name) or "", did=(did or "").strip() or None,
        platform=platform.strip(), instrument=instrument.strip(), category=category,
        description=description.strip(), due=due, created_at=now,
    )  # fmt: skip
    session.add(expected)
    announce(session, expected, now)
    return expected


def locked_expected(session: Session, public_id: str) -> ExpectedDelivery:
    """The expected delivery with this public id, its row write-locked until the caller
    commits (NotFoundError if none is held here).

    The lock is a no-op UPDATE, which both databases take before reading (SQLite ignores
    `FOR UPDATE`): racing edits then read each other's origin version, and a racing
    withdrawal finds the row gone (404) instead of deleting it twice.
    """
    touched = session.execute(
        update(ExpectedDelivery)
        .where(ExpectedDelivery.public_id == public_id)
        .values(origin_version=ExpectedDelivery.origin_version)
        .execution_options(synchronize_session=False)
    )
    found = session.scalars(
        select(ExpectedDelivery).where(ExpectedDelivery.public_id == public_id)
    ).first()
    if found is None or not getattr(touched, "rowcount", 0):
        raise NotFoundError("no such expected delivery")
    refuse_if_closing(session, found.center_code)
    session.refresh(found)
    return found


def edit_expected(
    session: Session, public_id: str, *, local_code: str, due: date | None,
    description: str | None, actor: Principal, now: datetime,
) -> ExpectedDelivery:  # fmt: skip
    """Change an entry's due day or note at its own center: audited, announced to the peers."""
    expected = locked_expected(session, public_id)
    if expected.center_code != local_code:
        raise ConflictError(f"recorded by {expected.center_code}: edit it there")
    before = {"due": expected.due.isoformat(), "description": expected.description}
    if due is not None:
        expected.due = due
    if description is not None:
        expected.description = description.strip()
    after = {"due": expected.due.isoformat(), "description": expected.description}
    if after == before:
        return expected
    expected.origin_version += 1
    announce(session, expected, now)
    record_event(session, actor=actor, action="expected.edit", now=now, reason="edited",
                 before={"public_id": public_id, **before}, after=after)  # fmt: skip
    return expected


def withdraw_expected(
    session: Session, public_id: str, *, local_code: str, actor: Principal, reason: str,
    now: datetime,
) -> None:  # fmt: skip
    """Withdraw an entry at its own center (audited; a tombstone travels to the peers)."""
    withdraw_field_record(session, locked_expected(session, public_id), local_code=local_code,
                          actor=actor, reason=reason, now=now)  # fmt: skip


def _matching(session: Session, expected: ExpectedDelivery) -> str | None:
    """The public id of a dataset (any center) that delivers this entry, if one does."""
    query = select(Dataset.public_id).where(
        Dataset.campaign_id == expected.campaign_id,
        Dataset.access_state != AccessState.WITHDRAWN.value,
    )
    if expected.did:
        query = query.where(Dataset.did == expected.did)
    else:
        query = query.where(Dataset.pi_key == expected.pi_key)
        if expected.platform:
            query = query.where(Dataset.platform_key == fold(expected.platform))
        if expected.instrument:
            query = query.where(Dataset.instrument_key == fold(expected.instrument))
    return session.scalar(query.limit(1))


@dataclass(frozen=True)
class Judged:
    """An expected delivery and where it stands today."""

    expected: ExpectedDelivery
    standing: Standing
    dataset: str | None
    """The public id of the dataset that delivered it."""


def judge_all(session: Session, today: date, *, pi: str | None = None,
              center: str | None = None) -> list[Judged]:  # fmt: skip
    """Every expected delivery (of one PI or center), judged; by PI, then due day."""
    query = select(ExpectedDelivery).order_by(ExpectedDelivery.pi_key, ExpectedDelivery.due)
    if pi:
        query = query.where(ExpectedDelivery.pi_key == fold(pi))
    if center:
        query = query.where(ExpectedDelivery.center_code == center.upper())
    judged = []
    for expected in session.scalars(query):
        found = _matching(session, expected)
        standing: Standing = "received" if found else "late" if expected.due < today else "waiting"
        judged.append(Judged(expected, standing, found))
    return judged


def tally(judged: list[Judged]) -> dict[tuple[str, str], dict[str, int]]:
    """Counts of received, late and waiting per (PI, center)."""
    counts: dict[tuple[str, str], dict[str, int]] = {}
    for item in judged:
        key = (item.expected.pi_name, item.expected.center_code)
        row = counts.setdefault(key, {"received": 0, "late": 0, "waiting": 0})
        row[item.standing] += 1
    return counts
