"""A dataset's track as the search map draws it: served under the data policy."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from catalog.downloads import is_public
from catalog.models import DatasetTrack, DatasetVersion
from catalog.search import load_dataset_for_data

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from catalog.schemas import Principal


def track_feature(
    session: Session, public_id: str, principal: Principal, now: datetime
) -> tuple[dict[str, Any], bool]:
    """The GeoJSON Feature of the current version's simplified track (a null geometry when
    the dataset has none: a station, a sounding without positions, a mirrored record whose
    file is held at its origin), and whether anyone may read it (caches may keep it).
    NotFoundError / PermissionDeniedError as for the data."""
    dataset = load_dataset_for_data(session, public_id, principal, now)
    public = is_public(dataset, now)
    track = session.scalars(
        select(DatasetTrack)
        .join(DatasetVersion, DatasetVersion.id == DatasetTrack.version_id)
        .where(DatasetVersion.dataset_id == dataset.id, DatasetVersion.is_current.is_(True))
    ).first()
    properties: dict[str, Any] = {"dataset": dataset.public_id, "title": dataset.title}
    if track is None:
        return {"type": "Feature", "geometry": None, "properties": properties}, public
    properties |= {"points": track.points, "source_points": track.source_points}
    return {"type": "Feature", "geometry": track.geojson, "properties": properties}, public
