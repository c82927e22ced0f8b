"""A merge file: chosen variables of several files on one time base (see `formats.timebase`).

Each merged column is named `<label>_<variable>` and carries its provenance (`source`: the
input, its version and the variable; `cell_methods`-like `merge_rule`); the header's remarks
list every input. Positions of the first input that has them come first when asked for.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np

from formats.model import Column, ColumnKind, DataFile, Extent, FeatureType, Header
from formats.navmerge import seconds
from formats.timebase import Floats, Rule, on_base


@dataclass(frozen=True)
class MergeInput:
    """One input file, how it is labelled, what it is (for provenance), which variables."""

    label: str
    provenance: str
    datafile: DataFile
    variables: tuple[str, ...]


def _rule_text(rule: Rule, window_s: float) -> str:
    if rule == "mean":
        return f"mean of the samples in [t, t + {window_s:g} s)"
    return f"nearest sample within +-{window_s / 2:g} s"


def merge_columns(
    base: Floats, inputs: list[MergeInput], rule: Rule, window_s: float
) -> list[Column]:
    """The merged columns (time first) on the base times (seconds since 1970)."""
    time_values = (base * 1e9).astype("int64").astype("datetime64[ns]")
    columns = [Column("time", "time", "UTC", None, ColumnKind.NUMBER, time_values)]
    method = _rule_text(rule, window_s)
    for item in inputs:
        times = seconds(item.datafile.time.values)
        for name in item.variables:
            source = item.datafile.column(name)
            values = on_base(base, times, source.values.astype(np.float64), rule, window_s)
            merged = f"{item.label}_{source.name}"
            attributes = {
                "source": f"{item.provenance}; variable {source.original_name}",
                "merge_rule": method,
                "ancillary_input": item.label,
            }
            columns.append(
                Column(
                    original_name=merged,
                    name=merged,
                    original_unit=source.original_unit,
                    unit=source.unit,
                    kind=ColumnKind.NUMBER,
                    values=values,
                    attributes=attributes,
                )
            )
    return columns


def merge_file(
    header: Header, base: Floats, inputs: list[MergeInput], rule: Rule, window_s: float
) -> DataFile:
    """The merge as a data file (a trajectory); remarks name every input."""
    from formats.extent import compute_extent

    columns = merge_columns(base, inputs, rule, window_s)
    header.remarks = [
        *header.remarks,
        f"Merge rule: {_rule_text(rule, window_s)}",
        *(f"Input {item.label}: {item.provenance}" for item in inputs),
    ]
    if len(base):
        header.start = datetime.fromtimestamp(float(base[0]), UTC)
        header.stop = datetime.fromtimestamp(float(base[-1]), UTC)
    datafile = DataFile(header, columns, "icartt", FeatureType.TRAJECTORY, Extent())
    datafile.extent = compute_extent(datafile)
    return datafile
