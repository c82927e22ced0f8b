"""CSV writer: a `#`-commented metadata block, ISO 8601 UTC times, the same values.

Layout (one choice, documented here and in the block itself):
- Lines starting with `# ` hold the metadata: every header keyword, the feature type, the
  extent, and one `# column:` line per column with its original name and units.
- Then one line of column names (the NetCDF-safe names; the time column is `time`).
- Times are ISO 8601 UTC (`1999-02-01T00:00:00Z`, fractional seconds as written).
- Numbers keep their written precision (the shortest exact text where the source gave
  none, as NASA Ames and ICARTT do). A missing or bad value is an empty cell.
- Every numeric column with any flagged value gets a `<name>_qc` column right after it:
  0 good, 1 missing, 2 bad, 3 below detection limit, 4 above detection limit.
Read it back with `pandas.read_csv(path, comment="#")`.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, BinaryIO

from formats.model import QUALITY_MEANINGS, Column, ColumnKind, DataFile, Quality
from formats.names import unique_names
from formats.text_columns import (
    Builder,
    number_builder,
    text_builder,
    time_matrix,
    write_columns,
)
from formats.text_rows import format_one, time_decimals, time_spec

if TYPE_CHECKING:
    import numpy.typing as npt

logger = logging.getLogger(__name__)

QC_SUFFIX = "_qc"


def iso_times(times: npt.NDArray[Any], decimals: int) -> list[str]:
    """ISO 8601 UTC text (`...Z`) for `datetime64[ns]` values, with `decimals` fraction digits."""
    spec = time_spec(times, decimals, iso=True)
    return [format_one(spec, i) for i in range(len(times))]


def _iso(value: Any) -> str:
    return "" if value is None else value.strftime("%Y-%m-%dT%H:%M:%SZ")


def _metadata(datafile: DataFile, names: list[str]) -> list[str]:
    header, extent = datafile.header, datafile.extent
    pairs: list[tuple[str, Any]] = [
        ("DID", header.did),
        ("FILE START TIME (UTC)", _iso(header.start)),
        ("FILE STOP TIME (UTC)", _iso(header.stop)),
        ("PI NAME", header.pi_name),
        ("PLATFORM", header.platform),
        ("INSTRUMENT", header.instrument),
        ("LOCATION", header.location),
        ("DATA VERSION", header.data_version),
        ("PROJECT", header.project),
        ("CATEGORY", header.category),
        ("LATITUDE", header.latitude),
        ("LONGITUDE", header.longitude),
        ("ALTITUDE", header.altitude),
        ("MISSING DATA", header.missing_value),
        ("BAD DATA", header.bad_value),
    ]
    pairs.extend(header.extra.items())
    pairs.extend(("REMARKS", remark) for remark in header.remarks)
    pairs += [
        ("source_format", datafile.source_format),
        ("feature_type", datafile.feature_type.value),
        ("time_coverage", f"{_iso(extent.start)}/{_iso(extent.stop)}"),
    ]
    if extent.south is not None:
        box = f"{extent.west},{extent.south},{extent.east},{extent.north}"
        pairs.append(("bbox (W,S,E,N)", box))
    lines = [
        "# FieldCat CSV export",
        *(f"# {k}: {_one_line(v)}" for k, v in pairs if v is not None),
    ]
    lines.append("# empty cell: missing or flagged value; <name>_qc: " + _flag_legend())
    for col, name in zip(datafile.columns, names, strict=False):
        unit = "UTC (ISO 8601)" if col is datafile.time else (col.unit or "")
        lines.append(
            f"# column: {name}; original_name: {_one_line(col.original_name)}; "
            f"units: {_one_line(unit)}; original_units: {_one_line(col.original_unit)}"
        )
    return lines


def _one_line(value: Any) -> str:
    return " ".join(str(value).split())


def _flag_legend() -> str:
    return ", ".join(
        f"{int(q)} {m}" for q, m in zip(Quality, QUALITY_MEANINGS.split(), strict=True)
    )


def _quoted(text: str) -> str:
    if any(c in text for c in ',"\n\r'):
        return '"' + text.replace('"', '""') + '"'
    return text


def _time_builder(times: npt.NDArray[Any], decimals: int) -> Builder:
    return lambda first, last: time_matrix(times[first:last], decimals)


def _value_builder(col: Column) -> Builder:
    if col.kind is ColumnKind.STRING:
        return text_builder([_quoted("" if v is None else str(v)) for v in col.values.tolist()])
    return number_builder(col.values, col.decimals, lambda _i: "")


def _needs_qc(col: Column) -> bool:
    return col.kind is ColumnKind.NUMBER and col.quality is not None and bool(col.quality.any())


def write_csv(datafile: DataFile, stream: BinaryIO) -> None:
    """Write `datafile` as CSV with a commented metadata block to a binary stream."""
    names = unique_names([col.name for col in datafile.columns])
    taken = {n.lower() for n in names}
    out_names: list[str] = []
    builders: list[Builder] = []
    for col, name in zip(datafile.columns, names, strict=True):
        out_names.append(name)
        if col is datafile.time:
            decimals = time_decimals(col.values, col.decimals)
            builders.append(_time_builder(col.values, decimals))
            continue
        builders.append(_value_builder(col))
        if _needs_qc(col):
            qc_name = name + QC_SUFFIX
            while qc_name.lower() in taken:
                qc_name += "_"
            taken.add(qc_name.lower())
            out_names.append(qc_name)
            assert col.quality is not None
            builders.append(number_builder(col.quality.astype("float64"), 0, lambda _i: ""))
    head = "\n".join(_metadata(datafile, names)) + "\n"
    head += ",".join(_quoted(n) for n in out_names) + "\n"
    stream.write(head.encode("utf-8"))
    write_columns(stream, builders, ",", datafile.row_count)
