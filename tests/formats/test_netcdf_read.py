"""Reading stored NetCDF for OPeNDAP: the values are the file's, whole, sliced and strided,
from many threads at once, and a file replaced at the same path is read anew (the cache of
decoded variables never serves stale values)."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import netCDF4
import numpy as np
import pytest

from formats.netcdf_read import read_values

ROWS = 200_000


def _write(path: Path, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    values = {
        "time": np.arange(ROWS, dtype="f8") + seed,
        "O3": rng.random(ROWS).round(3),
        "flag": rng.integers(-3, 4, ROWS).astype("i1"),
    }
    with netCDF4.Dataset(str(path), "w") as ds:
        ds.createDimension("time", ROWS)
        for name, array in values.items():
            var = ds.createVariable(name, array.dtype, ("time",), compression="zlib")
            var[:] = array
    return values


@pytest.fixture
def stored(tmp_path: Path) -> tuple[Path, dict[str, np.ndarray]]:
    path = tmp_path / "stored.nc"
    return path, _write(path, 1)


def test_whole_sliced_and_strided_values_are_the_files(
    stored: tuple[Path, dict[str, np.ndarray]],
) -> None:
    path, values = stored
    for name, expected in values.items():
        np.testing.assert_array_equal(read_values(path, name, ()), expected)
        for key in [slice(0, 10), slice(1000, 3000, 7), slice(ROWS - 5, ROWS)]:
            got = read_values(path, name, (key,))
            assert got.dtype == expected.dtype
            np.testing.assert_array_equal(got, expected[key])


def test_values_handed_out_cannot_be_changed(stored: tuple[Path, dict[str, np.ndarray]]) -> None:
    path, values = stored
    got = read_values(path, "O3", ())
    with pytest.raises(ValueError, match="read-only"):
        got[0] = -1.0
    np.testing.assert_array_equal(read_values(path, "O3", ()), values["O3"])


def test_a_file_replaced_at_the_same_path_is_read_anew(
    stored: tuple[Path, dict[str, np.ndarray]],
) -> None:
    path, first = stored
    np.testing.assert_array_equal(read_values(path, "O3", ()), first["O3"])
    replacement = path.with_suffix(".new")
    second = _write(replacement, 2)
    os.replace(replacement, path)
    np.testing.assert_array_equal(read_values(path, "O3", ()), second["O3"])
    np.testing.assert_array_equal(read_values(path, "time", (slice(5, 9),)), second["time"][5:9])


def test_many_threads_read_exact_slices(stored: tuple[Path, dict[str, np.ndarray]]) -> None:
    path, values = stored
    keys = [(name, slice(k * 1000, k * 1000 + 1500)) for k in range(60) for name in values]

    def read(item: tuple[str, slice]) -> bool:
        name, key = item
        return bool(np.array_equal(read_values(path, name, (key,)), values[name][key]))

    with ThreadPoolExecutor(max_workers=16) as pool:
        assert all(pool.map(read, keys))
