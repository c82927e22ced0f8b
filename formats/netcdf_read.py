"""Reading stored NetCDF by variable and index range (what OPeNDAP serves).

Every call into netCDF-C/HDF5 holds `formats.netcdf.HDF5_LOCK`, as the writer does: the two
modules are the only places FieldCat enters those libraries. A file is opened, read and
closed inside one hold of the lock, so no handle outlives it and threads never meet inside
the library. Values come back as stored (no masking or scaling): a DAP client applies
`_FillValue` and friends from the attributes itself.

Character arrays (`|S1` with a trailing length dimension, how the writer stores identifiers)
are presented as strings without that dimension, the way THREDDS and Hyrax present them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from formats.netcdf import HDF5_LOCK

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt


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
    """The values of variable `name` at `key` (one slice per served dimension), as stored."""
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
