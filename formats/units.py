"""Unit tokens mapped to UDUNITS/CF through the alias table of FORMAT.md "Units"."""

from __future__ import annotations

import functools
import logging
import re

logger = logging.getLogger(__name__)

ALIASES: dict[str, str] = {
    "PPM": "1e-6",
    "PPMV": "1e-6",
    "PPB": "1e-9",
    "PPBV": "1e-9",
    "PPT": "1e-12",
    "PPTV": "1e-12",
    "NM/M3": "nmol m-3",
    "DEGN": "degrees_north",
    "DEGS_N": "degrees_north",
    "DEGREES_NORTH": "degrees_north",
    "DEGE": "degrees_east",
    "DEGREES_EAST": "degrees_east",
    "DEG": "degree",
    "DEGS": "degree",
    "DEGREE": "degree",
    "DEGREES": "degree",
    "C": "degC",
    "DEGC": "degC",
    "%": "percent",
    "PERCENT": "percent",
    "UTC": "UTC",
}
"""Upper-cased token -> canonical unit; matched ignoring case (`nM/m3` is nanomoles per
cubic metre in the campaign's plan)."""

STRING_UNITS = frozenset({"NUMBER", "ID"})
"""Units that mark an id (string) column."""

TIME_UNIT = "UTC"


_UNIT_CHARS = re.compile(r"[A-Za-z0-9_.*/^()+\-]{1,40}")


@functools.lru_cache(maxsize=512)
def _udunits_ok(token: str) -> bool:
    if not _UNIT_CHARS.fullmatch(token) or not any(c.isalnum() for c in token):
        return False
    try:
        import cf_units  # type: ignore[import-untyped]
    except ImportError:  # without UDUNITS only the alias table is known
        return False
    # UDUNITS prints its complaints to stderr unless told not to.
    with cf_units.suppress_errors():
        try:
            unit = cf_units.Unit(token)
            return not unit.is_unknown() and not unit.is_no_unit()
        except Exception:  # UDUNITS rejects odd strings in several ways; all mean "unknown"
            return False


def canonical_unit(token: str) -> str | None:
    """The UDUNITS/CF unit for a unit token, or None when it is unknown (never a guess)."""
    upper = token.upper()
    if upper in ALIASES:
        return ALIASES[upper]
    if upper in STRING_UNITS:
        return None
    if _udunits_ok(token):
        return token
    return None


def is_string_unit(token: str) -> bool:
    """True for units that mark an id column (`NUMBER`, `ID`)."""
    return token.upper() in STRING_UNITS


READABLE: dict[str, str] = {
    "1e-6": "ppmv",
    "1e-9": "ppbv",
    "1e-12": "pptv",
    "degC": "°C",
    "degree": "°",
    "degrees_north": "°N",
    "degrees_east": "°E",
    "percent": "%",
    "m s-1": "m/s",
    "m/s": "m/s",
    "Mm-1": "Mm⁻¹",
    "nmol m-3": "nmol/m³",
    "ug m-3": "µg/m³",
    "cm-3": "cm⁻³",
    "W m-2": "W/m²",
}
"""Canonical units as people read and write them in papers (mixing ratios by volume, °C)."""


def readable(unit: str | None, original: str = "") -> str:
    """The unit as a reader expects it: `ppbv` for `1e-9`, `°C` for `degC`; an unknown
    unit as written in the file."""
    if unit:
        return READABLE.get(unit, unit)
    alias = ALIASES.get(original.strip().upper())
    if alias is not None:
        return READABLE.get(alias, original)
    return original
