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
_PAREN = re.compile(r"[(\[]([^()\[\]]*)[)\]]")


@dataclass
class Descriptor:
    """A variable's name, unit text and any `key=value` attributes."""

    name: str
    unit: str
    attributes: dict[str, str] = field(default_factory=dict)


def strip_annotation(line: str) -> str:
    """`line` without a trailing `{...}` annotation (as nappy and BADC files write them)."""
    # String operations: `^(.*?)\s*\{[^{}]*\}\s*$` is quadratic on a long run of spaces.
    body = line.rstrip()
    if not body.endswith("}"):
        return line
    opening = body.rfind("{", 0, len(body) - 1)
    if opening < 0 or "}" in body[opening + 1 : -1]:
        return line
    return body[:opening].rstrip()


def _known_unit(text: str) -> bool:
    from formats.neighbours import column_unit
    from formats.time_axis import time_axis

    text = text.strip()
    return bool(text) and (column_unit("", text) is not None or time_axis(text) is not None)


def _unit_in_name(text: str) -> Descriptor:
    """`Name (unit)`; else a known unit in any bracket group (`Temperature (K) at DC-8's
    position`), that group taken out of the name; else the trailing group as written."""
    groups = list(_PAREN.finditer(text))
    trailing = _NAME_UNIT.match(text)
    if trailing and trailing.group(1) and _known_unit(trailing.group(2)):
        return Descriptor(trailing.group(1).strip(), trailing.group(2).strip())
    for group in reversed(groups):
        if _known_unit(group.group(1)):
            before, after = text[: group.start()].strip(), text[group.end() :].strip()
            if after.startswith(("(", "[")) or not before:
                # `Longitude [degrees E] (range: 0 - 360)`: what follows is a note.
                note = {"comment": after.strip("()[] ")} if after else {}
                return Descriptor(before or text, group.group(1).strip(), note)
            return Descriptor(" ".join(f"{before} {after}".split()), group.group(1).strip())
    if trailing and trailing.group(1):
        return Descriptor(trailing.group(1).strip(), trailing.group(2).strip())
    return Descriptor(text, "")


def parse_descriptor(text: str) -> Descriptor:
    """Name, unit and attributes of a NASA Ames variable line."""
    text = " ".join(strip_annotation(text).split())
    if "," not in text:
        return _unit_in_name(text)
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
    second = parts[1]
    ebas = bool(attrs) and not _KEY_VALUE.match(second) and len(second.split()) <= 6
    if parts[0] and (ebas or _known_unit(second)) and not _PAREN.search(parts[0]):
        return Descriptor(parts[0], second, attrs)
    found = _unit_in_name(parts[0])
    found.attributes["comment"] = ", ".join(parts[1:])
    return found
