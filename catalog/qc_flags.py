"""Reading a version's QC flags: the worker's stored result with the overrides applied
(storage described in `catalog.qc`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from sqlalchemy import select

from catalog.models import DatasetVersion, fold
from catalog.qc_tests import AGGREGATE, Flags
from catalog.registry_models import QcOverride, QcResult
from catalog.storage import ArchiveStore, resolve_derived

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from formats.model import DataFile


def results_of(session: Session, version_id: int) -> list[QcResult]:
    """The QC results of a version, by variable."""
    query = select(QcResult).where(QcResult.version_id == version_id).order_by(QcResult.variable)
    return list(session.scalars(query))


def overrides_of(session: Session, version_id: int) -> list[QcOverride]:
    """The overrides of a version, oldest first (later ones win)."""
    query = select(QcOverride).where(QcOverride.version_id == version_id).order_by(QcOverride.id)
    return list(session.scalars(query))


def stored_flags(store: ArchiveStore, result: QcResult) -> dict[str, Flags]:
    """The automatic flags of one variable, per test and aggregate."""
    prefix = f"{result.variable}/"
    with np.load(resolve_derived(store, result.path)) as data:
        return {name[len(prefix) :]: data[name] for name in data.files if name.startswith(prefix)}


def effective_flags(
    session: Session, store: ArchiveStore, version: DatasetVersion
) -> dict[str, Flags]:
    """Each QC'd variable's aggregate flags with the overrides applied, by variable key."""
    out = {
        r.variable: stored_flags(store, r)[AGGREGATE].copy()
        for r in results_of(session, version.id)
    }
    for override in overrides_of(session, version.id):
        if override.variable in out:
            out[override.variable][override.first : override.last + 1] = override.flag
    return out


def flags_by_column(
    session: Session, store: ArchiveStore, version: DatasetVersion, datafile: DataFile
) -> dict[str, Flags]:
    """The effective aggregate flags keyed by the safe names of `datafile`'s columns."""
    flags = effective_flags(session, store, version)
    out: dict[str, Flags] = {}
    for column in datafile.data_columns:
        for key in (fold(column.name), fold(column.original_name)):
            if key in flags:
                out[column.name] = flags[key]
                break
    return out
