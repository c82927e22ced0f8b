"""Builders of catalog rows and data files for the tests."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog.models import Campaign, Dataset, Variable
from formats.model import Column, ColumnKind, DataFile, Extent, FeatureType, Header
from tests.catalog.conftest import NOW


def make_dataset(
    session: Session, variables: tuple[str, ...] = ("O3", "CO"), **fields: Any
) -> Dataset:
    """A dataset with sensible defaults, added and flushed."""
    campaign = session.scalars(select(Campaign).where(Campaign.code == "INDOEX")).one()
    start = fields.pop("start", datetime(1999, 2, 1, tzinfo=NOW.tzinfo))
    values: dict[str, Any] = {
        "campaign": campaign,
        "did": None,
        "pi_name": "Ramanathan",
        "platform": "NCAR C-130",
        "instrument": "Ozone photometer",
        "location": "mobile",
        "project": "INDOEX",
        "start": start,
        "stop": start + timedelta(hours=6),
        "south": 0.0,
        "north": 10.0,
        "west": 70.0,
        "east": 80.0,
        "title": "C-130 ozone",
        "access_state": "open",
        "origin_center": "JOSS",
        "created": NOW,
        "updated": NOW,
    }
    values.update(fields)
    dataset = Dataset(**values)
    dataset.variables = [
        Variable(position=i, name=n, original_name=n, original_unit="ppb", unit="ppb")
        for i, n in enumerate(variables)
    ]
    dataset.refresh_search_text()
    session.add(dataset)
    session.flush()
    return dataset


def make_datafile(
    did: int = 31, *, platform: str = "NCAR C-130", start: datetime | None = None, rows: int = 5
) -> DataFile:
    """A small moving-platform data file as a reader would return it."""
    start = start or datetime(1999, 2, 5, 3, 0, tzinfo=NOW.tzinfo)
    times = np.array(
        [
            np.datetime64(start.replace(tzinfo=None)) + np.timedelta64(60 * i, "s")
            for i in range(rows)
        ],
        dtype="datetime64[ns]",
    )
    lat = np.linspace(4.0, 6.0, rows)
    lon = np.linspace(72.0, 74.0, rows)
    o3 = np.linspace(30.0, 40.0, rows)
    columns = [
        Column("TIME", "time", "UTC", None, ColumnKind.NUMBER, times),
        Column("LAT", "LAT", "deg", "degrees_north", ColumnKind.NUMBER, lat),
        Column("LON", "LON", "deg", "degrees_east", ColumnKind.NUMBER, lon),
        Column("O3", "O3", "ppbv", "1e-9", ColumnKind.NUMBER, o3),
    ]
    stop = start + timedelta(seconds=60 * (rows - 1))
    header = Header(
        did=did,
        start=start,
        stop=stop,
        pi_name="V. Ramanathan",
        platform=platform,
        instrument="Ozone photometer",
        location="mobile",
        data_version="1.0",
        remarks=["Missing data = -9999"],
    )
    extent = Extent(start=start, stop=stop, south=4.0, north=6.0, west=72.0, east=74.0)
    return DataFile(
        header=header,
        columns=columns,
        source_format="header",
        feature_type=FeatureType.TRAJECTORY,
        extent=extent,
    )
