"""Collocation: the points of other readable datasets within a time and a distance window of
each point of a mobile dataset (docs/cids.md#collocation).

The mobile dataset's positions are its own LAT/LON columns, or its merged navigation when
the caller may read it. The others are the datasets named (each checked like a download), or
else every local dataset the caller may read whose time overlaps the track's widened by
`dt`, at most `MAX_OTHERS` of them, nearest in time first.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog.access import data_readable_filter
from catalog.access_states import AccessState
from catalog.downloads import read_original
from catalog.errors import InvalidQueryError
from catalog.models import Dataset
from catalog.navigation import local_center, position_enricher
from catalog.schemas import Principal
from catalog.search import load_dataset_for_data
from catalog.storage import ArchiveStore
from formats.collocation import Points, collocate, points_of
from formats.model import DataFile

MAX_OTHERS = 200
"""The most datasets one collocation compares against."""
MAX_DT_S = 86_400.0
MAX_DX_KM = 2_000.0
COLUMNS = (
    "dataset", "track_time", "track_lat", "track_lon",
    "other_time", "other_lat", "other_lon", "distance_km", "dt_s",
)  # fmt: skip


@dataclass(frozen=True)
class Match:
    """One match: a track point and a point of another dataset."""

    dataset: str
    track_time: datetime
    track_lat: float
    track_lon: float
    other_time: datetime
    other_lat: float
    other_lon: float
    distance_km: float
    dt_s: float


def _read(
    session: Session, store: ArchiveStore, dataset: Dataset, principal: Principal, now: datetime
) -> DataFile:
    version = dataset.current_version
    if version is None:
        raise InvalidQueryError(f"dataset {dataset.public_id} has no data yet")
    datafile = read_original(store, dataset, version)
    extra = position_enricher(session, store, principal, now)(dataset)
    return datafile if extra is None else extra(datafile)


def _others(
    session: Session, principal: Principal, now: datetime, track: Dataset, dt_s: float
) -> list[Dataset]:
    margin = timedelta(seconds=dt_s)
    query = (
        select(Dataset)
        .where(
            Dataset.id != track.id,
            Dataset.origin_center == local_center(session),
            Dataset.access_state != AccessState.WITHDRAWN.value,
            Dataset.start <= track.stop + margin,
            Dataset.stop >= track.start - margin,
            data_readable_filter(principal, now),
        )
        .order_by(Dataset.start, Dataset.public_id)
        .limit(MAX_OTHERS)
    )
    return list(session.scalars(query))


def _when(seconds: float) -> datetime:
    from datetime import UTC

    return datetime.fromtimestamp(0, UTC) + timedelta(seconds=float(seconds))


def collocate_datasets(
    session: Session,
    store: ArchiveStore,
    principal: Principal,
    now: datetime,
    public_id: str,
    with_ids: list[str] | None,
    dt_s: float,
    dx_km: float,
) -> list[Match]:
    """The matches, ordered by track time, then dataset, then the other point's time."""
    if not (0 <= dt_s <= MAX_DT_S) or not (0 <= dx_km <= MAX_DX_KM):
        raise InvalidQueryError(f"dt must be 0..{MAX_DT_S:g} s and dx 0..{MAX_DX_KM:g} km")
    track_set = load_dataset_for_data(session, public_id, principal, now)
    track = points_of(_read(session, store, track_set, principal, now))
    if track is None:
        raise InvalidQueryError(f"dataset {public_id} has no positions (yet) that you may read")
    if with_ids:
        others = [load_dataset_for_data(session, pid, principal, now) for pid in with_ids]
    else:
        others = _others(session, principal, now, track_set, dt_s)
    matches: list[Match] = []
    for other in others:
        if other.id == track_set.id or other.current_version is None:
            continue
        points = points_of(_read(session, store, other, principal, now))
        if points is not None:
            matches += _matches(track, points, other.public_id, dt_s, dx_km)
    matches.sort(key=lambda m: (m.track_time, m.dataset, m.other_time))
    return matches


def _matches(track: Points, other: Points, name: str, dt_s: float, dx_km: float) -> list[Match]:
    found = collocate(track, other, dt_s, dx_km)
    return [
        Match(
            dataset=name,
            track_time=_when(track.times[i]),
            track_lat=float(track.lat[i]),
            track_lon=float(track.lon[i]),
            other_time=_when(other.times[j]),
            other_lat=float(other.lat[j]),
            other_lon=float(other.lon[j]),
            distance_km=round(float(d), 4),
            dt_s=float(dt),
        )
        for i, j, d, dt in zip(found.track, found.other, found.distance_km, found.dt_s, strict=True)
    ]


def as_datafile(matches: list[Match], public_id: str) -> DataFile:
    """The matches as a data file (time: the track's), for the NetCDF and CSV writers."""
    from formats.model import Column, ColumnKind, Extent, FeatureType, Header

    def number(name: str, unit: str, values: list[float]) -> Column:
        return Column(name, name, unit, unit, ColumnKind.NUMBER, np.asarray(values, float))

    times = np.array([m.track_time.replace(tzinfo=None) for m in matches], dtype="datetime64[ns]")
    other_times = [(m.other_time - m.track_time).total_seconds() for m in matches]
    columns = [
        Column("time", "time", "UTC", None, ColumnKind.NUMBER, times),
        number("track_lat", "degrees_north", [m.track_lat for m in matches]),
        number("track_lon", "degrees_east", [m.track_lon for m in matches]),
        Column(
            "dataset", "dataset", "", None, ColumnKind.STRING,
            np.asarray([m.dataset for m in matches], dtype=object),
        ),
        number("other_lat", "degrees_north", [m.other_lat for m in matches]),
        number("other_lon", "degrees_east", [m.other_lon for m in matches]),
        number("distance_km", "km", [m.distance_km for m in matches]),
        number("dt_s", "s", other_times),
    ]  # fmt: skip
    header = Header(remarks=[f"matches of the points of dataset {public_id} (FieldCat CIDS)"])
    if matches:
        header.start, header.stop = matches[0].track_time, matches[-1].track_time
    return DataFile(header, columns, "collocation", FeatureType.TRAJECTORY, Extent())
