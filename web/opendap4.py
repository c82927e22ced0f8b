"""OPeNDAP DAP4 answers of one stored NetCDF file: the DMR (`.dmr`, `.dmr.xml`) and the data
(`.dap`, chunked, little-endian, CRC-32 after each variable when `dap4.checksum=true`).

pydap 3.5 has a DMR writer but no DAP4 data writer, and its DMR writer neither escapes text
nor names attribute types as DAP4 does, so both answers are written here, from the same
lazily read values as the DAP2 answers (`web.opendap.LazyValues`, under the HDF5 lock).
The constraint is `dap4.ce=/O3[0:1:99];/time[0:1:99]` (variables with index ranges).
"""

from __future__ import annotations

import re
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qs
from xml.sax.saxutils import escape, quoteattr

from catalog.errors import InvalidQueryError
from formats.netcdf_read import StoredLayout, StoredVariable, netcdf_layout
from web.opendap import LazyValues

Dap4Answer = Literal["dmr", "dmr.xml", "dap"]
DAP4_MEDIA_TYPES: dict[str, str] = {
    "dmr": "application/vnd.opendap.dap4.dataset-metadata+xml",
    "dmr.xml": "application/vnd.opendap.dap4.dataset-metadata+xml",
    "dap": "application/vnd.opendap.dap4.data",
}
NAMESPACE = "http://xml.opendap.org/ns/DAP/4.0#"
LAST, LITTLE = 0x01, 0x04
MAX_CHUNK = (1 << 24) - 1
"""A chunk's length has 24 bits."""
BLOCK_VALUES = 1 << 22
_TYPES = {
    "f8": "Float64", "f4": "Float32", "i1": "Int8", "i2": "Int16", "i4": "Int32",
    "i8": "Int64", "u1": "UInt8", "u2": "UInt16", "u4": "UInt32", "u8": "UInt64",
}  # fmt: skip
_ITEM = re.compile(r"^/?([^\[\]/;]+)((?:\[[^\]]*\])*)$")
_RANGE = re.compile(r"\[([^\]]*)\]")


@dataclass(frozen=True)
class Projected:
    """One variable of a DAP4 answer and the index ranges asked of it."""

    variable: StoredVariable
    slices: tuple[slice, ...]

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(
            len(range(*s.indices(n))) for s, n in zip(self.slices, self.variable.shape, strict=True)
        )

    @property
    def sliced(self) -> bool:
        return self.shape != self.variable.shape


def dap4_type(variable: StoredVariable) -> str:
    """The DAP4 type of a served variable."""
    if variable.is_text:
        return "String"
    return _TYPES[variable.dtype.lstrip("<>|=")]


def _attribute_type(value: Any) -> tuple[str, list[str]]:
    import numpy as np

    array = np.atleast_1d(np.asarray(value))
    if array.dtype.kind in "US":
        return "String", [str(v) for v in array]
    kind = array.dtype.str.lstrip("<>|=")
    if kind == "i1":
        kind = "i2"  # the values are what matter; Int8 attributes confuse some readers
    return _TYPES.get(kind, "Float64"), [
        repr(v.item()) if kind[0] == "f" else str(v.item()) for v in array
    ]


def _attributes(attrs: dict[str, Any], indent: str) -> Iterator[str]:
    for name, value in attrs.items():
        kind, values = _attribute_type(value)
        yield f'{indent}<Attribute name={quoteattr(name)} type="{kind}">\n'
        for each in values:
            text = "NaN" if each == "nan" else each
            yield f"{indent}  <Value>{escape(text)}</Value>\n"
        yield f"{indent}</Attribute>\n"


def dmr_text(name: str, layout: StoredLayout, chosen: list[Projected] | None = None) -> str:
    """The DMR of the whole dataset, or of the projected variables of a data answer."""
    projected = chosen if chosen is not None else [
        Projected(v, tuple(slice(0, n) for n in v.shape)) for v in layout.variables
    ]  # fmt: skip
    sizes: dict[str, int] = {}
    for var in layout.variables:
        sizes.update(zip(var.dims, var.shape, strict=True))
    used = {d for p in projected if not p.sliced for d in p.variable.dims}
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>\n',
        f'<Dataset xmlns="{NAMESPACE}" dapVersion="4.0" dmrVersion="1.0" name={quoteattr(name)}>\n',
    ]
    lines += [
        f'  <Dimension name={quoteattr(d)} size="{n}"/>\n' for d, n in sizes.items() if d in used
    ]
    for each in projected:
        kind = dap4_type(each.variable)
        lines.append(f"  <{kind} name={quoteattr(each.variable.name)}>\n")
        for dim, size in zip(each.variable.dims, each.shape, strict=True):
            named = f"name={quoteattr('/' + dim)}" if not each.sliced else f'size="{size}"'
            lines.append(f"    <Dim {named}/>\n")
        lines += list(_attributes(each.variable.attributes, "    "))
        lines.append(f"  </{kind}>\n")
    lines += list(_attributes(layout.attributes, "  "))
    lines.append("</Dataset>\n")
    return "".join(lines)


def _ranges(text: str, variable: StoredVariable) -> tuple[slice, ...]:
    found = _RANGE.findall(text)
    if not found:
        return tuple(slice(0, n) for n in variable.shape)
    if len(found) != len(variable.shape):
        raise InvalidQueryError(f"{variable.name} has {len(variable.shape)} dimension(s)")
    slices = []
    for part, size in zip(found, variable.shape, strict=True):
        numbers = [int(p) for p in part.split(":")] if part else [0, size - 1]
        start, stride, stop = (
            (numbers[0], 1, numbers[0]) if len(numbers) == 1
            else (numbers[0], 1, numbers[1]) if len(numbers) == 2
            else (numbers[0], numbers[1], numbers[2])
        )  # fmt: skip
        if not (0 <= start <= stop < size and stride >= 1):
            raise InvalidQueryError(f"index range of {variable.name} outside 0..{size - 1}")
        slices.append(slice(start, stop + 1, stride))
    return tuple(slices)


def projection(query: str, layout: StoredLayout) -> list[Projected]:
    """The variables and ranges of a `dap4.ce` (all variables, whole, without one)."""
    params = parse_qs(query, keep_blank_values=True)
    ce = (params.get("dap4.ce") or [""])[0].strip()
    by_name = {v.name: v for v in layout.variables}
    if not ce:
        return [Projected(v, tuple(slice(0, n) for n in v.shape)) for v in layout.variables]
    chosen = []
    for item in filter(None, (p.strip() for p in ce.split(";"))):
        match = _ITEM.match(item)
        if match is None or match.group(1) not in by_name:
            known = ", ".join(by_name)
            raise InvalidQueryError(
                f"unknown variable in dap4.ce {item!r}; these data have: {known}"
            )
        variable = by_name[match.group(1)]
        chosen.append(Projected(variable, _ranges(match.group(2), variable)))
    return chosen


def _chunks(payload: Iterator[bytes], first: bytes) -> Iterator[bytes]:
    """The DAP4 chunked framing: the DMR chunk, then data chunks, the last one flagged."""
    yield struct.pack(">I", (LITTLE << 24) | len(first)) + first
    pending = b""
    for block in payload:
        pending += block
        while len(pending) > MAX_CHUNK:
            yield struct.pack(">I", (LITTLE << 24) | MAX_CHUNK) + pending[:MAX_CHUNK]
            pending = pending[MAX_CHUNK:]
    yield struct.pack(">I", ((LITTLE | LAST) << 24) | len(pending)) + pending


def _values(path: Path, each: Projected, checksum: bool) -> Iterator[bytes]:
    import numpy as np

    values = LazyValues(path, each.variable)[each.slices]  # () for a scalar
    if each.variable.is_text:
        parts = []
        for text in np.atleast_1d(values).ravel():
            raw = str(text).encode("utf-8")
            parts.append(struct.pack("<Q", len(raw)) + raw)
        encoded = b"".join(parts)
    else:
        array = np.asarray(values)
        encoded = array.astype(array.dtype.newbyteorder("<"), copy=False).tobytes()
    yield encoded
    if checksum:
        yield struct.pack("<I", zlib.crc32(encoded))


def dap4_answer(path: Path, name: str, answer: Dap4Answer, query: str) -> Iterator[bytes]:
    """The bytes of a DAP4 answer: the DMR, or the data of the constraint in `query`."""
    layout = netcdf_layout(path)
    if answer != "dap":
        return iter([dmr_text(name, layout).encode()])
    chosen = projection(query, layout)
    checksum = (parse_qs(query).get("dap4.checksum") or ["false"])[0].lower() == "true"
    dmr = dmr_text(name, layout, chosen).encode() + b"\r\n"
    payload = (block for each in chosen for block in _values(path, each, checksum))
    return _chunks(payload, dmr)
