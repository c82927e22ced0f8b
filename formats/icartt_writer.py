"""ICARTT FFI 1001 writer (v1.1 layout) that keeps every value's full precision.

Numbers are written with the shortest text that reads back to the same float (or with the
decimals the source used, when the reader recorded them); NaN becomes the column's missing
code, or the LLOD/ULOD flag where the quality says the value was below or above detection.
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime
from typing import TYPE_CHECKING, BinaryIO

from formats.model import Column, ColumnKind, DataFile, Quality, WriteError

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

logger = logging.getLogger(__name__)

KEYWORDS = (
    "PI_CONTACT_INFO",
    "PLATFORM",
    "LOCATION",
    "ASSOCIATED_DATA",
    "INSTRUMENT_INFO",
    "DATA_INFO",
    "UNCERTAINTY",
    "ULOD_FLAG",
    "ULOD_VALUE",
    "LLOD_FLAG",
    "LLOD_VALUE",
    "DM_CONTACT_INFO",
    "PROJECT_INFO",
    "STIPULATIONS_ON_USE",
    "OTHER_COMMENTS",
    "REVISION",
)
"""The normal-comment keywords ICARTT requires, in the order it requires them."""
DEFAULT_MISSING = "-9999"
DEFAULT_LLOD, DEFAULT_ULOD = "-8888", "-7777"
_UNSAFE = re.compile(r"[^A-Za-z0-9_]")
_REVISION_NOTE = re.compile(r"R[A-Za-z0-9]{1,2}")


def _one_line(text: str) -> str:
    return " ".join(text.split()) or "N/A"


def _format(values: npt.NDArray[np.float64], decimals: int | None) -> list[str]:
    if decimals is not None:
        return [f"{v:.{decimals}f}" for v in values.tolist()]
    return [repr(v) if not v.is_integer() else str(int(v)) for v in values.tolist()]


def _texts(column: Column, llod: str, ulod: str) -> list[str]:
    import numpy as np

    values = column.values
    texts = _format(np.nan_to_num(values, nan=0.0), column.decimals)
    missing = column.attributes.get("icartt_missing_value", DEFAULT_MISSING)
    quality = column.quality
    for index in np.flatnonzero(np.isnan(values)).tolist():
        code = Quality(int(quality[index])) if quality is not None else Quality.MISSING
        if code is Quality.BELOW_DETECTION:
            texts[index] = llod
        elif code is Quality.ABOVE_DETECTION:
            texts[index] = ulod
        else:
            texts[index] = missing
    return texts


def _name(column: Column) -> str:
    name = _UNSAFE.sub("_", column.original_name) or column.name
    return name


def _comments(datafile: DataFile, names: list[str]) -> list[str]:
    columns = datafile.data_columns
    header, extra = datafile.header, datafile.header.extra
    location = header.location
    has_numbers = any(ch.isdigit() for ch in location)
    if header.latitude is not None and header.longitude is not None and not has_numbers:
        location = f"{location}; {header.latitude} N {header.longitude} E".strip("; ")
    defaults = {
        "PI_CONTACT_INFO": header.pi_name,
        "PLATFORM": header.platform,
        "LOCATION": location,
        "UNCERTAINTY": "not given",
        "ULOD_FLAG": DEFAULT_ULOD,
        "LLOD_FLAG": DEFAULT_LLOD,
        "PROJECT_INFO": header.project or "",
        "OTHER_COMMENTS": "\n".join(header.remarks),
    }
    version = header.data_version or "R0"
    lines: list[str] = []
    for key in KEYWORDS:
        if key == "REVISION":
            revision = version if re.fullmatch(r"R\w+", version) else f"R{version}"
            lines.append(f"REVISION: {revision}")
            for note_key, note in extra.items():
                if _REVISION_NOTE.fullmatch(note_key):
                    first, *rest = note.splitlines() or [""]
                    lines.append(f"{note_key}: {first}")
                    lines.extend(f" {line}" for line in rest)
            continue
        value = extra.get(key) or defaults.get(key) or "N/A"
        first, *rest = value.splitlines() or ["N/A"]
        lines.append(f"{key}: {first}")
        lines.extend(f" {line}" for line in rest)
    if header.did is not None:
        lines.append(f" FieldCat DID: {header.did}")
    if any(c.quality is not None and bool((c.quality == Quality.BAD).any()) for c in columns):
        lines.append(" FieldCat: values the source flagged bad are written as the missing code")
    lines.append(", ".join(names))
    return lines


def write_icartt(datafile: DataFile, stream: BinaryIO) -> None:
    """Write `datafile` as ICARTT FFI 1001 (numbers only; a text column is a `WriteError`)."""
    import numpy as np

    for column in datafile.data_columns:
        if column.kind is ColumnKind.STRING:
            raise WriteError(f"ICARTT holds numbers only; column {column.original_name} is text")
    if datafile.row_count == 0:
        raise WriteError("an ICARTT file needs at least one data row")
    header, extra = datafile.header, datafile.header.extra
    times = datafile.time.values.astype("datetime64[ns]")
    day = times[0].astype("datetime64[D]")
    seconds = (times - day).astype(np.int64) / np.float64(1e9)
    llod = extra.get("LLOD_FLAG", DEFAULT_LLOD).split()[0]
    ulod = extra.get("ULOD_FLAG", DEFAULT_ULOD).split()[0]
    columns = datafile.data_columns
    time = datafile.time
    in_seconds = time.original_unit.strip().lower() in ("s", "sec", "seconds")
    names = [_name(time) if in_seconds else "Start_UTC", *[_name(c) for c in columns]]
    ymd = str(day).split("-")
    revised = extra.get("REVISION_DATE") or datetime.now(UTC).strftime("%Y-%m-%d")
    body = [
        header.pi_name or "N/A",
        extra.get("ORGANIZATION") or "N/A",
        _one_line(header.instrument),
        _one_line(header.project or extra.get("MISSION", "")),
        extra.get("VOLUME", "1, 1"),
        ", ".join([*ymd, *revised.split("-")]),
        extra.get("DATA_INTERVAL", "0"),
        f"{names[0]}, {time.original_unit if in_seconds else 's'}",
        str(len(columns)),
        ", ".join("1" for _ in columns),
        ", ".join(c.attributes.get("icartt_missing_value", DEFAULT_MISSING) for c in columns),
        *[f"{n}, {c.original_unit or 'none'}" for n, c in zip(names[1:], columns, strict=True)],
    ]
    special = [line for line in extra.get("SPECIAL_COMMENTS", "").splitlines()]
    normal = _comments(datafile, names)
    lines = [*body, str(len(special)), *special, str(len(normal)), *normal]
    lines.insert(0, f"{len(lines) + 1}, 1001")
    out = [line + "\r\n" for line in lines]
    stream.write("".join(out).encode("utf-8"))
    cells = [_format(seconds, None), *[_texts(c, llod, ulod) for c in columns]]
    chunk: list[str] = []
    for row in zip(*cells, strict=True):
        chunk.append(", ".join(row) + "\r\n")
        if len(chunk) >= 10000:
            stream.write("".join(chunk).encode("ascii"))
            chunk.clear()
    stream.write("".join(chunk).encode("ascii"))
