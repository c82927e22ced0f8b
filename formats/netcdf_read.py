"""Reading stored NetCDF by variable and index range (what OPeNDAP serves).

Every call into netCDF-C/HDF5 holds `formats.netcdf.HDF5_LOCK`, as the writer does: the two
modules are the only places FieldCat enters those libraries. A file is opened, read and
closed inside one hold of the lock, so no handle outlives it and threads never meet inside
the library. Values come back as stored (no masking or scaling): a DAP client applies
`_FillValue` and friends from the attributes itself.

Whole variables read are kept, decoded, in a small process-wide cache (`VALUES_CACHE_BYTES`)
keyed by the file's identity (path, inode, size, modification time): a stored variable is one
zlib chunk, so every slice of it would otherwise decompress all of it again under the lock.

Character arrays (`|S1` with a trailing length dimension, how the writer stores identifiers)
are presented as strings without that dimension, the way THREDDS and Hyrax present them.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from formats.netcdf import HDF5_LOCK

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

VALUES_CACHE_BYTES: Final = 256 << 20
"""Decoded values kept per process (least recently used first out); a variable larger than a
quarter of it is never kept, only its slices read."""


@dataclass(frozen=True)
class StoredVariable:
    """One variable of a stored NetCDF file as a reader sees it."""

    name: str
    dims: tuple[str, ...]
    shape: tuple[int, ...]
    dtype: str
    """NumPy type string of the values served (`<U0` for a character array read as text)."""
    attributes: dict[str, Any]
    is_text: bool = False


@dataclass(frozen=True)
class StoredLayout:
    """A stored NetCDF file's global attributes and variables, in file order."""

    attributes: dict[str, Any]
    variables: tuple[StoredVariable, ...]


def _as_text(var: Any) -> bool:
    return str(var.dtype) == "|S1" and len(var.dimensions) >= 1


def _describe(var: Any) -> StoredVariable:
    attrs = {name: var.getncattr(name) for name in var.ncattrs()}
    text = _as_text(var)
    dims = tuple(var.dimensions[:-1] if text else var.dimensions)
    shape = tuple(var.shape[:-1] if text else var.shape)
    dtype = "<U0" if text else var.dtype.str
    return StoredVariable(var.name, dims, shape, dtype, attrs, text)


def netcdf_layout(path: Path) -> StoredLayout:
    """The variables, shapes, types and attributes of the file at `path` (no values read)."""
    import netCDF4

    with HDF5_LOCK, netCDF4.Dataset(str(path)) as ds:
        attrs = {name: ds.getncattr(name) for name in ds.ncattrs()}
        return StoredLayout(attrs, tuple(_describe(v) for v in ds.variables.values()))


def read_values(path: Path, name: str, key: tuple[slice, ...]) -> npt.NDArray[Any]:
    """The values of variable `name` at `key` (one slice per served dimension), as stored.

    Read-only: the array may be (a view of) the cached whole variable."""
    whole = _cached_variable(path, name)
    if whole is not None:
        return whole[key] if key else whole
    return _read(path, name, key)


def _read(path: Path, name: str, key: tuple[slice, ...]) -> npt.NDArray[Any]:
    import netCDF4
    import numpy as np

    with HDF5_LOCK, netCDF4.Dataset(str(path)) as ds:
        var = ds.variables[name]
        var.set_auto_maskandscale(False)
        if _as_text(var):
            raw = var[(*key, slice(None))] if key else var[:]
            return np.asarray(netCDF4.chartostring(raw), dtype=str)
        values: np.ndarray[Any, Any] = np.asarray(var[key] if key else var[...])
        return values


def _variable_bytes(path: Path, name: str) -> int:
    import netCDF4

    with HDF5_LOCK, netCDF4.Dataset(str(path)) as ds:
        var = ds.variables[name]
        return int(var.size) * int(getattr(var.dtype, "itemsize", 64))


class _ValuesCache:
    """Whole decoded variables by (file identity, name), at most `limit` bytes in all."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.entries: OrderedDict[tuple[Any, ...], npt.NDArray[Any]] = OrderedDict()
        self.used = 0
        self.lock = threading.Lock()

    def get(self, key: tuple[Any, ...]) -> npt.NDArray[Any] | None:
        with self.lock:
            values = self.entries.get(key)
            if values is not None:
                self.entries.move_to_end(key)
            return values

    def put(self, key: tuple[Any, ...], values: npt.NDArray[Any]) -> None:
        values.flags.writeable = False
        with self.lock:
            if key in self.entries:
                return
            self.entries[key] = values
            self.used += values.nbytes
            while self.used > self.limit:
                _, dropped = self.entries.popitem(last=False)
                self.used -= dropped.nbytes


_CACHE = _ValuesCache(VALUES_CACHE_BYTES)


def _cached_variable(path: Path, name: str) -> npt.NDArray[Any] | None:
    """The whole variable, from the cache or read once and kept; None if too large to keep."""
    stat = path.stat()
    key = (str(path), stat.st_ino, stat.st_size, stat.st_mtime_ns, name)
    values = _CACHE.get(key)
    if values is None and _variable_bytes(path, name) <= VALUES_CACHE_BYTES // 4:
        values = _read(path, name, ())
        _CACHE.put(key, values)
    return values
