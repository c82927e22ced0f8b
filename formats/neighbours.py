"""What the readers of the neighbouring formats (ICARTT, NASA Ames) share: text decoding,
position columns and the extent they give."""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from formats.cf_attributes import position_kind, standard_name_for
from formats.model import Column, ColumnKind, Diagnostic, Extent, FeatureType, Severity
from formats.units import canonical_unit

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

logger = logging.getLogger(__name__)

_DEGREES = frozenset({"degree", "degrees_north", "degrees_east"})
_TO_METRES = {"m": 1.0, "km": 1000.0, "ft": 0.3048}


def decode_text(data: bytes) -> tuple[str | None, list[Diagnostic]]:
    """UTF-8 text of a file (BOM dropped with a warning), or None with the error."""
    findings: list[Diagnostic] = []
    if not data.strip():
        return None, [Diagnostic("TXT001", Severity.ERROR, "the file is empty")]
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
        findings.append(Diagnostic("TXT003", Severity.WARNING, "the file starts with a BOM"))
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        msg = "bytes that are not UTF-8 text"
        return None, [*findings, Diagnostic("TXT006", Severity.ERROR, msg, line=line)]
    if "\x00" in text:
        line = text[: text.index("\x00")].count("\n") + 1
        msg = "a NUL character"
        return None, [*findings, Diagnostic("TXT005", Severity.ERROR, msg, line=line)]
    return text, findings


_UNITLESS = frozenset(
    {
        "none", "unitless", "1", "dimensionless", "count", "counts", "mach", "#", "no unit",
        "no units", "nounit", "flag", "flags", "fraction", "ratio", "index", "number",
        "-", "n/a", "na", "numflag",
    }
)  # fmt: skip
_EXPONENT = re.compile(r"^(?:x\s*)?(?:10\^|10\*\*|1?[eE])\s*([+-]?\d{1,3})\s*(.*)$")
_DEGREE_WORDS = frozenset({"deg", "degs", "degree", "degrees", "°", "decimal"})
_ALIASES = {
    "per mil": "1e-3",
    "permil": "1e-3",
    "degrees k": "K",
    "deg k": "K",
    "degk": "K",
    "degrees c": "degC",
    "mb": "mbar",
    "degrees north": "degrees_north",
    "degrees east": "degrees_east",
    "deg n": "degrees_north",
    "deg e": "degrees_east",
    "deg +n": "degrees_north",
    "deg +e": "degrees_east",
    "degrees +n": "degrees_north",
    "degrees +e": "degrees_east",
    "deg_n": "degrees_north",
    "deg_e": "degrees_east",
    "degn": "degrees_north",
    "dege": "degrees_east",
    "deg c": "degC",
    "#/cm3": "cm-3",
    "#/cc": "cm-3",
    "#/cm^3": "cm-3",
    "# cm-3": "cm-3",
    "#/cm-3": "cm-3",
    "1/cm3": "cm-3",
    "#/m3": "m-3",
    "#/l": "L-1",
    "hours (ut)": "hours",
    "gpm": "m",
    "decimal degrees": "degree",
    "decimal degrees e": "degrees_east",
    "decimal degrees n": "degrees_north",
    "decimal degrees east": "degrees_east",
    "decimal degrees north": "degrees_north",
    "gpdm": "dam",
    "c": "degC",
    "ppmv": "1e-6",
    "ppbv": "1e-9",
    "pptv": "1e-12",
    "du": "DU",
    "1/mm": "Mm-1",
    "mm-1": "Mm-1",
}
"""Unit spellings of the neighbouring formats that UDUNITS reads otherwise or not at all."""


def column_unit(name: str, unit: str) -> str | None:
    """Canonical unit of a column of a neighbouring format: position units by name, `1` for
    the unitless keywords, else the alias table and UDUNITS; None when unknown."""
    position = position_unit(name, unit)
    if position is not None:
        return position
    key = " ".join(unit.strip().lower().split())
    if key in _UNITLESS:
        return "1"
    if key in _ALIASES:
        return _ALIASES[key]
    scaled = _EXPONENT.match(unit.strip())
    if scaled and scaled.group(2):
        # `E+21 m-3`: a power of ten written before the unit (EBAS, NDACC).
        rest = column_unit("", scaled.group(2))
        return f"1e{int(scaled.group(1))} {rest}" if rest is not None else None
    token = " ".join(unit.split())
    if " " in token:
        # UDUNITS reads a space as multiplication (`m s-1`); the alias table's check takes
        # single tokens, so ask it about the `.` spelling and keep the written one.
        return token if canonical_unit(token.replace(" ", ".")) is not None else None
    return canonical_unit(token) if token else None


def position_unit(name: str, unit: str) -> str | None:
    """`degrees_north`/`degrees_east` for a latitude/longitude column in degrees, else None."""
    kind = position_kind(name)
    if kind is None:
        return None
    spelled = " ".join(unit.strip().lower().split())
    words = spelled.replace("+", " ").split()
    if _ALIASES.get(spelled, canonical_unit(unit)) not in _DEGREES and (
        not words or words[0] not in _DEGREE_WORDS
    ):
        return None
    return "degrees_north" if kind == "latitude" else "degrees_east"


def _find(columns: Sequence[Column], unit: str) -> Column | None:
    for column in columns[1:]:
        usable = column.kind is ColumnKind.NUMBER and column.unit == unit
        if usable and not _all_nan(column.values):
            return column
    return None


def _all_nan(values: npt.NDArray[np.float64]) -> bool:
    import numpy as np

    return bool(np.isnan(values).all())


def longitude_range(lon: npt.NDArray[np.float64]) -> tuple[float, float]:
    """West and east bounds in [-180, 180]; west > east when the span crosses 180."""
    import numpy as np

    # Values already in [-180, 180] stay as written (the wrap would add rounding noise).
    wrapped = np.where(np.abs(lon) <= 180.0, lon, (lon + 180.0) % 360.0 - 180.0)
    west, east = float(np.nanmin(wrapped)), float(np.nanmax(wrapped))
    shifted = wrapped % 360.0  # 0..360: a track across 180 is contiguous here
    if east - west > 180.0 and float(np.nanmax(shifted) - np.nanmin(shifted)) < east - west:
        west = float(np.nanmin(shifted))
        east = float(np.nanmax(shifted))
        west, east = (west + 180.0) % 360.0 - 180.0, (east + 180.0) % 360.0 - 180.0
    return west, east


def position_extent(
    columns: Sequence[Column], start: datetime, stop: datetime
) -> tuple[Extent, FeatureType]:
    """Extent from the position columns, and `trajectory` when they exist (else
    `timeSeries`, with no spatial extent)."""
    import numpy as np

    extent = Extent(start=start, stop=stop)
    lat, lon = _find(columns, "degrees_north"), _find(columns, "degrees_east")
    if lat is None or lon is None:
        return extent, FeatureType.TIME_SERIES
    extent.south, extent.north = float(np.nanmin(lat.values)), float(np.nanmax(lat.values))
    extent.west, extent.east = longitude_range(lon.values)
    for column in columns[1:]:
        factor = _TO_METRES.get(column.unit or "")
        if factor is None or column.kind is not ColumnKind.NUMBER:
            continue
        if standard_name_for(column.name, column.unit) == "altitude":
            if not _all_nan(column.values):
                extent.min_altitude = float(np.nanmin(column.values)) * factor
                extent.max_altitude = float(np.nanmax(column.values)) * factor
            break
    return extent, FeatureType.TRAJECTORY


# Searched in text whose whitespace runs are single spaces: `\s*°?\s*` over a long run of
# spaces would try every split of it (quadratic).
_SITE = re.compile(r"(\d{1,2}(?:\.\d+)?)\s*°?\s*([NS])[\s,;]+(\d{1,3}(?:\.\d+)?)\s*°?\s*([EW])\b")


def fixed_site(comments: list[str]) -> tuple[float, float, str] | None:
    """A fixed position written in the comments (`36.79 S 174.63 E`), as (lat, lon, line)."""
    keyed = _keyed_site(comments)
    if keyed is not None:
        return keyed
    for line in comments:
        match = _SITE.search(" ".join(line.split()))
        if match:
            lat = float(match.group(1)) * (-1 if match.group(2) == "S" else 1)
            lon = float(match.group(3)) * (-1 if match.group(4) == "W" else 1)
            if abs(lat) <= 90 and abs(lon) <= 180:
                return lat, lon, line.strip()
    return None


_KEYED = re.compile(
    r"^\s*(?:station\s+|site\s+)?(latitude|longitude)\s*[:=]\s*(-?\d{1,3}(?:\.\d+)?)\s*$",
    re.IGNORECASE,
)


def _keyed_site(comments: list[str]) -> tuple[float, float, str] | None:
    """`Station latitude: 78.906` and `Station longitude: 11.888` lines (EBAS comments)."""
    found: dict[str, float] = {}
    for line in comments:
        match = _KEYED.match(line)
        if match:
            found.setdefault(match.group(1).lower(), float(match.group(2)))
    lat, lon = found.get("latitude"), found.get("longitude")
    if lat is None or lon is None or abs(lat) > 90 or abs(lon) > 360:
        return None
    lon = lon - 360.0 if lon > 180.0 else lon
    return lat, lon, f"{lat} N {lon} E"


_ALTITUDE = re.compile(
    r"^\s*(?:station\s+|site\s+)?(?:altitude|elevation|height)\s*[:=]\s*(-?\d+(?:\.\d+)?)\s*"
    r"(m|meters|metres|m asl|m a\.s\.l\.)?\s*$",
    re.IGNORECASE,
)


def site_altitude(comments: list[str]) -> float | None:
    """`Station altitude: 474 m` (EBAS comments), in metres, or None."""
    for line in comments:
        match = _ALTITUDE.match(line)
        if match:
            return float(match.group(1))
    return None


def has_vertical_profile(
    columns: list[Column], kinds: tuple[str, ...] = ("air_pressure", "altitude")
) -> bool:
    """True when a pressure or altitude column (`kinds`) changes along the file (a sounding)."""
    import numpy as np

    for column in columns[1:]:
        if standard_name_for(column.name, column.unit) in kinds:
            finite = column.values[~np.isnan(column.values)]
            if len(finite) > 1 and float(np.ptp(finite)) > 0:
                return True
    return False
