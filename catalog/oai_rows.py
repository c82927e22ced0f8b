"""The rows an OAI-PMH page is built from: one SQLAlchemy Core query per page with only the
columns a record names (no ORM objects), its current version joined in, and its variables
in a second query. A harvest of 100,000 records builds no `Dataset` object (the `datacite`
format, which relates every version, loads its page's datasets itself).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import ColumnElement, and_, select
from sqlalchemy.orm import Session

from catalog.citations import CitedVersion
from catalog.models import Campaign, Dataset, DatasetVersion, Variable

_DATASET_COLUMNS = (
    Dataset.id,
    Dataset.public_id,
    Dataset.did,
    Dataset.pi_name,
    Dataset.title,
    Dataset.platform,
    Dataset.platform_key,
    Dataset.instrument,
    Dataset.origin_center,
    Dataset.summary,
    Dataset.start,
    Dataset.stop,
    Dataset.west,
    Dataset.south,
    Dataset.east,
    Dataset.north,
    Dataset.level,
    Dataset.access_state,
    Dataset.release_at,
    Dataset.owner_user_id,
    Dataset.campaign_id,
    Dataset.updated,
    Dataset.doi,
    Dataset.created,
    Dataset.data_version,
)


@dataclass(slots=True)
class RecordRow:
    """What one OAI-PMH record says of a dataset (satisfies `citations.CitedFacts` and
    `access.AccessFacts`)."""

    id: int
    public_id: str
    did: str | None
    pi_name: str
    title: str | None
    platform: str
    platform_key: str
    instrument: str
    origin_center: str
    summary: str | None
    start: datetime
    stop: datetime
    west: float | None
    south: float | None
    east: float | None
    north: float | None
    level: int
    access_state: str
    release_at: datetime | None
    owner_user_id: int | None
    campaign_id: int
    updated: datetime
    doi: str
    """The DOI its origin minted for the dataset as a whole ("" when none)."""
    version_id: int | None
    """The current version's id (None for a record without one, e.g. a bare tombstone)."""
    cited: CitedVersion
    variables: list[str] = field(default_factory=list)


def _row(values: Sequence[object]) -> RecordRow:
    (*facts, created, data_version, code, name, version_id, archived_at, label) = values
    cited = CitedVersion(
        campaign_code=str(code),
        campaign_name=str(name),
        archived_at=archived_at if isinstance(archived_at, datetime) else created,  # type: ignore[arg-type]
        version=str((label if version_id is not None else data_version) or ""),
    )
    return RecordRow(*facts, version_id=version_id, cited=cited)  # type: ignore[arg-type,misc]


def record_rows(
    session: Session, where: Sequence[ColumnElement[bool]], limit: int
) -> list[RecordRow]:
    """The first `limit` datasets matching `where` by (updated, public id), as plain rows."""
    query = (
        select(
            *_DATASET_COLUMNS,
            Campaign.code,
            Campaign.name,
            DatasetVersion.id,
            DatasetVersion.created_at,
            DatasetVersion.data_version,
        )
        .join(Campaign, Campaign.id == Dataset.campaign_id)
        .outerjoin(
            DatasetVersion,
            and_(DatasetVersion.dataset_id == Dataset.id, DatasetVersion.is_current.is_(True)),
        )
        .where(*where)
        .order_by(Dataset.updated, Dataset.public_id)
        .limit(limit)
    )
    rows = [_row(tuple(values)) for values in session.connection().execute(query)]
    _add_variables(session, rows)
    return rows


def _add_variables(session: Session, rows: list[RecordRow]) -> None:
    by_id = {row.id: row for row in rows}
    query = (
        select(Variable.dataset_id, Variable.name)
        .where(Variable.dataset_id.in_(list(by_id)))
        .order_by(Variable.dataset_id, Variable.position)
    )
    for dataset_id, name in session.connection().execute(query):
        by_id[dataset_id].variables.append(name)
