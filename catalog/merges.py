"""Merged products: definitions, their listing and their build by the worker (docs/cids.md).

A definition names a platform, a period, a time base (1, 10 or 60 s, or a dataset's own
times), variables of readable datasets and a rule with its window. The worker builds it as a
derived dataset of this center (DID `MERGE_DID_BASE + id`): an ICARTT merge file as its
original, its NetCDF (with `source` and per-variable provenance) made at once. It is built
again, DATA VERSION one up, when an input's current version or access changes. Its access
is the strictest of its inputs'.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from pydantic import BaseModel
from sqlalchemy import Text, bindparam, cast, or_, select
from sqlalchemy.orm import Session, sessionmaker

import formats
from catalog.access import can_see_metadata, effective_state
from catalog.access_states import AccessState
from catalog.cids_models import MergeDefinition
from catalog.downloads import read_original
from catalog.errors import InvalidQueryError
from catalog.models import Dataset, DerivedFile
from catalog.registration import register_datafile
from catalog.schemas import Principal
from catalog.search import load_dataset_for_data
from catalog.storage import ArchiveStore
from formats.merge_product import MergeInput, merge_file
from formats.model import DataFile, Header
from formats.navmerge import seconds
from formats.timebase import RULES, Rule, regular_base

logger = logging.getLogger(__name__)

MERGE_DID_BASE = 900_000
"""Merged products take the DIDs from here up (a PI's DIDs stay below)."""
STEPS = {"1": 1.0, "10": 10.0, "60": 60.0}
MAX_PERIOD = timedelta(days=2)
MAX_VARIABLES = 100


@dataclass(frozen=True)
class MergeRequest:
    """A new definition as the caller gives it."""

    platform: str
    start: datetime
    stop: datetime
    time_base: str
    variables: list[str]
    """`<dataset public id>:<variable>` each."""
    rule: str
    window_s: float


class MergeView(BaseModel):
    """A definition and its state as the API and the pages show it."""

    id: int
    platform: str
    start: datetime
    stop: datetime
    time_base: str
    variables: list[dict[str, str]]
    rule: str
    window_s: float
    status: str
    reason: str
    dataset: str | None
    data_version: str
    inputs: dict[str, Any]
    created_by: str
    built_at: datetime | None


def _parse_variables(
    session: Session, principal: Principal, now: datetime, names: list[str]
) -> list[dict[str, str]]:
    if not names or len(names) > MAX_VARIABLES:
        raise InvalidQueryError(f"name 1..{MAX_VARIABLES} variables as <dataset>:<variable>")
    parsed = []
    for item in names:
        public_id, _, variable = item.partition(":")
        if not variable:
            raise InvalidQueryError(f"{item!r}: expected <dataset>:<variable>")
        dataset = load_dataset_for_data(session, public_id, principal, now)
        known = {v.name for v in dataset.variables} | {v.original_name for v in dataset.variables}
        if variable not in known:
            raise InvalidQueryError(f"dataset {public_id} has no variable {variable!r}")
        parsed.append({"dataset": public_id, "variable": variable})
    return parsed


def define_merge(
    session: Session, principal: Principal, now: datetime, request: MergeRequest
) -> MergeDefinition:
    """Record a definition (the caller must read every input); the worker builds it."""
    if request.rule not in RULES:
        raise InvalidQueryError(f"rule must be one of {', '.join(RULES)}")
    if not 0 < request.window_s <= 3600:
        raise InvalidQueryError("window_s must be in (0, 3600]")
    if not request.start < request.stop <= request.start + MAX_PERIOD:
        raise InvalidQueryError(f"the period must be positive and at most {MAX_PERIOD}")
    base = request.time_base
    if base not in STEPS:
        if not base.startswith("dataset:"):
            raise InvalidQueryError("time_base is 1, 10, 60 or dataset:<public id>")
        load_dataset_for_data(session, base.removeprefix("dataset:"), principal, now)
    definition = MergeDefinition(
        platform=request.platform.strip(),
        start=request.start,
        stop=request.stop,
        time_base=base,
        variables=_parse_variables(session, principal, now, request.variables),
        rule=request.rule,
        window_s=request.window_s,
        created_by=principal.username,
        owner_user_id=principal.user_id,
        created_at=now,
        status="pending",
        reason="",
        inputs={},
        builds=0,
    )
    session.add(definition)
    session.flush()
    return definition


def _input_ids(definition: MergeDefinition) -> list[str]:
    ids = [v["dataset"] for v in definition.variables]
    if definition.time_base.startswith("dataset:"):
        ids.append(definition.time_base.removeprefix("dataset:"))
    return sorted(set(ids))


def _datasets(session: Session, ids: list[str]) -> dict[str, Dataset]:
    rows = session.scalars(select(Dataset).where(Dataset.public_id.in_(ids)))
    return {d.public_id: d for d in rows}


def list_merges(session: Session, principal: Principal, now: datetime) -> list[MergeView]:
    """The definitions whose every input the caller may see, newest first."""
    newest_first = select(MergeDefinition).order_by(MergeDefinition.id.desc())
    return _visible_views(session, session.scalars(newest_first), principal, now)


INVOLVING = or_(
    MergeDefinition.dataset_id == bindparam("dataset_id"),
    MergeDefinition.time_base == bindparam("time_base"),
    cast(MergeDefinition.variables, Text).like(bindparam("in_variables"), escape="/"),
)
"""The definitions that may involve a dataset (the parameters: `involving_params`): built as
it, on its times, or naming its public id in their variables. A superset (the id may stand
in another field of the JSON; SQLite's LIKE ignores case), checked exactly afterwards."""
_CANDIDATES = select(MergeDefinition).where(INVOLVING).order_by(MergeDefinition.id.desc())
"""Built once: a dataset's page runs it (building a statement costs more than running it)."""


def involving_params(dataset: Dataset) -> dict[str, Any]:
    """The values of `INVOLVING`'s parameters for `dataset`."""
    escaped = dataset.public_id.replace("/", "//").replace("%", "/%").replace("_", "/_")
    return {"dataset_id": dataset.id, "time_base": f"dataset:{dataset.public_id}",
            "in_variables": f"%{escaped}%"}  # fmt: skip


def merges_involving(
    session: Session, dataset: Dataset, principal: Principal, now: datetime
) -> list[MergeView]:
    """`list_merges` of the definitions built as `dataset` or taking it as an input (for its
    page), without reading every definition."""
    found = session.scalars(_CANDIDATES, involving_params(dataset))
    public_id = dataset.public_id
    involving = [d for d in found if d.dataset_id == dataset.id or public_id in _input_ids(d)]
    return _visible_views(session, involving, principal, now)


def _visible_views(
    session: Session, definitions: Iterable[MergeDefinition], principal: Principal, now: datetime
) -> list[MergeView]:
    views = []
    for definition in definitions:
        inputs = _datasets(session, _input_ids(definition))
        if len(inputs) < len(_input_ids(definition)):
            continue
        if not all(can_see_metadata(principal, d, now) for d in inputs.values()):
            continue
        views.append(_view(session, definition))
    return views


def _view(session: Session, definition: MergeDefinition) -> MergeView:
    built = None if definition.dataset_id is None else session.get(Dataset, definition.dataset_id)
    return MergeView(
        id=definition.id,
        platform=definition.platform,
        start=definition.start,
        stop=definition.stop,
        time_base=definition.time_base,
        variables=definition.variables,
        rule=definition.rule,
        window_s=definition.window_s,
        status=definition.status,
        reason=definition.reason,
        dataset=None if built is None else built.public_id,
        data_version="" if built is None else built.data_version,
        inputs=definition.inputs,
        created_by=definition.created_by,
        built_at=definition.built_at,
    )


def strictest(datasets: list[Dataset], now: datetime) -> tuple[AccessState, datetime | None]:
    """The access of a product of these inputs: private if any input is private, password
    or withdrawn; else embargoed until the last release if any is embargoed; else open."""
    states = [effective_state(d, now) for d in datasets]
    closed = (AccessState.PRIVATE, AccessState.PASSWORD, AccessState.WITHDRAWN)
    if any(state in closed for state in states):
        return AccessState.PRIVATE, None
    embargoed = [d for d, s in zip(datasets, states, strict=True) if s is AccessState.EMBARGOED]
    if embargoed:
        releases = [d.release_at for d in embargoed if d.release_at is not None]
        return AccessState.EMBARGOED, max(releases) if releases else None
    return AccessState.OPEN, None


def _signature(datasets: dict[str, Dataset], now: datetime) -> dict[str, Any]:
    signature: dict[str, Any] = {}
    for public_id, dataset in sorted(datasets.items()):
        version = dataset.current_version
        signature[public_id] = {
            "version": None if version is None else version.data_version,
            "version_id": None if version is None else version.id,
            "access": effective_state(dataset, now).value,
        }
    return signature


def _base_times(definition: MergeDefinition, files: dict[str, DataFile]) -> np.ndarray[Any, Any]:
    start, stop = definition.start.timestamp(), definition.stop.timestamp()
    if definition.time_base in STEPS:
        base = regular_base(start, stop, STEPS[definition.time_base])
        return base[base >= start] if len(base) and base[0] < start else base
    times = seconds(files[definition.time_base.removeprefix("dataset:")].time.values)
    return times[(times >= start) & (times <= stop)]


def _provenance(dataset: Dataset) -> str:
    version = dataset.current_version
    data_version = version.data_version if version is not None else "?"
    return (
        f"dataset {dataset.public_id} (DID {dataset.did}, {dataset.origin_center}) "
        f"DATA VERSION {data_version}, sha256 {version.sha256 if version else '?'}"
    )


def build_merge(
    session: Session,
    store: ArchiveStore,
    definition: MergeDefinition,
    center_code: str,
    campaign_code: str,
    now: datetime,
) -> Dataset:
    """Build (again) one merged product; returns its dataset."""
    inputs = _datasets(session, _input_ids(definition))
    files = {}
    for public_id, dataset in inputs.items():
        version = dataset.current_version
        if version is None or dataset.origin_center != center_code:
            raise InvalidQueryError(f"input {public_id} is not held here with a version")
        files[public_id] = read_original(store, dataset, version)
    base = _base_times(definition, files)
    merge_inputs = []
    for public_id in dict.fromkeys(v["dataset"] for v in definition.variables):
        wanted = tuple(v["variable"] for v in definition.variables if v["dataset"] == public_id)
        dataset = inputs[public_id]
        label = f"DID{dataset.did}" if dataset.did else public_id
        merge_inputs.append(MergeInput(label, _provenance(dataset), files[public_id], wanted))
    rule: Rule = "mean" if definition.rule == "mean" else "nearest"
    header = Header(
        did=MERGE_DID_BASE + definition.id,
        pi_name=f"FieldCat CIDS merge by {definition.created_by or 'staff'}",
        platform=definition.platform,
        instrument=f"merge of {len(inputs)} datasets on a {definition.time_base} time base",
        location="mobile",
        data_version=str(definition.builds + 1),
        remarks=[f"Merged product {definition.id} of center {center_code}"],
    )
    datafile = merge_file(header, base, merge_inputs, rule, definition.window_s)
    access = strictest(list(inputs.values()), now)
    dataset = _register(
        session, store, datafile, definition, (center_code, campaign_code), access, now
    )
    _write_netcdf(session, store, dataset, datafile, now)
    definition.dataset_id = dataset.id
    definition.builds += 1
    definition.status, definition.reason = "built", ""
    definition.inputs = _signature(inputs, now)
    definition.built_at = now
    return dataset


def _register(
    session: Session,
    store: ArchiveStore,
    datafile: DataFile,
    definition: MergeDefinition,
    where: tuple[str, str],
    access: tuple[AccessState, datetime | None],
    now: datetime,
) -> Dataset:
    """Archive the ICARTT merge file and register it (center and campaign `where`)."""
    staged = store.new_staging_path()
    with staged.open("wb") as stream:
        formats.write_to(datafile, "icartt", stream)
    sha256, path = store.put_original(staged)
    return register_datafile(
        session,
        datafile=datafile,
        sha256=sha256,
        size=path.stat().st_size,
        original_name=f"CIDS-merge-{definition.id}_R{definition.builds + 1}.ict",
        center_code=where[0],
        campaign_code=where[1],
        owner_user_id=definition.owner_user_id,
        access_state=access[0],
        release_at=access[1],
        now=now,
    )


def _write_netcdf(
    session: Session, store: ArchiveStore, dataset: Dataset, datafile: DataFile, now: datetime
) -> None:
    """The NetCDF made from the merge in memory, so its per-variable provenance is kept."""
    session.flush()
    version = dataset.current_version
    assert version is not None
    path = store.derived_path(dataset.public_id, version.id, "nc")
    path.parent.mkdir(parents=True, exist_ok=True)
    source = "; ".join(r for r in datafile.header.remarks if r.startswith("Input "))
    formats.write(datafile, "netcdf", path, attributes={"source": source})
    with path.open("rb") as handle:
        digest = hashlib.file_digest(handle, "sha256").hexdigest()
        os.fsync(handle.fileno())
    session.add(
        DerivedFile(
            version_id=version.id,
            format="netcdf",
            path=str(path.relative_to(store.root)),
            sha256=digest,
            size=path.stat().st_size,
            created_at=now,
        )
    )


def build_due(
    factory: sessionmaker[Session],
    store: ArchiveStore,
    center_code: str,
    campaign_code: str,
    now: datetime | None = None,
) -> int:
    """Build every definition never built or whose inputs changed; how many were built."""
    with factory() as session:
        ids = list(session.scalars(select(MergeDefinition.id)))
    done = 0
    for definition_id in ids:
        when = now or datetime.now(UTC)
        try:
            with factory() as session, session.begin():
                definition = session.get_one(MergeDefinition, definition_id)
                inputs = _datasets(session, _input_ids(definition))
                settled = definition.status in ("built", "failed")
                if settled and _signature(inputs, when) == definition.inputs:
                    continue
                build_merge(session, store, definition, center_code, campaign_code, when)
                done += 1
        except Exception as error:
            logger.exception("merged product %s could not be built", definition_id)
            _record_failure(factory, definition_id, str(error), when)
    return done


def _record_failure(
    factory: sessionmaker[Session], definition_id: int, reason: str, now: datetime
) -> None:
    """Say why, and remember the inputs: tried again only when they change."""
    with factory() as session, session.begin():
        definition = session.get_one(MergeDefinition, definition_id)
        definition.status, definition.reason = "failed", reason[:2000]
        definition.inputs = _signature(_datasets(session, _input_ids(definition)), now)
