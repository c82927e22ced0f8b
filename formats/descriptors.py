"""Variable descriptors of NASA Ames and ICARTT headers: `Name (unit)` or the EBAS
`name, unit, key=value, ...` form, and loose unit spellings mapped to UDUNITS/CF.

EBAS exports describe a variable in one line such as
`aerosol_light_scattering_coefficient, 1/Mm, Wavelength=450 nm, Matrix=pm10, ...`, often
longer than NetCDF's 256-character name limit; the name is the first field, the unit the
second, and every `key=value` becomes an attribute of the column.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field

logger = logging.getLogger(__name__)

_NAME_UNIT = re.compile(r"^(.*?)\s*[(\[]([^()\[\]]*)[)\]]\s*$")
_KEY_VALUE = re.compile(r"^\s*([A-Za-z][A-Za-z0-9 _./-]{0,60}?)\s*=\s*(.*?)\s*$")
_ANNOTATION = re.compile(r"^(.*?)\s*\{[^{}]*\}\s*$")


@dataclass
class Descriptor:
    """A variable's name, unit text and any `key=value` attributes."""

    name: str
    unit: str
    attributes: dict[str, str] = field(default_factory=dict)


def strip_annotation(line: str) -> str:
    """`line` without a trailing `{...}` annotation (as nappy and BADC files write them)."""
    if "{" not in line:
        return line
    match = _ANNOTATION.match(line)
    return match.group(1) if match else line


def _looks_like_unit(text: str) -> bool:
    from formats.neighbours import column_unit
    from formats.time_axis import time_axis

    words = text.split()
    return bool(words) and (
        len(words) <= 3 or column_unit("", text) is not None or time_axis(text) is not None
    )


def parse_descriptor(text: str) -> Descriptor:
    """Name, unit and attributes of a NASA Ames variable line."""
    text = " ".join(strip_annotation(text).split())
    if "," in text:
        parts = [p.strip() for p in text.split(",")]
        attrs: dict[str, str] = {}
        last: str | None = None
        for part in parts[2:]:
            match = _KEY_VALUE.match(part)
            if match:
                last = match.group(1).strip()
                attrs[last] = match.group(2)
            elif last is not None:
                attrs[last] += ", " + part  # a value holding commas
            else:
                attrs["comment"] = f"{attrs.get('comment', '')}, {part}".strip(", ")
        if parts[0] and (attrs or _looks_like_unit(parts[1])) and not _KEY_VALUE.match(parts[1]):
            name, unit = parts[0], parts[1]
            match = _NAME_UNIT.match(name)
            if match and match.group(1) and not unit:
                name, unit = match.group(1).strip(), match.group(2).strip()
            return Descriptor(name, unit, attrs)
    match = _NAME_UNIT.match(text)
    if match and match.group(1):
        return Descriptor(match.group(1).strip(), match.group(2).strip())
    return Descriptor(text, "")
