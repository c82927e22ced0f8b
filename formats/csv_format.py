"""CSV writer: a `#`-commented metadata block, ISO 8601 UTC times, the same values.

Layout (one choice, documented here and in the block itself):
- Lines starting with `# ` hold the metadata: every header keyword, the feature type, the
  extent, and one `# column:` line per column with its original name and units.
- Then one line of column names (the NetCDF-safe names; the time column is `time`).
- Times are ISO 8601 UTC (`1999-02-01T00:00:00Z`, fractional seconds as written).
- Numbers keep their written precision. A missing or bad value is an empty cell.
- Every numeric column with any flagged value gets a `<name>_qc` column right after it:
  0 good, 1 missing, 2 bad, 3 below detection limit, 4 above detection limit.
Read it back with `pandas.read_csv(path, comment="#")`.
"""

from __future__ import annotations

import csv
import io
import logging
from typing import TYPE_CHECKING, Any, BinaryIO

from formats.model import QUALITY_MEANINGS, Column, ColumnKind, DataFile, Quality

if TYPE_CHECKING:
    import numpy.typing as npt

logger = logging.getLogger(__name__)

QC_SUFFIX = "_qc"
_CHUNK = 50_000


def iso_times(times: npt.NDArray[Any], decimals: int) -> list[str]:
    """ISO 8601 UTC text (`...Z`) for `datetime64[ns]` values, with `decimals` fraction digits."""
    import numpy as np

    if decimals > 0:
        text = np.datetime_as_string(times, unit="ns")
        keep = 20 + min(decimals, 9)
        return [t[:keep] + "Z" for t in text.tolist()]
    return [t + "Z" for t in np.datetime_as_string(times, unit="s").tolist()]


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


def _value_texts(col: Column) -> list[str]:
    import numpy as np

    if col.kind is ColumnKind.STRING:
        return ["" if v is None else str(v) for v in col.values.tolist()]
    values = np.asarray(col.values, dtype=np.float64)
    if col.decimals is not None:
        texts: list[str] = np.char.mod(f"%.{col.decimals}f", values).tolist()
    else:
        texts = [repr(v) for v in values.tolist()]
    for i in np.flatnonzero(~np.isfinite(values)).tolist():
        texts[i] = ""
    return texts


def _needs_qc(col: Column) -> bool:
    return col.kind is ColumnKind.NUMBER and col.quality is not None and bool(col.quality.any())


def write_csv(datafile: DataFile, stream: BinaryIO) -> None:
    """Write `datafile` as CSV with a commented metadata block to a binary stream."""
    names = [col.name for col in datafile.columns]
    taken = set(names)
    out_names: list[str] = []
    columns: list[list[str]] = []
    for col, name in zip(datafile.columns, names, strict=True):
        out_names.append(name)
        if col is datafile.time:
            columns.append(iso_times(col.values, col.decimals or 0))
            continue
        columns.append(_value_texts(col))
        if _needs_qc(col):
            qc_name = name + QC_SUFFIX
            while qc_name in taken:
                qc_name += "_"
            taken.add(qc_name)
            out_names.append(qc_name)
            assert col.quality is not None
            columns.append([str(q) for q in col.quality.tolist()])
    text = io.StringIO()
    text.write("\n".join(_metadata(datafile, names)) + "\n")
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(out_names)
    stream.write(text.getvalue().encode("utf-8"))
    for first in range(0, datafile.row_count, _CHUNK):
        text = io.StringIO()
        writer = csv.writer(text, lineterminator="\n")
        writer.writerows(zip(*(c[first : first + _CHUNK] for c in columns), strict=True))
        stream.write(text.getvalue().encode("utf-8"))
