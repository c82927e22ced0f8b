"""The DAP2 data answer encodes numbers in one NumPy pass; its bytes are exactly those of
pydap's own DODS encoder (what pydap's client and netCDF-C read) for every type served."""

from __future__ import annotations

from pathlib import Path

import netCDF4
import numpy as np
import pytest
from pydap.responses.dds import dds
from pydap.responses.dods import dods

from formats.netcdf_read import netcdf_layout
from web.opendap import _constrained, _dataset, dap_answer

ROWS = 5003


@pytest.fixture(scope="module")
def stored(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("xdr") / "stored.nc"
    rng = np.random.default_rng(7)
    with netCDF4.Dataset(str(path), "w") as ds:
        ds.createDimension("time", ROWS)
        ds.createDimension("strlen", 8)
        columns = {
            "time": np.arange(ROWS, dtype="f8"),
            "O3": rng.random(ROWS),
            "T32": rng.random(ROWS).astype("f4"),
            "qc": rng.integers(-9, 9, ROWS).astype("i1"),
            "mask": rng.integers(0, 255, ROWS).astype("u1"),
            "count": rng.integers(-(2**30), 2**30, ROWS).astype("i4"),
        }
        for name, array in columns.items():
            ds.createVariable(name, array.dtype, ("time",))[:] = array
        ds.createVariable("lat", "f8", ())[...] = -12.5
        station = ds.createVariable("station", "S1", ("strlen",))
        station[:] = netCDF4.stringtochar(np.array(["KCO"], dtype="S8"))[0]
    return path


def _pydap_bytes(path: Path, query: str) -> bytes:
    constrained = _constrained(_dataset(path, "x", netcdf_layout(path)), query)
    return "".join(dds(constrained)).encode() + b"Data:\n" + b"".join(dods(constrained))


@pytest.mark.parametrize(
    "query",
    ["", "O3", "qc", "mask[0:1:4]", "mask[1:3:5002],T32[7:2:100]", "count,lat,station",
     "time[100:1:199],O3[100:1:199],qc[100:1:199]"],
)  # fmt: skip
def test_data_answer_bytes_are_pydaps(stored: Path, query: str) -> None:
    ours = b"".join(bytes(chunk) for chunk in dap_answer(stored, "x", "dods", query))
    assert ours == _pydap_bytes(stored, query)
