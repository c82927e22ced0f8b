"""QA/QC of dataset versions: versioned configurations, the worker's run, flags, the PI's
report and overrides.

Storage (sized for a million values): the per-value flags of a version are one compressed
NumPy file under the derived storage, `archive/derived/<dataset>/<version>.qcnpz`, holding a
uint8 array per variable and test (a million values of six tests compress to a few hundred
kB, mostly 1s) and the series the report's plot is drawn from (`catalog.qc_plot`, drawn at
once); the database keeps per variable the counts per test and flag and the flagged
stretches (`qc_results`), and each override as a row (`qc_overrides`, audited). The file is
the automatic result; overrides are applied when flags are read, so re-running QC never
loses a PI's decision. A version is QC'd once, by the worker, as one of its derived files
(format `qc`); a new configuration version drops the QC of the instrument's datasets so the
worker runs it again.
"""

from __future__ import annotations

import hashlib
import io
import os
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from sqlalchemy import delete, func, select

from catalog.audit import record_event
from catalog.curation import curated_dataset
from catalog.downloads import current_version, read_original
from catalog.errors import ConflictError, InvalidQueryError
from catalog.models import Dataset, DatasetVersion, DerivedFile, fold
from catalog.qc_flags import effective_flags, overrides_of, results_of
from catalog.qc_plot import draw_qc_plot, plot_arrays, series_of
from catalog.qc_tests import (
    AGGREGATE,
    Flags,
    check_config,
    counts_of,
    run_config,
    stretches_of,
)
from catalog.registry import get_instrument, instrument_of
from catalog.registry_models import DatasetDeployment, Deployment, QcConfig, QcOverride, QcResult
from catalog.schemas import Principal
from catalog.search import load_dataset_for_data
from catalog.storage import ArchiveStore
from formats.flag_columns import FLAG_VALUES

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


QC_FORMAT = "qc"
QC_EXT = "qcnpz"


def set_qc_config(
    session: Session,
    instrument_id: int,
    variable: str,
    tests: dict[str, Any],
    *,
    actor: Principal,
    now: datetime,
) -> QcConfig:
    """Store a new version of the QC tests of an instrument's variable; the QC of datasets
    of that instrument is dropped so the worker runs the new version."""
    instrument = get_instrument(session, instrument_id)
    key = fold(variable) or ""
    if not key:
        raise InvalidQueryError("name the variable")
    tests = check_config(tests)
    last = session.scalar(
        select(func.max(QcConfig.version)).where(
            QcConfig.instrument_id == instrument.id, QcConfig.variable_key == key
        )
    )
    config = QcConfig(
        instrument_id=instrument.id, variable_key=key, version=(last or 0) + 1, tests=tests,
        created_at=now, created_by=(actor.username or actor.role.value)[:100],
    )  # fmt: skip
    session.add(config)
    session.flush()
    drop_qc_of_instrument(session, instrument.id, instrument.key)
    return config


def drop_qc_of_instrument(session: Session, instrument_id: int, instrument_key: str) -> int:
    """Drop the QC of every version of the instrument's datasets (the worker runs it again);
    how many versions had one."""
    linked = select(DatasetDeployment.dataset_id).join(
        Deployment, Deployment.id == DatasetDeployment.deployment_id
    )
    linked = linked.where(Deployment.instrument_id == instrument_id)
    named = select(Dataset.id).where(Dataset.instrument_key == instrument_key)
    versions = select(DatasetVersion.id).where(
        DatasetVersion.dataset_id.in_(linked.union(named).subquery().select())
    )
    dropped = session.execute(
        delete(DerivedFile).where(
            DerivedFile.format == QC_FORMAT, DerivedFile.version_id.in_(versions)
        )
    )
    session.execute(delete(QcResult).where(QcResult.version_id.in_(versions)))
    session.flush()
    return int(dropped.rowcount)  # type: ignore[attr-defined]


def configs_for(session: Session, instrument_id: int) -> dict[str, QcConfig]:
    """The latest QC configuration of each variable of an instrument, by variable key."""
    rows = session.scalars(
        select(QcConfig).where(QcConfig.instrument_id == instrument_id).order_by(QcConfig.version)
    )
    return {config.variable_key: config for config in rows}


def run_qc(
    session: Session, store: ArchiveStore, version: DatasetVersion, now: datetime
) -> DerivedFile:
    """The worker's step: run the configured tests on a version, store flags and results."""
    dataset = version.dataset
    instrument = instrument_of(session, dataset)
    configs = configs_for(session, instrument.id) if instrument is not None else {}
    arrays: dict[str, np.ndarray[Any, Any]] = {}
    session.execute(delete(QcResult).where(QcResult.version_id == version.id))
    if configs:
        datafile = read_original(store, dataset, version)
        times = np.asarray(datafile.time.values, dtype="datetime64[ns]")
        for key, config in configs.items():
            values = series_of(datafile, key)
            if values is None:
                continue
            flags = run_config(config.tests, values, times)
            arrays.update({f"{key}/{test}": result for test, result in flags.items()})
            arrays.update(plot_arrays(key, values, times, flags[AGGREGATE]))
            session.add(_result(version, key, config, flags, now))
    path = _write_flags(store, dataset, version, arrays)
    derived = _record(session, store, version, path, now)
    draw_qc_plot(session, store, version)
    return derived


def _result(
    version: DatasetVersion, key: str, config: QcConfig, flags: dict[str, Flags], now: datetime
) -> QcResult:
    return QcResult(
        version_id=version.id, variable=key, config_id=config.id,
        counts={test: counts_of(result) for test, result in flags.items()},
        stretches=stretches_of(flags[AGGREGATE]), path="", created_at=now,
    )  # fmt: skip


def _write_flags(
    store: ArchiveStore,
    dataset: Dataset,
    version: DatasetVersion,
    arrays: dict[str, np.ndarray[Any, Any]],
) -> Path:
    path = store.derived_path(dataset.public_id, version.id, QC_EXT)
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)  # type: ignore[arg-type]
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with temp.open("wb") as handle:
        handle.write(buffer.getvalue())
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temp, path)
    return path


def _record(
    session: Session, store: ArchiveStore, version: DatasetVersion, path: Path, now: datetime
) -> DerivedFile:
    stored = str(path.relative_to(store.root) if path.is_relative_to(store.root) else path)
    session.execute(
        delete(DerivedFile).where(
            DerivedFile.version_id == version.id, DerivedFile.format == QC_FORMAT
        )
    )
    for result in session.scalars(select(QcResult).where(QcResult.version_id == version.id)):
        result.path = stored
    content = path.read_bytes()
    derived = DerivedFile(
        version_id=version.id, format=QC_FORMAT, path=stored,
        sha256=hashlib.sha256(content).hexdigest(), size=len(content), created_at=now,
    )  # fmt: skip
    session.add(derived)
    session.flush()
    return derived


def qc_report(
    session: Session, store: ArchiveStore, public_id: str, principal: Principal, now: datetime
) -> dict[str, Any]:
    """The QC report of the current version: per variable, the configuration used, counts
    per test and flag, the flagged stretches (overrides applied) and the overrides."""
    dataset = load_dataset_for_data(session, public_id, principal, now)
    version = current_version(session, dataset)
    effective = effective_flags(session, store, version)
    variables = []
    for result in results_of(session, version.id):
        config = session.get(QcConfig, result.config_id) if result.config_id else None
        flags = effective[result.variable]
        variables.append({
            "variable": result.variable,
            "config_version": None if config is None else config.version,
            "tests": None if config is None else config.tests,
            "counts": {**result.counts, "effective": counts_of(flags)},
            "stretches": stretches_of(flags),
        })  # fmt: skip
    overrides = [_override_json(o) for o in overrides_of(session, version.id)]
    return {
        "dataset": dataset.public_id, "version_id": version.id, "level": version.level,
        "qc_done": _qc_done(session, version.id), "flag_values": list(FLAG_VALUES),
        "variables": variables, "overrides": overrides,
    }  # fmt: skip


def _qc_done(session: Session, version_id: int) -> bool:
    query = select(DerivedFile.id).where(
        DerivedFile.version_id == version_id, DerivedFile.format == QC_FORMAT
    )
    return session.scalar(query) is not None


def _override_json(override: QcOverride) -> dict[str, Any]:
    return {
        "variable": override.variable, "first": override.first, "last": override.last,
        "flag": override.flag, "reason": override.reason, "actor": override.actor,
        "at": override.at.isoformat(),
    }  # fmt: skip


def override_flags(
    session: Session,
    public_id: str,
    *,
    variable: str,
    first: int,
    last: int,
    flag: int,
    reason: str,
    actor: Principal,
    now: datetime,
) -> QcOverride:
    """Set the flag of rows `first`..`last` of a variable of the current version; audited."""
    dataset = curated_dataset(session, public_id, actor, now)
    version = current_version(session, dataset)
    key = fold(variable) or ""
    result = next((r for r in results_of(session, version.id) if r.variable == key), None)
    if result is None:
        raise ConflictError(f"variable {variable!r} of {public_id} has no QC result")
    rows = int(result.counts[AGGREGATE] and sum(result.counts[AGGREGATE].values()))
    if flag not in FLAG_VALUES or not 0 <= first <= last < rows:
        raise InvalidQueryError(f"flag must be one of {FLAG_VALUES}; rows 0..{rows - 1}")
    override = QcOverride(
        version_id=version.id, variable=key, first=first, last=last, flag=flag,
        reason=reason, actor=(actor.username or actor.role.value)[:100], at=now,
    )  # fmt: skip
    session.add(override)
    record_event(
        session, actor=actor, action="qc.override", now=now, reason=reason, dataset=dataset,
        after={"variable": key, "first": first, "last": last, "flag": flag,
               "version_id": version.id},
    )  # fmt: skip
    return override
