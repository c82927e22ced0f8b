"""The one in-memory model of a field data file, shared by every reader and writer.

A reader turns bytes into a `DataFile`; a writer turns a `DataFile` into bytes. Values are
kept as NumPy arrays, one per column, so a million-row file costs a few arrays, not a
million Python objects. Nothing here imports pandas or netCDF4.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt


class FeatureType(enum.StrEnum):
    """CF discrete-sampling-geometry feature type of a file."""

    TRAJECTORY = "trajectory"
    TIME_SERIES = "timeSeries"
    PROFILE = "profile"


class ColumnKind(enum.StrEnum):
    """How a column's values are held."""

    NUMBER = "number"
    STRING = "string"


class Quality(enum.IntEnum):
    """Per-value quality flag, kept beside a numeric column so no sentinel the PI wrote is lost.

    The values are written to NetCDF as `flag_values` with matching `flag_meanings`.
    """

    GOOD = 0
    MISSING = 1
    BAD = 2
    BELOW_DETECTION = 3
    ABOVE_DETECTION = 4


QUALITY_MEANINGS = "good missing bad below_detection_limit above_detection_limit"


@dataclass
class Column:
    """One named column of a data file (the time column included)."""

    original_name: str
    name: str
    """Safe name for NetCDF: `[A-Za-z0-9_]`, the time column is `time`."""
    original_unit: str
    unit: str | None
    """Canonical UDUNITS/CF unit, or None where the original unit is unknown."""
    kind: ColumnKind
    values: npt.NDArray[Any]
    """float64 for numbers (NaN where missing or bad), object/str for strings,
    `datetime64[ns]` (UTC) for the time column."""
    quality: npt.NDArray[np.int8] | None = None
    """`Quality` codes, or None when every value is good."""
    decimals: int | None = None
    """Most decimals written in the source, so a writer keeps the written precision."""
    attributes: dict[str, str] = field(default_factory=dict)

    @property
    def long_name(self) -> str:
        """What the file says the column is: its `long_name` (NetCDF, NASA Ames) or, in
        ICARTT, the descriptor after the unit (kept as `comment`); at most 400 characters."""
        text = self.attributes.get("long_name") or self.attributes.get("comment") or ""
        return " ".join(str(text).split())[:400]


@dataclass
class Extent:
    """Time and spatial extent of a file (UTC; degrees north and east)."""

    start: datetime | None = None
    stop: datetime | None = None
    south: float | None = None
    north: float | None = None
    west: float | None = None
    east: float | None = None
    min_altitude: float | None = None
    max_altitude: float | None = None


@dataclass
class Header:
    """Header metadata of a campaign-format file (and what other formats map onto it)."""

    did: int | None = None
    start: datetime | None = None
    stop: datetime | None = None
    pi_name: str = ""
    platform: str = ""
    instrument: str = ""
    location: str = ""
    data_version: str = ""
    remarks: list[str] = field(default_factory=list)
    project: str | None = None
    category: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    altitude: float | None = None
    missing_value: float | None = None
    bad_value: float | None = None
    extra: dict[str, str] = field(default_factory=dict)
    """Unknown keys, kept verbatim as extra attributes."""


@dataclass
class DataFile:
    """A parsed data file: header, columns (the first is time) and derived facts."""

    header: Header
    columns: list[Column]
    source_format: str
    """Registry name of the format it was read from (`header`, `icartt`, `nasa_ames`...)."""
    feature_type: FeatureType
    extent: Extent
    original_header: str = ""
    """The header text exactly as written, kept in the NetCDF attributes."""
    bounded: list[str] = field(default_factory=list)
    """Safe names of the bounded independent variables of a multi-dimensional file (NASA
    Ames FFI 2010-4010, ICARTT 2110/2310), X(1) (fastest varying) first; empty for a table.
    Such a file is held as one row per grid point, in file order: each independent variable
    is a column, so every row says where it is. Writers that cannot hold a second dimension
    refuse such a file rather than flatten it."""
    source_name: str = ""
    """Name of the file it was read from (no directory), for the NetCDF history."""
    source_sha256: str = ""
    """SHA-256 of the bytes it was read from, for the NetCDF history."""

    @property
    def time(self) -> Column:
        """The time column."""
        return self.columns[0]

    @property
    def data_columns(self) -> list[Column]:
        """Every column but time."""
        return self.columns[1:]

    @property
    def row_count(self) -> int:
        """Number of data rows."""
        return len(self.columns[0].values)

    def column(self, name: str) -> Column:
        """A column by its safe or original name (KeyError when absent)."""
        for col in self.columns:
            if name in (col.name, col.original_name):
                return col
        raise KeyError(name)


class Severity(enum.StrEnum):
    """How bad a finding is: errors reject the file, warnings do not."""

    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class Diagnostic:
    """One finding about a file: `path:line:col: severity CODE: message`.

    Line 0 means the whole file. Repeats of one code are grouped by the reporter, which
    fills `last_line` and `count`.
    """

    code: str
    severity: Severity
    message: str
    line: int = 0
    col: int = 0
    last_line: int | None = None
    count: int = 1

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form with the same fields as the text form."""
        return {
            "line": self.line,
            "col": self.col,
            "severity": self.severity.value,
            "code": self.code,
            "message": self.message,
            "last_line": self.last_line,
            "count": self.count,
        }


class FormatError(Exception):
    """Base of every error the formats package raises."""


class UnknownFormatError(FormatError):
    """No registered reader recognises the content."""


class UnsupportedFormatError(FormatError):
    """The content is recognised but this variant is not supported (e.g. an ICARTT FFI)."""


class InvalidFileError(FormatError):
    """The file was read but has errors; `diagnostics` says which and where."""

    def __init__(self, message: str, diagnostics: list[Diagnostic]) -> None:
        super().__init__(message)
        self.diagnostics = diagnostics

    def __reduce__(self) -> tuple[Any, ...]:  # picklable, so it crosses a process pool
        return (type(self), (str(self), self.diagnostics))


class WriteError(FormatError):
    """A writer could not represent the file in its format."""
