"""QARTOD flag columns beside data columns, for exports that carry QC flags.

Each flagged variable `X` gets a column `X_qartod` right after it (1 good, 2 not evaluated,
3 suspect, 4 bad, 9 missing): CSV and ICARTT write it as one more column; the NetCDF
writer sees its `flag_meanings` and writes it as a CF ancillary flag variable (byte values,
`flag_values`, `flag_meanings`), named in the data variable's `ancillary_variables`.
`mask` also blanks (NaN) the values flagged suspect or bad; `drop` also removes the rows in
which any flagged variable is suspect or bad.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Literal

from formats.model import Column, ColumnKind, DataFile

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

FlagMode = Literal["flags", "mask", "drop"]
FLAG_MODES: tuple[str, ...] = ("flags", "mask", "drop")
GOOD, UNKNOWN, SUSPECT, FAIL, MISSING = 1, 2, 3, 4, 9
FLAG_VALUES = (GOOD, UNKNOWN, SUSPECT, FAIL, MISSING)
"""QARTOD's flags: 1 good, 2 not evaluated, 3 suspect, 4 bad, 9 missing."""
FLAG_MEANINGS = "good not_evaluated suspect bad missing"
SUFFIX = "_qartod"
REJECTED = (SUSPECT, FAIL)


def flag_column_name(column: Column) -> str:
    """The name of a data column's QARTOD flag column."""
    return f"{column.name}{SUFFIX}"


def _flag_column(column: Column, flags: npt.NDArray[np.uint8]) -> Column:
    return Column(
        original_name=f"{column.original_name}{SUFFIX}", name=flag_column_name(column),
        original_unit="1", unit="1", kind=ColumnKind.NUMBER, values=flags.astype("float64"),
        decimals=0,
        attributes={
            "long_name": f"QARTOD aggregate flag of {column.original_name}",
            "standard_name": "aggregate_quality_flag",
            "flag_values": " ".join(map(str, FLAG_VALUES)), "flag_meanings": FLAG_MEANINGS,
            "coverage_content_type": "qualityInformation",
        },
    )  # fmt: skip


def with_flags(
    datafile: DataFile, flags: Mapping[str, npt.NDArray[np.uint8]], mode: FlagMode
) -> DataFile:
    """`datafile` with a flag column after each column named in `flags` (by safe name),
    masked or with rows dropped as `mode` says."""
    import numpy as np

    columns: list[Column] = [datafile.time]
    rejected = np.zeros(datafile.row_count, dtype=bool)
    for column in datafile.data_columns:
        found = flags.get(column.name)
        if found is None or len(found) != datafile.row_count:
            columns.append(column)
            continue
        bad = np.isin(found, REJECTED)
        rejected |= bad
        values = column.values
        if mode == "mask":
            values = np.where(bad, np.nan, values)
        linked = {**column.attributes, "ancillary_variables": flag_column_name(column)}
        columns += [replace(column, values=values, attributes=linked), _flag_column(column, found)]
    out = replace(datafile, columns=columns)
    if mode != "drop" or not rejected.any():
        return out
    return _keep_rows(out, ~rejected)


def _keep_rows(datafile: DataFile, keep: npt.NDArray[np.bool_]) -> DataFile:
    columns = [
        replace(
            col,
            values=col.values[keep],
            quality=None if col.quality is None else col.quality[keep],
        )
        for col in datafile.columns
    ]
    return replace(datafile, columns=columns)
