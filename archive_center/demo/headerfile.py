"""Render synthetic columns as a campaign header-format file (shared/FORMAT.md)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

TimeStyle = Literal["iso", "yyyymmddhhmmss", "mmddhhmmss"]


@dataclass
class SynthColumn:
    """One numeric column: values (NaN nowhere), decimals, and where sentinels go."""

    name: str
    unit: str
    values: npt.NDArray[np.float64]
    decimals: int
    missing: npt.NDArray[np.bool_] | None = None
    bad: npt.NDArray[np.bool_] | None = None


@dataclass
class SynthFile:
    """Everything a header-format file says: keywords, columns, rows."""

    did: int
    pi_name: str
    platform: str
    instrument: str
    location: str
    times: list[datetime]
    columns: list[SynthColumn]
    time_style: TimeStyle = "yyyymmddhhmmss"
    data_version: str = "1.0"
    remarks: list[str] = field(default_factory=list)
    extra: dict[str, str] = field(default_factory=dict)
    missing_value: float = -9999.0
    bad_value: float = -8888.0

    @property
    def start(self) -> datetime:
        """First row time."""
        return self.times[0]

    @property
    def stop(self) -> datetime:
        """Last row time."""
        return self.times[-1]


def format_time(moment: datetime, style: TimeStyle) -> str:
    """One time token in the given style (UTC)."""
    moment = moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
    if style == "iso":
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    if style == "yyyymmddhhmmss":
        return moment.strftime("%Y%m%d%H%M%S")
    return moment.strftime("%m%d%H%M%S") + f".{moment.microsecond // 100000}"


def _number(value: float) -> str:
    """A sentinel written without a spurious fraction (`-9999`, `99.9`)."""
    return f"{value:g}"


def _column_tokens(col: SynthColumn, missing: float, bad: float) -> list[str]:
    tokens = [f"{v:.{col.decimals}f}" for v in np.asarray(col.values, dtype=np.float64)]
    for mask, sentinel in ((col.missing, missing), (col.bad, bad)):
        if mask is not None:
            for i in np.flatnonzero(mask):
                tokens[int(i)] = _number(sentinel)
    return tokens


def render(synth: SynthFile) -> bytes:
    """The file's bytes: header, marker, names, units, rows (UTF-8, LF line ends)."""
    style = synth.time_style
    lines = [
        f"DID = {synth.did}",
        f"FILE START TIME (UTC) = {format_time(synth.start, style)}",
        f"FILE STOP TIME (UTC) = {format_time(synth.stop, style)}",
        f"PI NAME = {synth.pi_name}",
        f"PLATFORM = {synth.platform}",
        f"INSTRUMENT = {synth.instrument}",
        f"LOCATION = {synth.location}",
        f"DATA VERSION = {synth.data_version}",
    ]
    lines += [f"{key} = {value}" for key, value in synth.extra.items()]
    lines += [f"REMARKS = {remark}" for remark in synth.remarks]
    lines.append(
        f"REMARKS = Missing data = {_number(synth.missing_value)}; "
        f"Bad data = {_number(synth.bad_value)}"
    )
    lines.append("##END OF HEADER##")
    lines.append(" ".join(["DATE/TIME"] + [c.name for c in synth.columns]))
    lines.append(" ".join(["UTC"] + [c.unit for c in synth.columns]))
    table: list[Any] = [[format_time(t, style) for t in synth.times]]
    table += [_column_tokens(c, synth.missing_value, synth.bad_value) for c in synth.columns]
    lines += [" ".join(row) for row in zip(*table, strict=True)]
    return ("\n".join(lines) + "\n").encode("utf-8")
