"""Navigation merge: positions for a mobile dataset that has none, from the navigation of
its platform over its times (docs/cids.md).

A rule (`NavigationRule`) names a platform's navigation: one dataset, or every dataset of an
instrument kind. `refresh_merges` (the worker's step) finds each local mobile dataset
without LAT/LON columns, picks the navigation covering most of its time, and merges again
whenever its version, the navigation's version or the navigation's openness changed. The
merged positions are kept beside the version (`<version>.npz` under derived/<dataset>/); its
track is stored with `source="navigation"`; its box becomes the dataset's public extent only
while the navigation's data are open (the strictest of the inputs, see `positions_readable`).
"""

from __future__ import annotations

import hashlib
import io
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel
from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.sql.expression import Exists

import formats
from catalog.access import can_read_data, can_see_metadata
from catalog.access_states import AccessState
from catalog.cids_models import NavigationMerge, NavigationRule
from catalog.dataset_writes import write_local
from catalog.downloads import Enricher, origin_base_url, read_original
from catalog.errors import InvalidQueryError, NotFoundError, PermissionDeniedError
from catalog.links import ResourceLinks
from catalog.models import Center, Dataset, DatasetVersion, Variable, fold
from catalog.schemas import Principal, Role
from catalog.storage import ArchiveStore
from catalog.tracks import simplify, store_track
from formats.extent import LAT_NAMES, LON_NAMES, longitude_range
from formats.model import DataFile
from formats.navmerge import METHOD, Positions, interpolate, navigation_of, seconds
from formats.navmerge import with_positions as add_positions
from formats.timeparse import campaign_time

logger = logging.getLogger(__name__)

Remote = tuple[ResourceLinks, Callable[[str, str], bytes]]
"""The API's links, and a reader of a URL at another center in a format (`original`)."""
POSITIONS_EXT = "npz"
"""The merged positions beside a version: `<version>.npz` under derived/<dataset>/."""


@dataclass(frozen=True)
class Signature:
    """What a merge was made from: redone when any of it changes."""

    version_id: int
    nav_version_id: int | None
    extent_public: bool


def declare_navigation(
    session: Session,
    principal: Principal,
    platform: str,
    now: datetime,
    *,
    dataset_id: str | None = None,
    instrument: str | None = None,
) -> NavigationRule:
    """Declare a platform's navigation: a dataset (staff, or the PI who owns it) or an
    instrument kind (a campaign rule: staff only)."""
    if (dataset_id is None) == (instrument is None):
        raise InvalidQueryError("give exactly one of dataset and instrument")
    key = fold(platform) or ""
    if not key:
        raise InvalidQueryError("platform is required")
    staff = principal.role in (Role.STAFF, Role.ADMIN)
    rule = NavigationRule(platform_key=key, declared_by=principal.username, created_at=now)
    if instrument is not None:
        if not staff:
            raise PermissionDeniedError("only staff declare a campaign rule by instrument")
        rule.instrument_key = fold(instrument)
    else:
        dataset = session.scalars(select(Dataset).where(Dataset.public_id == dataset_id)).first()
        owner = dataset is not None and dataset.owner_user_id == principal.user_id
        if dataset is None or not (staff or (owner and principal.user_id is not None)):
            raise NotFoundError(f"no dataset {dataset_id} you may declare as navigation")
        if dataset.platform_key != key:
            raise InvalidQueryError(f"dataset {dataset_id} is of platform {dataset.platform!r}")
        rule.dataset_id = dataset.id
    session.add(rule)
    session.flush()
    return rule


def list_rules(session: Session) -> list[NavigationRule]:
    """Every navigation rule, oldest first."""
    return list(session.scalars(select(NavigationRule).order_by(NavigationRule.id)))


def lacks_positions(dataset: Dataset) -> bool:
    """A mobile dataset without LAT/LON variables."""
    if fold(dataset.location) != "mobile":
        return False
    names = {v.original_name.upper() for v in dataset.variables}
    return not (names & LAT_NAMES and names & LON_NAMES)


def find_navigation(session: Session, dataset: Dataset) -> Dataset | None:
    """The navigation of the dataset's platform covering most of its times, if any."""
    rules = session.scalars(
        select(NavigationRule).where(NavigationRule.platform_key == dataset.platform_key)
    ).all()
    ids = [r.dataset_id for r in rules if r.dataset_id is not None]
    kinds = [r.instrument_key for r in rules if r.instrument_key is not None]
    if not ids and not kinds:
        return None
    query = select(Dataset).where(
        Dataset.platform_key == dataset.platform_key,
        Dataset.id != dataset.id,
        or_(Dataset.id.in_(ids), Dataset.instrument_key.in_(kinds)),
        Dataset.start <= dataset.stop,
        Dataset.stop >= dataset.start,
        Dataset.access_state != AccessState.WITHDRAWN.value,
    )

    def overlap(nav: Dataset) -> tuple[float, datetime]:
        seconds_ = (min(nav.stop, dataset.stop) - max(nav.start, dataset.start)).total_seconds()
        return seconds_, nav.updated

    candidates = list(session.scalars(query))
    return max(candidates, key=overlap) if candidates else None


def local_center(session: Session) -> str:
    """This center's code."""
    return session.scalars(select(Center.code).where(Center.is_local.is_(True))).one()


def _signature(session: Session, dataset: Dataset, now: datetime) -> Signature | None:
    version = dataset.current_version
    if version is None:
        return None
    nav = find_navigation(session, dataset)
    if nav is None:
        return Signature(version.id, None, False)
    nav_version = nav.current_version
    public = can_read_data(Principal.anonymous(), nav, now)
    return Signature(version.id, None if nav_version is None else nav_version.id, public)


def _stored_signature(row: NavigationMerge | None) -> Signature | None:
    if row is None:
        return None
    return Signature(row.version_id, row.nav_version_id, row.extent_public)


def merge_navigation(
    session: Session,
    store: ArchiveStore,
    dataset: Dataset,
    now: datetime,
    max_gap_s: float,
    remote: Remote | None = None,
) -> NavigationMerge:
    """Merge the dataset's navigation onto its current version (or record why not); a
    navigation held at a peer is read through `remote` when its data are open."""
    version = dataset.current_version
    if version is None:
        raise NotFoundError(f"dataset {dataset.public_id} has no version")
    row = session.get(NavigationMerge, dataset.id) or NavigationMerge(dataset_id=dataset.id)
    row.version_id, row.max_gap_s, row.updated_at, row.method = version.id, max_gap_s, now, METHOD
    session.add(row)
    nav = find_navigation(session, dataset)
    nav_version = None if nav is None else nav.current_version
    row.nav_dataset_id = None if nav is None else nav.id
    row.nav_version_id = None if nav_version is None else nav_version.id
    row.nav_data_version = "" if nav_version is None else nav_version.data_version
    row.extent_public = nav is not None and can_read_data(Principal.anonymous(), nav, now)
    reason = _why_waiting(session, dataset, nav, remote, now)
    if reason is not None or nav is None or nav_version is None:
        _wait(session, row, dataset, version, reason or "", now)
        return row
    try:
        navigation = navigation_of(_read_navigation(session, store, nav, nav_version, remote))
    except (OSError, PermissionError, ValueError, NotFoundError) as err:
        _wait(session, row, dataset, version, f"navigation {nav.public_id}: {err}", now)
        return row
    if navigation is None:
        reason = f"navigation dataset {nav.public_id} has no LAT and LON columns"
        _wait(session, row, dataset, version, reason, now)
        return row
    measured = read_original(store, dataset, version)
    times = seconds(measured.time.values)
    positions = interpolate(times, navigation, max_gap_s)
    path = store.derived_path(dataset.public_id, version.id, POSITIONS_EXT)
    _save_positions(path, positions)
    row.status, row.reason = "merged", ""
    row.rows, row.positioned = len(times), positions.positioned
    row.positions_path = str(path.relative_to(store.root))
    geometry = simplify(positions.lon, positions.lat, times, max_gap_s=max_gap_s)
    store_track(session, version.id, geometry, positions.positioned, now, source="navigation")
    _set_extent(session, dataset, positions if row.extent_public else None, now)
    return row


def _read_navigation(
    session: Session,
    store: ArchiveStore,
    nav: Dataset,
    version: DatasetVersion,
    remote: Remote | None,
) -> DataFile:
    """The navigation's file: from the archive, or from its origin (checked against the
    SHA-256 its signed change-log entry announced)."""
    if nav.origin_center == local_center(session):
        return read_original(store, nav, version)
    assert remote is not None
    links, fetch = remote
    origin = origin_base_url(session, nav)
    if origin is None:
        raise OSError(f"center {nav.origin_center} has no address here")
    body = fetch(origin + links.dataset(nav.public_id, "data"), "original")
    if hashlib.sha256(body).hexdigest() != version.sha256:
        raise ValueError("the origin's file does not match the version it announced")
    campaign = campaign_time(nav.campaign.start, nav.campaign.end)
    return formats.read(body, campaign=campaign, filename=version.original_name)


def _why_waiting(
    session: Session,
    dataset: Dataset,
    nav: Dataset | None,
    remote: Remote | None,
    now: datetime,
) -> str | None:
    if nav is None:
        return (
            f"no navigation of platform {dataset.platform!r} covering "
            f"{dataset.start.isoformat()} to {dataset.stop.isoformat()} has been declared"
        )
    if nav.origin_center != local_center(session):
        held = f"navigation {nav.public_id} is held at center {nav.origin_center}"
        if remote is None:
            return f"{held}, and this process does not read peers' data"
        if not can_read_data(Principal.anonymous(), nav, now):
            return f"{held} and its data are not open: the merge waits until they are"
    if nav.current_version is None:
        return f"navigation {nav.public_id} has no version yet"
    return None


def _wait(
    session: Session,
    row: NavigationMerge,
    dataset: Dataset,
    version: DatasetVersion,
    reason: str,
    now: datetime,
) -> None:
    row.status, row.reason, row.positions_path = "waiting", reason, ""
    row.rows = row.positioned = 0
    store_track(session, version.id, None, 0, now, source="navigation")
    _set_extent(session, dataset, None, now)


def _save_positions(path: Path, positions: Positions) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    alt = positions.alt if positions.alt is not None else np.empty(0)
    np.savez(buffer, lat=positions.lat, lon=positions.lon, alt=alt)
    temporary = path.with_suffix(".tmp")
    temporary.write_bytes(buffer.getvalue())
    temporary.replace(path)


def load_positions(store: ArchiveStore, row: NavigationMerge) -> Positions:
    """The merged positions of a `merged` row."""
    with np.load(store.root / row.positions_path) as data:
        alt = data["alt"]
        return Positions(data["lat"], data["lon"], alt if len(alt) else None)


def _box(positions: Positions) -> tuple[float, float, float, float] | None:
    lat, lon = positions.lat, positions.lon
    ok = np.isfinite(lat) & np.isfinite(lon)
    if not ok.any():
        return None
    lons = longitude_range(lon[ok])
    if lons is None:
        return None
    return float(lat[ok].min()), float(lat[ok].max()), lons[0], lons[1]


def _set_extent(
    session: Session, dataset: Dataset, positions: Positions | None, now: datetime
) -> None:
    """Write the merged box (or none) as the dataset's extent; announce a change."""
    box = None if positions is None else _box(positions)
    south, north, west, east = box if box is not None else (None, None, None, None)
    altitudes: tuple[float | None, float | None] = (None, None)
    if positions is not None and positions.alt is not None and np.isfinite(positions.alt).any():
        altitudes = (float(np.nanmin(positions.alt)), float(np.nanmax(positions.alt)))
    fields = ("south", "north", "west", "east", "min_altitude", "max_altitude")
    wanted = (south, north, west, east, *altitudes)
    if tuple(getattr(dataset, name) for name in fields) == wanted:
        return
    dataset.south, dataset.north, dataset.west, dataset.east = south, north, west, east
    dataset.min_altitude, dataset.max_altitude = altitudes
    dataset.origin_version += 1
    dataset.updated = now
    write_local(session, dataset, "upsert", now)


def merge_row(session: Session, dataset: Dataset) -> NavigationMerge | None:
    """The navigation merge of a dataset, if any."""
    return session.get(NavigationMerge, dataset.id)


def positions_readable(
    session: Session, principal: Principal, row: NavigationMerge, now: datetime
) -> bool:
    """Whether the caller may read merged positions: the navigation's data too."""
    if row.status != "merged" or row.nav_dataset_id is None:
        return False
    nav = session.get(Dataset, row.nav_dataset_id)
    return nav is not None and can_read_data(principal, nav, now)


def readable_merge(
    session: Session, principal: Principal, dataset: Dataset, now: datetime
) -> NavigationMerge | None:
    """The dataset's merge of its current version, when the caller may read its positions."""
    row = merge_row(session, dataset)
    current = dataset.current_version
    if row is None or current is None or row.version_id != current.id:
        return None
    return row if positions_readable(session, principal, row, now) else None


def position_enricher(
    session: Session, store: ArchiveStore, principal: Principal, now: datetime
) -> Enricher:
    """For `prepare_download`: adds a dataset's merged positions when the caller may read
    them (so a box subset cuts on them); nothing otherwise."""

    def enrich(dataset: Dataset) -> Callable[[DataFile], DataFile] | None:
        row = readable_merge(session, principal, dataset, now)
        if row is None:
            return None
        nav = session.get_one(Dataset, row.nav_dataset_id)
        source = f"navigation dataset {nav.public_id} version {row.nav_data_version or '?'}"
        positions = load_positions(store, row)
        return lambda datafile: add_positions(datafile, positions, f"{source}; {row.method}")

    return enrich


def candidates(session: Session) -> list[int]:
    """Ids of local mobile datasets without positions of their own (the ones a merge may
    concern; `lacks_positions` in SQL, so a center's many records that carry LAT and LON are
    never loaded one by one each time the worker looks)."""

    def has(names: frozenset[str]) -> Exists:
        return exists().where(
            Variable.dataset_id == Dataset.id, func.upper(Variable.original_name).in_(sorted(names))
        )

    query = select(Dataset.id).where(
        func.lower(Dataset.location) == "mobile",
        Dataset.origin_center
        == select(Center.code).where(Center.is_local.is_(True)).scalar_subquery(),
        Dataset.access_state != AccessState.WITHDRAWN.value,
        ~and_(has(LAT_NAMES), has(LON_NAMES)),
    )
    return list(session.scalars(query))


def refresh_merges(
    factory: sessionmaker[Session],
    store: ArchiveStore,
    now: datetime,
    max_gap_s: float,
    remote: Remote | None = None,
) -> int:
    """Merge again every mobile dataset whose inputs changed; how many were (re)done.

    One transaction per dataset, so one unreadable file does not hold up the others."""
    with factory() as session:
        ids = candidates(session)
    done = 0
    for dataset_id in ids:
        try:
            with factory() as session, session.begin():
                dataset = session.get_one(Dataset, dataset_id)
                if not lacks_positions(dataset):  # a version since the listing brought them
                    continue
                row = merge_row(session, dataset)
                wanted = _signature(session, dataset, now)
                # A merge that waits on a navigation it found (held at a peer, unreadable)
                # is tried again; one that waits for a declaration waits for a change.
                retry = (
                    row is not None and row.status == "waiting" and row.nav_dataset_id is not None
                )
                unchanged = wanted == _stored_signature(row) and not retry
                if wanted is None or (unchanged and row is not None and row.max_gap_s == max_gap_s):
                    continue
                merge_navigation(session, store, dataset, now, max_gap_s, remote)
                done += 1
        except Exception:
            logger.exception("navigation merge of dataset %s failed", dataset_id)
    return done


class NavigationView(BaseModel):
    """A merge as the API shows it (positions' provenance only to who may read them)."""

    dataset: str
    status: str
    reason: str
    navigation: str | None
    navigation_version: str
    method: str
    max_gap_s: float
    rows: int
    positioned: int
    updated_at: datetime


def navigation_views(
    session: Session, principal: Principal, now: datetime
) -> tuple[list[dict[str, Any]], list[NavigationView]]:
    """Rules (naming only datasets the caller may see) and the merges of visible datasets."""
    rules = []
    for rule in list_rules(session):
        named = None if rule.dataset_id is None else session.get(Dataset, rule.dataset_id)
        if named is not None and not can_see_metadata(principal, named, now):
            continue
        rules.append(
            {
                "id": rule.id,
                "platform": rule.platform_key,
                "dataset": None if named is None else named.public_id,
                "instrument": rule.instrument_key,
                "declared_by": rule.declared_by,
                "created_at": rule.created_at,
            }
        )
    views = []
    for row in session.scalars(select(NavigationMerge).order_by(NavigationMerge.dataset_id)):
        view = _merge_view(session, row, session.get_one(Dataset, row.dataset_id), principal, now)
        if view is not None:
            views.append(view)
    return rules, views


def navigation_view_of(
    session: Session, dataset: Dataset, principal: Principal, now: datetime
) -> NavigationView | None:
    """The navigation merge of one dataset (its page), as `navigation_views` shows it."""
    row = session.get(NavigationMerge, dataset.id)
    return None if row is None else _merge_view(session, row, dataset, principal, now)


def _merge_view(
    session: Session, row: NavigationMerge, dataset: Dataset, principal: Principal, now: datetime
) -> NavigationView | None:
    """A navigation merge as the caller may see it: None when the caller may not see its
    dataset, the navigation dataset named only when visible too."""
    if not can_see_metadata(principal, dataset, now):
        return None
    nav = None if row.nav_dataset_id is None else session.get(Dataset, row.nav_dataset_id)
    shown = nav is not None and can_see_metadata(principal, nav, now)
    return NavigationView(
        dataset=dataset.public_id,
        status=row.status,
        reason=row.reason,
        navigation=nav.public_id if shown and nav is not None else None,
        navigation_version=row.nav_data_version if shown else "",
        method=row.method,
        max_gap_s=row.max_gap_s,
        rows=row.rows,
        positioned=row.positioned,
        updated_at=row.updated_at,
    )
