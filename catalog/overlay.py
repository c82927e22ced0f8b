"""The overlay's data: chosen variables of several datasets, with positions and heights,
from this center's archive or (for a mirrored record) from its origin (docs/cids.md).

The caller's access is checked here as for a download; a mirrored dataset's values come
from its origin's public data route, so only data open to anyone cross centers.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import datetime

import numpy as np
import numpy.typing as npt
from sqlalchemy.orm import Session

from catalog.downloads import origin_base_url, read_original
from catalog.errors import InvalidQueryError
from catalog.links import ResourceLinks
from catalog.navigation import position_enricher
from catalog.schemas import Principal
from catalog.search import load_dataset_for_data
from catalog.storage import ArchiveStore
from formats.extent import ALT_NAMES, HEIGHT_NAMES, position_columns
from formats.model import ColumnKind, DataFile
from formats.overlay_plot import Series

MAX_SERIES = 8
Fetch = Callable[[str], bytes]
"""Reads a data URL at another center as CSV bytes."""


def parse_picks(values: list[str]) -> list[tuple[str, str]]:
    """`<dataset>:<variable>` picks (at most MAX_SERIES)."""
    picks = []
    for value in values[:MAX_SERIES]:
        public_id, _, variable = value.partition(":")
        if not public_id or not variable:
            raise InvalidQueryError(f"{value!r}: expected <dataset>:<variable>")
        picks.append((public_id.strip(), variable.strip()))
    return picks


def _local_series(datafile: DataFile, variable: str, label: str) -> Series:
    try:
        column = datafile.column(variable)
    except KeyError:
        raise InvalidQueryError(f"{label}: no variable {variable!r}") from None
    if column.kind is not ColumnKind.NUMBER or column is datafile.time:
        raise InvalidQueryError(f"{label}: {variable!r} is not numeric")
    lat, lon, alt = position_columns(datafile.columns)
    height = next(
        (c for c in datafile.data_columns if c.original_name.upper() in HEIGHT_NAMES), None
    )
    if height is None and alt is not None and alt.original_name.upper() in ALT_NAMES:
        height = alt
    rows = datafile.row_count
    site = datafile.header.latitude, datafile.header.longitude
    lats = None if lat is None else lat.values.astype(np.float64)
    lons = None if lon is None else lon.values.astype(np.float64)
    if lats is None and site[0] is not None and site[1] is not None:
        lats, lons = np.full(rows, site[0]), np.full(rows, site[1])
    return Series(
        label=label,
        times=datafile.time.values,
        values=column.values.astype(np.float64),
        lat=lats,
        lon=lons,
        height=None if height is None or height is column else height.values.astype(np.float64),
    )


def _csv_series(text: str, variable: str, label: str) -> Series:
    rows = [line for line in text.splitlines() if line and not line.startswith("#")]
    table = list(csv.reader(io.StringIO("\n".join(rows))))
    names = table[0]
    if variable not in names:
        raise InvalidQueryError(f"{label}: no variable {variable!r}")

    def numbers(name: str) -> npt.NDArray[np.float64] | None:
        if name not in names:
            return None
        index = names.index(name)
        cells = [r[index] for r in table[1:]]
        return np.array([float(c) if c not in ("", "nan", "NaN") else np.nan for c in cells])

    times = np.array([r[0].rstrip("Z") for r in table[1:]], dtype="datetime64[ns]")
    values = numbers(variable)
    assert values is not None
    return Series(label, times, values, numbers("LAT"), numbers("LON"), numbers("HGT"))


def overlay_series(
    session: Session,
    store: ArchiveStore,
    principal: Principal,
    now: datetime,
    picks: list[tuple[str, str]],
    remote: tuple[ResourceLinks, Fetch],
) -> list[Series]:
    """One series per pick, in order (InvalidQueryError/PermissionDeniedError as a download);
    `remote` gives the data path of a dataset and reads it at its origin."""
    enrich = position_enricher(session, store, principal, now)
    result = []
    for public_id, variable in picks:
        dataset = load_dataset_for_data(session, public_id, principal, now)
        label = f"{dataset.origin_center} {dataset.platform} {variable} ({public_id})"
        origin = origin_base_url(session, dataset)
        if origin is not None:
            links, fetch = remote
            text = fetch(origin + links.dataset(public_id, "data")).decode("utf-8", "replace")
            result.append(_csv_series(text, variable, label))
            continue
        version = dataset.current_version
        if version is None:
            raise InvalidQueryError(f"{public_id} has no data yet")
        datafile = read_original(store, dataset, version)
        extra = enrich(dataset)
        whole = datafile if extra is None else extra(datafile)
        result.append(_local_series(whole, variable, label))
    return result
