"""Merged products: a 10 s merge of three C-130 datasets (the External Sampler, the 1 Hz
navigation and a 1 Hz ozone file with gaps) equals, value by value, a merge computed here
with pandas on the same rules; a new input version builds DATA VERSION 2; the product's
access is the strictest of its inputs; NetCDF and ICARTT carry the provenance."""

from __future__ import annotations

import io
import math
from datetime import UTC, datetime, timedelta

import netCDF4
import numpy as np
import pandas as pd
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from catalog.cids_models import MergeDefinition
from catalog.dataset_sections import dataset_sections
from catalog.downloads import DownloadRequest, prepare_download
from catalog.errors import InvalidQueryError
from catalog.merges import (
    MERGE_DID_BASE,
    MergeRequest,
    build_due,
    define_merge,
    list_merges,
    merges_involving,
)
from catalog.models import Dataset
from catalog.schemas import Principal
from catalog.storage import ArchiveStore
from submissions.acceptance import SubmitOptions
from tests.conftest import SAMPLES
from tests.submissions.conftest import NOW, OWNER, STAFF, Submit

SAMPLER = SAMPLES / "valid" / "c130_external_sampler.txt"
NAVIGATION = SAMPLES / "valid" / "c130_navigation_1hz.txt"
START = datetime(1999, 2, 21, 13, 35, tzinfo=UTC)
STOP = datetime(1999, 2, 21, 13, 55, tzinfo=UTC)
EPOCH = pd.Timestamp("1970-01-01", tz="UTC")


def ozone_text(version: str = "1.0", offset: float = 0.0) -> str:
    """A 1 Hz C-130 ozone file over the sampler's times, with missing and bad values."""
    lines = [
        "DID = 301",
        "FILE START TIME (UTC) = 19990221133000",
        "FILE STOP TIME (UTC) = 19990221140000",
        "PI NAME = Doe, John (NCAR)",
        "PLATFORM = C130",
        "INSTRUMENT = Fast ozone analyser",
        "LOCATION = mobile",
        f"DATA VERSION = {version}",
        "REMARKS = Missing data = -9999; Bad data = -8888",
        "##END OF HEADER##",
        "DATE/TIME O3 H2O",
        "UTC ppbv g/kg",
    ]
    start = datetime(1999, 2, 21, 13, 30)
    for s in range(1801):
        o3 = 40 + 10 * math.sin(s / 97) + offset
        h2o = 12 + 3 * math.cos(s / 41)
        o3_text = "-9999" if s % 37 == 0 or 600 <= s < 640 else f"{o3:.3f}"
        h2o_text = "-8888" if s % 53 == 0 else f"{h2o:.4f}"
        lines.append(f"{start + timedelta(seconds=s):%Y%m%d%H%M%S} {o3_text} {h2o_text}")
    return "\n".join(lines) + "\n"


def _ids(db: Session) -> dict[str, str]:
    db.expire_all()
    return {d.did or "": d.public_id for d in db.scalars(select(Dataset))}


def _setup(db: Session, submit: Submit, **ozone_options: object) -> dict[str, str]:
    submit(SAMPLER)
    submit(NAVIGATION)
    submit(ozone_text().encode(), "c130_ozone.txt", **ozone_options)
    return _ids(db)


def _define(db: Session, ids: dict[str, str], rule: str = "mean", base: str = "10") -> int:
    variables = [
        f"{ids['100']}:NO2", f"{ids['100']}:DMS",
        f"{ids['300']}:LAT", f"{ids['300']}:ALT",
        f"{ids['301']}:O3", f"{ids['301']}:H2O",
    ]  # fmt: skip
    request = MergeRequest("C130", START, STOP, base, variables, rule, 10.0)
    definition = define_merge(db, STAFF, NOW, request)
    db.commit()
    return definition.id


def _pandas_series(
    path_or_text: str, names: list[str], sentinels: tuple[float, ...]
) -> pd.DataFrame:
    text = path_or_text
    body = text.split("##END OF HEADER##\n", 1)[1].splitlines()[2:]
    table = pd.read_csv(io.StringIO("\n".join(body)), sep=" ", header=None, names=["t", *names])
    raw = table["t"].astype(str).str.replace(r"\.0$", "", regex=True)
    if raw.str.len().iloc[0] == 10:  # MMDDHHMMSS: the campaign's year
        raw = "1999" + raw
    table.index = pd.to_datetime(raw, format="%Y%m%d%H%M%S").dt.tz_localize("UTC")
    table = table.drop(columns="t").astype(float)
    return table.mask(table.isin(sentinels))


def _expected(rule: str) -> pd.DataFrame:
    """The merge computed with pandas: resampled means over [T, T+10 s), or the nearest
    sample within 5 s (merge_asof), for every 10 s from START to STOP."""
    base = pd.date_range(START, STOP, freq="10s")
    sampler_text = SAMPLER.read_text()
    body = sampler_text.split("##END OF HEADER##\n", 1)[1].splitlines()[2:]
    names = ["t", "SAMPLE", "NO2", "CO", "DMS", "NH4"]
    sampler = pd.read_csv(
        io.StringIO("\n".join(body)), sep=" ", header=None, names=names, dtype={"t": str}
    )
    sampler.index = pd.to_datetime(
        "1999" + sampler["t"].str[:10], format="%Y%m%d%H%M%S"
    ).dt.tz_localize("UTC")
    sampler = sampler[["NO2", "DMS"]].astype(float)
    inputs = {
        "DID100": sampler.mask(sampler.isin((99.9, 88.8))),
        "DID300": _pandas_series(NAVIGATION.read_text(), ["LAT", "LON", "ALT"], (-9999, -8888))[
            ["LAT", "ALT"]
        ],
        "DID301": _pandas_series(ozone_text(), ["O3", "H2O"], (-9999, -8888)),
    }
    result = pd.DataFrame(index=base)
    for label, frame in inputs.items():
        for name in frame.columns:
            series = frame[name].dropna()
            if rule == "mean":
                means = series.resample("10s", closed="left", label="left").mean()
                result[f"{label}_{name}"] = means.reindex(base)
            else:
                left = pd.DataFrame({"t": base})
                right = pd.DataFrame({"t": series.index, "v": series.to_numpy()})
                merged = pd.merge_asof(
                    left, right, on="t", direction="nearest", tolerance=pd.Timedelta("5s")
                )
                result[f"{label}_{name}"] = merged["v"].to_numpy()
    return result


def _download(
    db: Session, store: ArchiveStore, public_id: str, fmt: str, who: Principal = STAFF
) -> bytes:
    download = prepare_download(db, store, public_id, who, NOW, DownloadRequest(format=fmt))  # type: ignore[arg-type]
    return b"".join(download.chunks)


@pytest.mark.parametrize("rule", ["mean", "nearest"])
def test_a_10s_merge_of_three_c130_datasets_equals_pandas(
    db: Session,
    session_factory: sessionmaker[Session],
    store: ArchiveStore,
    submit: Submit,
    rule: str,
) -> None:
    ids = _setup(db, submit)
    definition_id = _define(db, ids, rule)
    assert build_due(session_factory, store, "JOSS", "INDOEX", NOW) == 1
    assert build_due(session_factory, store, "JOSS", "INDOEX", NOW) == 0  # nothing changed
    product = _ids(db)[str(MERGE_DID_BASE + definition_id)]
    netcdf = _download(db, store, product, "netcdf")
    expected = _expected(rule)
    with netCDF4.Dataset("merge.nc", memory=netcdf) as nc:
        times = netCDF4.num2date(nc["time"][:], nc["time"].units, only_use_cftime_datetimes=False)
        assert [pd.Timestamp(t).tz_localize("UTC") for t in times] == list(expected.index)
        for name in expected.columns:
            values = np.ma.filled(nc[name][:].astype(float), np.nan)
            np.testing.assert_array_equal(
                np.isnan(values), expected[name].isna().to_numpy(), err_msg=name
            )
            np.testing.assert_allclose(values, expected[name].to_numpy(), rtol=1e-12, err_msg=name)
            assert ids[name[3:6]] in nc[name].source and "merge_rule" in nc[name].ncattrs()
        assert all(ids[did] in nc.source for did in ("100", "300", "301"))
    # The original is an ICARTT merge file naming its inputs; values read back the same.
    icartt = _download(db, store, product, "original").decode()
    assert (
        icartt.splitlines()[0].endswith("1001") and f"Input DID301: dataset {ids['301']}" in icartt
    )


def test_a_new_input_version_builds_data_version_2(
    db: Session, session_factory: sessionmaker[Session], store: ArchiveStore, submit: Submit
) -> None:
    ids = _setup(db, submit)
    definition_id = _define(db, ids)
    build_due(session_factory, store, "JOSS", "INDOEX", NOW)
    did = str(MERGE_DID_BASE + definition_id)
    first = db.scalars(select(Dataset).where(Dataset.did == did)).one()
    assert first.data_version == "1"
    submit(ozone_text("2.0", offset=1.0).encode(), "c130_ozone_v2.txt")
    assert build_due(session_factory, store, "JOSS", "INDOEX", NOW) == 1
    db.expire_all()
    product = db.scalars(select(Dataset).where(Dataset.did == did)).one()
    assert product.data_version == "2" and len(product.versions) == 2
    [view] = list_merges(db, STAFF, NOW)
    assert view.status == "built" and view.data_version == "2"
    assert view.inputs[ids["301"]]["version"] == "2.0"


def test_the_product_is_as_closed_as_its_strictest_input(
    db: Session, session_factory: sessionmaker[Session], store: ArchiveStore, submit: Submit
) -> None:
    release = datetime(2030, 1, 1, tzinfo=UTC)
    embargo = SubmitOptions(access="embargoed", release_at=release)
    ids = _setup(db, submit, options=embargo, submitter=STAFF)
    definition_id = _define(db, ids)
    build_due(session_factory, store, "JOSS", "INDOEX", NOW)
    db.expire_all()
    product = db.scalars(
        select(Dataset).where(Dataset.did == str(MERGE_DID_BASE + definition_id))
    ).one()
    assert product.access_state == "embargoed" and product.release_at == release
    from catalog.errors import PermissionDeniedError

    with pytest.raises(PermissionDeniedError):
        _download(db, store, product.public_id, "csv", Principal.anonymous())


def test_definitions_are_checked(db: Session, submit: Submit) -> None:
    ids = _setup(db, submit)
    bad = [
        MergeRequest("C130", START, STOP, "7", [f"{ids['301']}:O3"], "mean", 10),
        MergeRequest("C130", START, STOP, "10", [f"{ids['301']}:NOPE"], "mean", 10),
        MergeRequest("C130", STOP, START, "10", [f"{ids['301']}:O3"], "mean", 10),
        MergeRequest("C130", START, STOP, "10", [f"{ids['301']}:O3"], "median", 10),
    ]
    for request in bad:
        with pytest.raises(InvalidQueryError):
            define_merge(db, OWNER, NOW, request)
    assert db.scalars(select(MergeDefinition)).first() is None


def test_a_datasets_page_finds_the_merges_it_is_in(
    db: Session, session_factory: sessionmaker[Session], store: ArchiveStore, submit: Submit
) -> None:
    """`merges_involving` (the dataset page's query) finds what scanning every definition
    finds: each input's merges, the built product's own, a merge on a dataset's times; and
    nothing for a dataset in none (the page's one check says so without loading any)."""
    ids = _setup(db, submit)
    first = _define(db, ids)
    on_times = define_merge(db, STAFF, NOW, MergeRequest(
        "C130", START, STOP, f"dataset:{ids['300']}", [f"{ids['100']}:NO2"], "mean", 10.0,
    ))  # fmt: skip
    db.commit()
    build_due(session_factory, store, "JOSS", "INDOEX", NOW)
    submit(ozone_text("1.0").replace("DID = 301", "DID = 302").encode(), "c130_ozone_other.txt")
    ids = _ids(db)  # with 302, in no merge
    everyone = list_merges(db, STAFF, NOW)
    built = {view.id: view.dataset for view in everyone}
    assert built[first] is not None

    def scanned(public_id: str) -> set[int]:  # what the page did before: every definition
        return {
            view.id for view in everyone
            if view.dataset == public_id or public_id in {v["dataset"] for v in view.variables}
            or view.time_base == f"dataset:{public_id}"
        }  # fmt: skip

    expected = {
        ids["100"]: {first, on_times.id}, ids["300"]: {first, on_times.id},
        ids["301"]: {first}, str(built[first]): {first}, ids["302"]: set(),
    }  # fmt: skip
    for public_id, wanted in expected.items():
        dataset = db.scalars(select(Dataset).where(Dataset.public_id == public_id)).one()
        found = merges_involving(db, dataset, STAFF, NOW)
        assert {view.id for view in found} == wanted == scanned(public_id), public_id
        sections = dataset_sections(db, dataset, STAFF, NOW)
        assert [view.id for view in sections.merged_products] == [view.id for view in found]
        assert sections.registry is None
    # A public id that differs only in case is not the dataset's (SQLite's LIKE ignores case)
    other = db.scalars(select(Dataset).where(Dataset.public_id == ids["302"])).one()
    other.public_id = ids["301"].swapcase()
    db.flush()
    assert merges_involving(db, other, STAFF, NOW) == []
