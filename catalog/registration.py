"""Registering archived data files as datasets, and the centers and campaigns they belong to."""

from __future__ import annotations

import calendar
import logging
import math
from datetime import UTC, date, datetime, time

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from catalog.access import RELEASING_STATES, AccessState
from catalog.closing import refuse_if_closing
from catalog.dataset_writes import write_local
from catalog.errors import ConflictError, NotFoundError, RegistrationError
from catalog.file_tracks import record_file_track
from catalog.models import Campaign, Center, Dataset, DatasetVersion, Variable
from catalog.registry import link_deployment
from formats.model import DataFile

logger = logging.getLogger(__name__)
CATEGORIES = ("research", "operational")


def ensure_center(
    session: Session, code: str, name: str, base_url: str = "", is_local: bool = False
) -> Center:
    """The center with `code`, created or updated with these details."""
    center = session.scalars(select(Center).where(Center.code == code)).one_or_none()
    if center is None:
        center = Center(code=code, name=name, base_url=base_url, is_local=is_local)
        session.add(center)
    else:
        center.name, center.base_url, center.is_local = name, base_url, is_local
    session.flush()
    return center


def ensure_campaign(
    session: Session,
    code: str,
    name: str,
    start: date | None = None,
    end: date | None = None,
    intensive_end: date | None = None,
    research_release_months: int = 12,
    operational_release_months: int = 6,
    default_state: str = "embargoed",
) -> Campaign:
    """The campaign with `code`, created or updated with this period and release policy."""
    campaign = session.scalars(select(Campaign).where(Campaign.code == code)).one_or_none()
    if campaign is None:
        campaign = Campaign(code=code)
        session.add(campaign)
    campaign.name, campaign.start, campaign.end = name, start, end
    campaign.intensive_end = intensive_end
    campaign.research_release_months = research_release_months
    campaign.operational_release_months = operational_release_months
    campaign.default_state = default_state
    session.flush()
    return campaign


def campaign_id(session: Session, code: str) -> int:
    """The id of the campaign with `code`, made (named by its code) when not known here."""
    found = session.scalar(select(Campaign.id).where(Campaign.code == code))
    return found if found is not None else ensure_campaign(session, code, code).id


def add_months(day: date, months: int) -> date:
    """`day` moved by whole calendar months (clamped to the month's last day)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def default_release_at(campaign: Campaign, category: str) -> datetime | None:
    """The campaign policy's release instant: months after the intensive phase (or the end)."""
    anchor = campaign.intensive_end or campaign.end
    if anchor is None:
        return None
    months = (
        campaign.operational_release_months
        if category == "operational"
        else campaign.research_release_months
    )
    return datetime.combine(add_months(anchor, months), time(0, 0), tzinfo=UTC)


def _title(datafile: DataFile, start: datetime, stop: datetime) -> str:
    header = datafile.header
    what = " ".join(p for p in (header.platform, header.instrument) if p) or "Dataset"
    span = f"{start:%Y-%m-%d}"
    if stop.date() != start.date():
        span += f" to {stop:%Y-%m-%d}"
    return f"{what}, {span}"


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def _check_lengths(datafile: DataFile) -> None:
    header = datafile.header
    fields = {
        "DID": (str(header.did or ""), 64),
        "PI NAME": (header.pi_name, 200),
        "PLATFORM": (header.platform, 200),
        "INSTRUMENT": (header.instrument, 200),
        "LOCATION": (header.location, 200),
        "PROJECT": (header.project or "", 200),
        "DATA VERSION": (header.data_version, 64),
    }
    for name, (value, limit) in fields.items():
        if len(value) > limit:
            raise RegistrationError(f"{name} is longer than {limit} characters")
    for col in datafile.data_columns:
        if len(col.name) > 200 or len(col.original_name) > 200 or len(col.original_unit) > 100:
            raise RegistrationError(f"column {col.original_name[:40]!r}: name or unit too long")


def _apply_metadata(dataset: Dataset, datafile: DataFile) -> None:
    _check_lengths(datafile)
    header, extent = datafile.header, datafile.extent
    start, stop = extent.start or header.start, extent.stop or header.stop
    if start is None or stop is None:
        raise RegistrationError("the file gives no start and stop time")
    dataset.start, dataset.stop = start, stop
    dataset.pi_name, dataset.platform = header.pi_name, header.platform
    dataset.instrument, dataset.location = header.instrument, header.location
    dataset.project = header.project
    dataset.data_version = header.data_version
    dataset.feature_type = datafile.feature_type.value
    south, north = _finite(extent.south), _finite(extent.north)
    west, east = _finite(extent.west), _finite(extent.east)
    if None in (south, north, west, east):
        south = north = west = east = None
    if south is None and header.latitude is not None and header.longitude is not None:
        south = north = header.latitude
        west = east = header.longitude
    dataset.south, dataset.north, dataset.west, dataset.east = south, north, west, east
    dataset.min_altitude = _finite(extent.min_altitude)
    dataset.max_altitude = _finite(extent.max_altitude)
    dataset.title = _title(datafile, start, stop)
    dataset.summary = "\n".join(header.remarks)
    dataset.variables = [
        Variable(
            position=i,
            name=col.name,
            original_name=col.original_name,
            unit=col.unit,
            original_unit=col.original_unit,
            long_name=col.long_name,
        )
        for i, col in enumerate(datafile.data_columns)
    ]


def _apply_access(
    dataset: Dataset, campaign: Campaign, state: AccessState, release_at: datetime | None
) -> None:
    dataset.access_state = state.value
    if release_at is None and state in RELEASING_STATES:
        release_at = default_release_at(campaign, dataset.category)
    dataset.release_at = release_at


def find_local_dataset(
    session: Session, campaign: Campaign, did: str | None, center_code: str
) -> Dataset | None:
    """The dataset a DID names in a campaign at this center, with its versions and variables."""
    if did is None:
        return None
    query = (
        select(Dataset)
        .where(
            Dataset.campaign_id == campaign.id,
            Dataset.did == did,
            Dataset.origin_center == center_code,
        )
        .options(selectinload(Dataset.versions), selectinload(Dataset.variables))
    )
    return session.scalars(query).one_or_none()


def _campaign_and_center(session: Session, campaign_code: str, center_code: str) -> Campaign:
    campaign = session.scalars(select(Campaign).where(Campaign.code == campaign_code)).first()
    if campaign is None:
        raise NotFoundError(f"no campaign {campaign_code!r}")
    if session.scalars(select(Center).where(Center.code == center_code)).first() is None:
        raise NotFoundError(f"no center {center_code!r}")
    return campaign


def _add_version(
    dataset: Dataset, datafile: DataFile, sha256: str, size: int, name: str, now: datetime
) -> None:
    for version in dataset.versions:
        version.is_current = False
    version = DatasetVersion(
        data_version=datafile.header.data_version,
        sha256=sha256,
        size=size,
        original_name=name,
        source_format=datafile.source_format,
        created_at=now,
        is_current=True,
    )
    dataset.versions.append(version)


def register_datafile(
    session: Session,
    *,
    datafile: DataFile,
    sha256: str,
    size: int,
    original_name: str,
    center_code: str,
    campaign_code: str,
    category: str | None = None,
    owner_user_id: int | None = None,
    access_state: AccessState | str | None = None,
    release_at: datetime | None = None,
    now: datetime,
) -> Dataset:
    """Create or update the dataset of an archived file, add its version, log the change.

    Keyed by campaign + DID + origin center. The same bytes registered again change nothing.
    `access_state` None keeps an existing dataset's state (open for a new one); an embargo or
    password without `release_at` gets the campaign's default release.
    """
    refuse_if_closing(session, center_code)
    campaign = _campaign_and_center(session, campaign_code, center_code)
    category = category or datafile.header.category or "research"
    if category not in CATEGORIES:
        raise RegistrationError(f"category must be one of {CATEGORIES}")
    did = None if datafile.header.did is None else str(datafile.header.did)
    dataset = find_local_dataset(session, campaign, did, center_code)
    if dataset is not None:
        if dataset.access_state == AccessState.WITHDRAWN.value:
            raise ConflictError(f"dataset {dataset.public_id} (DID {did}) was withdrawn")
        current = dataset.current_version
        if current is not None and current.sha256 == sha256:
            logger.info("dataset %s: same file registered again", dataset.public_id)
            return dataset
        dataset.origin_version += 1
    else:
        dataset = Dataset(
            campaign=campaign, did=did, origin_center=center_code, origin_version=1, created=now
        )
        dataset.access_state = AccessState.OPEN.value
        session.add(dataset)
    dataset.category = category
    if owner_user_id is not None:
        dataset.owner_user_id = owner_user_id
    _apply_metadata(dataset, datafile)
    if access_state is not None:
        _apply_access(dataset, campaign, AccessState(access_state), release_at)
    _add_version(dataset, datafile, sha256, size, original_name, now)
    dataset.level = 0  # a new version starts as submitted; its PI releases levels 1 and 2
    dataset.updated = now
    session.flush()
    link_deployment(session, dataset)
    dataset.refresh_search_text()
    write_local(session, dataset, "upsert", now)
    version = dataset.current_version
    if version is not None:
        record_file_track(session, version, datafile, now)
    logger.info("registered %s v%d", dataset.public_id, dataset.origin_version)
    return dataset
