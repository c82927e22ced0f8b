"""The QC report's plot, drawn once when QC runs and kept beside the flags.

The worker's QC step stores, in the version's flag file, a plot series per variable
(`formats.flag_plot.plot_rows`: evenly spaced line points plus every point the tests
flagged suspect or bad, exactly, with their times and values) and draws the SVG at once
(`<version>.qcsvg0` in the derived storage). Overrides are applied when flags are read, so
the drawing is keyed by the latest override of the version (`qcsvg<override id>`): after an
override the page draws it again once, from the stored series, never from the original.
An override that flags rows the tests passed marks the stored points within its stretch;
the counts in the legend are always those of every value.
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from sqlalchemy import func, select

from catalog.downloads import current_version, read_original
from catalog.models import DatasetVersion, fold
from catalog.qc_flags import effective_flags, results_of
from catalog.qc_tests import Flags
from catalog.registry_models import QcOverride, QcResult
from catalog.schemas import Principal
from catalog.search import load_dataset_for_data
from catalog.storage import ArchiveStore, resolve_derived
from formats.flag_plot import MARKS, FlagSeries, flag_plot_svg, plot_rows

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from formats.model import DataFile

PLOT_PREFIX = "~plot/"
"""Names of the plot series in the flag file: `~plot/<variable>/{row,time,value}`."""
SVG_EXT = "qcsvg"


def series_of(datafile: DataFile, name: str) -> np.ndarray[Any, Any] | None:
    """The values of the data column whose folded name is `name`."""
    for col in datafile.data_columns:
        if name in (fold(col.name), fold(col.original_name)):
            return np.asarray(col.values, dtype=np.float64)
    return None


def plot_arrays(
    key: str, values: np.ndarray[Any, Any], times: np.ndarray[Any, Any], aggregate: Flags
) -> dict[str, np.ndarray[Any, Any]]:
    """The plot series of one variable, as stored in the flag file."""
    rows = plot_rows(aggregate)
    prefix = f"{PLOT_PREFIX}{key}/"
    return {
        f"{prefix}row": rows,
        f"{prefix}time": times[rows].astype("datetime64[ns]").astype(np.int64),
        f"{prefix}value": values[rows],
    }


def _stored_series(store: ArchiveStore, result: QcResult) -> dict[str, Any] | None:
    prefix = f"{PLOT_PREFIX}{result.variable}/"
    with np.load(resolve_derived(store, result.path)) as data:
        if f"{prefix}row" not in data.files:
            return None  # QC'd before plot series were kept
        return {name: data[f"{prefix}{name}"] for name in ("row", "time", "value")}


def _series(
    session: Session, store: ArchiveStore, version: DatasetVersion, effective: dict[str, Flags]
) -> dict[str, FlagSeries]:
    out: dict[str, FlagSeries] = {}
    datafile: DataFile | None = None
    for result in results_of(session, version.id):
        flags = effective.get(result.variable)
        if flags is None:
            continue
        kept = _stored_series(store, result)
        if kept is None:  # an older flag file: take the series from the original once
            datafile = datafile or read_original(store, version.dataset, version)
            values = series_of(datafile, result.variable)
            if values is None or values.size != flags.size:
                continue
            times = np.asarray(datafile.time.values, dtype="datetime64[ns]")
            arrays = plot_arrays(result.variable, values, times, flags)
            kept = {name.rsplit("/", 1)[1]: array for name, array in arrays.items()}
        totals = np.bincount(flags, minlength=max(MARKS) + 1)
        out[result.variable] = FlagSeries(
            times=kept["time"].astype("datetime64[ns]"), values=kept["value"],
            flags=flags[kept["row"]], totals={f: int(totals[f]) for f in MARKS},
        )  # fmt: skip
    return out


def _svg_path(session: Session, store: ArchiveStore, version: DatasetVersion) -> Path:
    latest = session.scalar(
        select(func.max(QcOverride.id)).where(QcOverride.version_id == version.id)
    )
    return store.derived_path(version.dataset.public_id, version.id, f"{SVG_EXT}{latest or 0}")


def draw_qc_plot(session: Session, store: ArchiveStore, version: DatasetVersion) -> str:
    """Draw the version's QC plot (effective flags) and keep it; empty when nothing was
    QC'd. Drawings of earlier overrides or QC runs of the version are removed."""
    path = _svg_path(session, store, version)
    for old in path.parent.glob(f"{version.id}.{SVG_EXT}*"):
        old.unlink(missing_ok=True)
    effective = effective_flags(session, store, version)
    series = _series(session, store, version, effective) if effective else {}
    svg = flag_plot_svg(series) if series else ""
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temp.write_text(svg, encoding="utf-8")
    os.replace(temp, path)
    return svg


def qc_plot(
    session: Session, store: ArchiveStore, public_id: str, principal: Principal, now: datetime
) -> str:
    """SVG of the current version's QC'd variables with flagged points marked (effective
    flags), as drawn when QC ran or after the latest override; empty when nothing was QC'd."""
    dataset = load_dataset_for_data(session, public_id, principal, now)
    version = current_version(session, dataset)
    if not results_of(session, version.id):
        return ""
    try:
        return _svg_path(session, store, version).read_text(encoding="utf-8")
    except FileNotFoundError:
        return draw_qc_plot(session, store, version)
