"""NetCDF writer: CF 1.8 discrete sampling geometry (one feature a file) with ACDD 1.3 metadata.

Whole arrays are written at once; nothing here loops over rows. netCDF4 is imported inside
the functions so that `import formats` stays cheap.

The netCDF-C and HDF5 libraries are not thread-safe (two threads inside them crash the whole
process with SIGSEGV/SIGBUS/SIGABRT). Every entry into them, anywhere in FieldCat, holds
`HDF5_LOCK`: this module (writing) and `formats/netcdf_read.py` (reading, for OPeNDAP) are
the only places that call netCDF4, so a lock here serialises request conversions, the
worker's derived files, OPeNDAP reads and anything else in one process.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Final

from formats.cf_attributes import (
    VERTICAL_POSITIVE,
    AttrValue,
    feature_id,
    global_attributes,
    standard_name_for,
)
from formats.model import (
    QUALITY_MEANINGS,
    Column,
    ColumnKind,
    DataFile,
    FeatureType,
    Quality,
    WriteError,
)
from formats.names import MAX_NAME, safe_name

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

logger = logging.getLogger(__name__)

HDF5_LOCK: Final = threading.RLock()
"""Held by every call into netCDF-C/HDF5 in this process (the libraries are not
thread-safe). Process-wide on purpose; re-entrant so helpers may nest."""

FILE_FORMAT: Final = "NETCDF4"
"""On-disk format; the benchmark's plain-netCDF4 baseline uses the same."""
VARIABLE_SETTINGS: dict[str, Any] = {}
"""Settings of every array variable when written on request (no compression: zlib costs about
1 s per million rows); the benchmark's baseline uses the same."""
COMPRESSED_SETTINGS: dict[str, Any] = {"compression": "zlib", "complevel": 4, "shuffle": True}
"""With `compress=True`: for files made once and downloaded many times (the archive's stored
NetCDF), smaller matters more than the time to write."""
COMPRESS_FROM_BYTES: Final = 1 << 20
"""Below about this much array data, HDF5's chunk indexes outweigh what zlib saves (the small
samples grew by 7-26 %; a 1.4 MB merge file shrank to 0.69)."""


def worth_compressing(datafile: DataFile) -> bool:
    """Whether `compress=True` would likely make this file smaller."""
    return datafile.row_count * len(datafile.columns) * 8 >= COMPRESS_FROM_BYTES


_ROLE = {
    FeatureType.TRAJECTORY: ("trajectory", "trajectory_id"),
    FeatureType.TIME_SERIES: ("station", "timeseries_id"),
    FeatureType.PROFILE: ("profile", "profile_id"),
}
_AXIS = {"latitude": "Y", "longitude": "X"}


@dataclass
class _Plan:
    """Which variable plays which CF role, and the names they get in the file."""

    dim: str
    names: dict[int, str]
    roles: dict[int, str] = field(default_factory=dict)
    """Column index -> standard name, for the coordinate columns."""
    scalars: dict[str, tuple[str, float]] = field(default_factory=dict)
    """Fixed-site coordinates: variable name -> (standard name, value)."""
    taken: set[str] = field(default_factory=set)
    settings: dict[str, Any] = field(default_factory=lambda: dict(VARIABLE_SETTINGS))
    """`createVariable` keywords of every array variable (compression)."""
    pending: list[tuple[Any, Any]] = field(default_factory=list)
    """(variable, values) of the columns, written once every variable is defined: writing
    each as it is defined makes netCDF-C flush all metadata so far, quadratic in columns."""

    def unique(self, name: str) -> str:
        """`name` made NetCDF-safe and at most `MAX_NAME` long, then `_2`, `_3`... until it
        is free; then mark it taken (NetCDF refuses names past 256 bytes)."""
        name = safe_name(name)[:MAX_NAME]
        candidate, number = name, 1
        while candidate in self.taken:
            number += 1
            candidate = f"{name[: MAX_NAME - len(str(number)) - 1]}_{number}"
        self.taken.add(candidate)
        return candidate

    def coordinates(self) -> str:
        """The `coordinates` attribute of a data variable."""
        names = [self.names[0]]
        names += list(self.scalars)
        names += [self.names[i] for i in self.roles]
        return " ".join(names)


def write_netcdf(
    datafile: DataFile,
    stream: BinaryIO,
    *,
    attributes: Mapping[str, AttrValue] | None = None,
    compress: bool = False,
) -> None:
    """Write `datafile` as CF/ACDD NetCDF to a binary stream (via a temporary file);
    `attributes` and `compress` as in `write_netcdf_file`."""
    with tempfile.TemporaryDirectory(prefix="fieldcat-nc-") as tmp:
        path = Path(tmp) / "out.nc"
        write_netcdf_file(datafile, path, attributes=attributes, compress=compress)
        with path.open("rb") as fh:
            shutil.copyfileobj(fh, stream, 1 << 20)


def write_netcdf_file(
    datafile: DataFile,
    path: Path,
    *,
    attributes: Mapping[str, AttrValue] | None = None,
    now: datetime | None = None,
    compress: bool = False,
) -> None:
    """Write `datafile` as CF/ACDD NetCDF to `path`; `attributes` override global defaults
    (the archive center passes its publisher, license, naming authority, metadata link).
    `compress` deflates every array (zlib level 4 with shuffle): smaller, slower to write."""
    import netCDF4

    if datafile.row_count == 0:
        raise WriteError("a NetCDF file needs at least one data row")
    times = _seconds(datafile.time.values)
    steps = _sampled_steps(times[1])
    plan = _plan(datafile, strictly_increasing=_increasing(times[1]))
    if compress:
        plan.settings = dict(COMPRESSED_SETTINGS)
    # Every CF feature type needs a horizontal position (CF 9.1); without one the file is
    # written without featureType rather than as a false discrete sampling geometry.
    dsg = bool(plan.scalars) or {"latitude", "longitude"} <= set(plan.roles.values())
    attrs = global_attributes(
        datafile, now=now or datetime.now(UTC), resolution_s=_resolution(steps)
    )
    attrs.update(_horizontal_attributes(datafile, plan))
    attrs.update(_vertical_attributes(datafile, plan))
    if not dsg:
        del attrs["featureType"]
    attrs.update(attributes or {})
    with HDF5_LOCK:
        try:
            ds = netCDF4.Dataset(str(path), "w", format=FILE_FORMAT)
        except OSError as err:
            raise WriteError(f"cannot create the NetCDF file: {err}") from err
        try:
            _write_dataset(ds, datafile, plan, attrs, times, dsg=dsg)
        finally:
            ds.close()


def _write_dataset(
    ds: Any,
    datafile: DataFile,
    plan: _Plan,
    attrs: Mapping[str, AttrValue],
    times: tuple[str, Any],
    *,
    dsg: bool,
) -> None:
    """Fill an open dataset (the caller holds `HDF5_LOCK`)."""
    # Attributes go in before the arrays: HDF5 then need not move object headers
    # that large datasets already follow.
    ds.setncatts(attrs)
    ds.createDimension(plan.dim, datafile.row_count)
    _write_time(ds, datafile.time, plan, times)
    if dsg:
        _write_feature_id(ds, datafile, plan)
    _write_scalars(ds, plan)
    for index, column in enumerate(datafile.columns[1:], start=1):
        if column.kind is ColumnKind.STRING:
            _write_strings(ds, column, plan.names[index], plan)
        else:
            _write_numbers(ds, column, index, plan)
    for var, values in plan.pending:
        var[:] = values


_BLOCK = 1 << 20
"""Rows per block of the time computations: no temporary array of the whole column."""


def _seconds(values: npt.NDArray[Any]) -> tuple[str, npt.NDArray[np.float64]]:
    """Time as (units, float64 seconds since midnight of the first day); computed a block
    at a time so that the only new array is the result."""
    import numpy as np

    stamps = values.astype("datetime64[ns]", copy=False)
    base = stamps[0].astype("datetime64[D]")
    base_ns = base.astype("datetime64[ns]").astype(np.int64)
    ints = stamps.view(np.int64)
    seconds = np.empty(len(ints), dtype=np.float64)
    for first in range(0, len(ints), _BLOCK):
        block = slice(first, first + _BLOCK)
        seconds[block] = (ints[block] - base_ns) / np.float64(1e9)
    units = f"seconds since {np.datetime_as_string(base)} 00:00:00"
    return units, seconds


def _increasing(seconds: npt.NDArray[np.float64]) -> bool:
    """Whether every time is after the one before (block by block)."""
    for first in range(0, max(0, len(seconds) - 1), _BLOCK):
        part = seconds[first : first + _BLOCK + 1]
        if not bool((part[1:] > part[:-1]).all()):
            return False
    return True


def _sampled_steps(seconds: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """At most ~10,000 time steps spread over the file (every k-th of `np.diff`)."""
    import numpy as np

    count = len(seconds) - 1
    if count <= 0:
        return np.empty(0, dtype=np.float64)
    index = np.arange(0, count, max(1, count // 10_000))
    steps: npt.NDArray[np.float64] = seconds[index + 1] - seconds[index]
    return steps


def _resolution(steps: npt.NDArray[np.float64]) -> float | None:
    """The typical time step: the median of the sampled steps."""
    import numpy as np

    if len(steps) == 0:
        return None
    return float(np.median(steps))


def _plan(datafile: DataFile, *, strictly_increasing: bool) -> _Plan:
    """Decide dimension and variable names and the coordinate roles of the columns."""
    dim = "time" if strictly_increasing else "obs"
    plan = _Plan(dim=dim, names={}, taken={dim})
    plan.names[0] = "time" if dim == "time" else plan.unique("time")
    if dim == "time":
        plan.taken.add("time")
    for index, column in enumerate(datafile.columns[1:], start=1):
        plan.names[index] = plan.unique(column.name)
    found: dict[str, int] = {}
    for index, column in enumerate(datafile.columns[1:], start=1):
        if column.kind is ColumnKind.NUMBER:
            std = standard_name_for(column.name, column.unit)
            if std in ("latitude", "longitude", "altitude", "air_pressure") and std not in found:
                found[std] = index
    for std in ("latitude", "longitude"):
        if std in found:
            plan.roles[found[std]] = std
    vertical = found.get("altitude", found.get("air_pressure"))
    if datafile.feature_type is FeatureType.PROFILE and "altitude" not in found:
        vertical = found.get("air_pressure")
    if vertical is not None and (
        datafile.feature_type is not FeatureType.TIME_SERIES or "altitude" in found
    ):
        plan.roles[vertical] = (
            standard_name_for(datafile.columns[vertical].name, datafile.columns[vertical].unit)
            or "altitude"
        )
    header = datafile.header
    if "latitude" not in found and header.latitude is not None and header.longitude is not None:
        plan.scalars[plan.unique("lat")] = ("latitude", float(header.latitude))
        plan.scalars[plan.unique("lon")] = ("longitude", float(header.longitude))
        has_vertical = any(role not in _AXIS for role in plan.roles.values())
        if header.altitude is not None and not has_vertical:
            plan.scalars[plan.unique("alt")] = ("altitude", float(header.altitude))
    return plan


def _has_nan(values: npt.NDArray[np.float64]) -> bool:
    """True when any value is NaN (a sum propagates NaN and costs no temporary array)."""
    import numpy as np

    return bool(np.isnan(np.add.reduce(values, dtype=np.float64))) if len(values) else False


def _range(values: npt.NDArray[np.float64]) -> tuple[float | None, float | None]:
    """Minimum and maximum ignoring NaN (fmin/fmax skip it without a copy); None if all NaN."""
    import numpy as np

    if len(values) == 0:
        return None, None
    low, high = float(np.fmin.reduce(values)), float(np.fmax.reduce(values))
    if low != low:  # NaN: every value is missing
        return None, None
    return low, high


def _write_time(ds: Any, column: Column, plan: _Plan, times: tuple[str, Any]) -> None:
    units, seconds = times
    var = ds.createVariable(plan.names[0], "f8", (plan.dim,), fill_value=False, **plan.settings)
    var.setncatts(
        {
            "standard_name": "time",
            "long_name": "time",
            "units": units,
            "calendar": "standard",
            "axis": "T",
            "original_name": column.original_name,
            "original_units": column.original_unit,
        }
    )
    var[:] = seconds


def _write_feature_id(ds: Any, datafile: DataFile, plan: _Plan) -> None:
    import numpy as np

    name, role = _ROLE[datafile.feature_type]
    text = feature_id(datafile).encode("utf-8")
    var_name = plan.unique(name)
    ds.createDimension(plan.unique(f"{var_name}_strlen"), len(text))
    var = ds.createVariable(var_name, "S1", (f"{var_name}_strlen",))
    var.setncatts({"cf_role": role, "long_name": f"{name} identifier"})
    var[:] = np.frombuffer(text, dtype="S1")


def _write_scalars(ds: Any, plan: _Plan) -> None:
    for name, (std, value) in plan.scalars.items():
        var = ds.createVariable(name, "f8", ())
        units = {"latitude": "degrees_north", "longitude": "degrees_east"}.get(std, "m")
        var.setncatts({"standard_name": std, "long_name": std, "units": units})
        if std in _AXIS:
            var.axis = _AXIS[std]
        else:
            var.positive = "up"
            var.axis = "Z"
        var[...] = value


def _write_flags(ds: Any, column: Column, name: str, plan: _Plan) -> None:
    """A QARTOD flag column (`formats.flag_columns`) as a CF ancillary flag variable."""
    import numpy as np

    var = ds.createVariable(name, "u1", (plan.dim,), fill_value=False, **plan.settings)
    attrs: dict[str, Any] = dict(column.attributes)
    attrs["flag_values"] = np.array(attrs["flag_values"].split(), dtype=np.uint8)
    var.setncatts(attrs)
    plan.pending.append((var, np.nan_to_num(column.values, nan=9).astype(np.uint8)))


def _write_numbers(ds: Any, column: Column, index: int, plan: _Plan) -> None:
    import numpy as np

    name = plan.names[index]
    if "flag_meanings" in column.attributes:
        _write_flags(ds, column, name, plan)
        return
    values = column.values
    role = plan.roles.get(index)
    # Data columns always declare a NaN fill; a coordinate only when it has gaps (CF wants
    # coordinates without missing values, so the scan is needed for those alone).
    fill: Any = np.nan if (role is None or _has_nan(values)) else False
    var = ds.createVariable(name, "f8", (plan.dim,), fill_value=fill, **plan.settings)
    attrs: dict[str, Any] = {
        "long_name": column.original_name,
        "original_name": column.original_name,
    }
    std = role or standard_name_for(column.name, column.unit)
    if std is not None:
        attrs["standard_name"] = std
    if column.unit is not None:
        attrs["units"] = column.unit
    attrs["original_units"] = column.original_unit
    if role in _AXIS:
        attrs["axis"] = _AXIS[role]
    elif role is not None:
        attrs["axis"] = "Z"
        attrs["positive"] = VERTICAL_POSITIVE.get(role, "up")
    else:
        if std in VERTICAL_POSITIVE:
            attrs["positive"] = VERTICAL_POSITIVE[std]
        attrs["coordinates"] = plan.coordinates()
        attrs["coverage_content_type"] = "physicalMeasurement"
    qc = column.quality
    if qc is not None and bool(np.any(qc)):
        attrs["ancillary_variables"] = _write_quality(ds, column, name, plan)
    flags_of = column.attributes.get("ancillary_variables")
    if flags_of is not None:  # a QARTOD flag column follows (`formats.flag_columns`)
        attrs["ancillary_variables"] = " ".join(
            n for n in (attrs.get("ancillary_variables"), flags_of) if n
        )
    attrs.update({k: v for k, v in column.attributes.items() if k not in attrs})
    var.setncatts(attrs)
    plan.pending.append((var, values))


def _write_quality(ds: Any, column: Column, data_name: str, plan: _Plan) -> str:
    import numpy as np

    name = plan.unique(f"{data_name}_qc")
    var = ds.createVariable(name, "i1", (plan.dim,), fill_value=False, **plan.settings)
    var.setncatts(
        {
            "long_name": f"quality flag of {column.original_name}",
            "standard_name": "quality_flag",
            "flag_values": np.array([int(q) for q in Quality], dtype=np.int8),
            "flag_meanings": QUALITY_MEANINGS,
            "coverage_content_type": "qualityInformation",
        }
    )
    plan.pending.append((var, column.quality))
    return name


def _write_strings(ds: Any, column: Column, name: str, plan: _Plan) -> None:
    import numpy as np

    dim = plan.dim
    texts = np.asarray(["" if v is None else str(v) for v in column.values], dtype=str)
    encoded = np.strings.encode(texts, "utf-8")
    width = max(1, encoded.dtype.itemsize)
    strlen = f"{name}_strlen"
    ds.createDimension(strlen, width)
    var = ds.createVariable(name, "S1", (dim, strlen), **plan.settings)
    var.setncatts(
        {
            "long_name": column.original_name,
            "original_name": column.original_name,
            "original_units": column.original_unit,
            "coverage_content_type": "auxiliaryInformation",
        }
    )
    plan.pending.append((var, encoded.astype(f"S{width}").view("S1").reshape(len(texts), width)))
    var.setncattr("_Encoding", "utf-8")


def _horizontal_attributes(datafile: DataFile, plan: _Plan) -> dict[str, AttrValue]:
    """Latitude and longitude bounds as the position columns hold them (the checker compares
    them with the data), except for a track across 180 degrees, where the extent's west > east
    says more than the minimum and maximum do."""

    extent = datafile.extent
    if extent.west is not None and extent.east is not None and extent.west > extent.east:
        return {}
    bounds: dict[str, tuple[float, float]] = {}
    for index, role in plan.roles.items():
        values = datafile.columns[index].values
        low, high = _range(values)
        if role in _AXIS and low is not None and high is not None:
            bounds[role] = (low, high)
    if len(bounds) != 2:
        return {}
    (s, n), (w, e) = bounds["latitude"], bounds["longitude"]
    return {
        "geospatial_lat_min": s,
        "geospatial_lat_max": n,
        "geospatial_lon_min": w,
        "geospatial_lon_max": e,
        "geospatial_bounds": f"POLYGON (({s} {w}, {n} {w}, {n} {e}, {s} {e}, {s} {w}))",
    }


def _vertical_attributes(datafile: DataFile, plan: _Plan) -> dict[str, AttrValue]:

    for index, role in plan.roles.items():
        if role in _AXIS:
            continue
        values = datafile.columns[index].values
        low, high = _range(values)
        if low is None or high is None:
            return {}
        unit = datafile.columns[index].unit or ""
        attrs: dict[str, AttrValue] = {
            "geospatial_vertical_min": low,
            "geospatial_vertical_max": high,
            "geospatial_vertical_units": unit,
            "geospatial_vertical_positive": VERTICAL_POSITIVE.get(role, "up"),
            "geospatial_vertical_resolution": "irregular",
        }
        if role == "altitude":
            attrs["geospatial_bounds_vertical_crs"] = "EPSG:5829"
        return attrs
    for _name, (std, value) in plan.scalars.items():
        if std == "altitude":
            return {
                "geospatial_vertical_min": value,
                "geospatial_vertical_max": value,
                "geospatial_vertical_units": "m",
                "geospatial_vertical_positive": "up",
                "geospatial_vertical_resolution": "point",
                "geospatial_bounds_vertical_crs": "EPSG:5829",
            }
    return {}
