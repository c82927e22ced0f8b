"""ICARTT FFI 1001 writer (v1.1 layout) that keeps every value's full precision.

Numbers are written with the shortest text that reads back to the same float (or with the
decimals the source used, when the reader recorded them); NaN becomes the column's missing
code, or the LLOD/ULOD flag where the quality says the value was below or above detection.
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, BinaryIO

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


def _unit(column: Column) -> str:
    return _one_line(column.original_unit.replace(",", ";")) if column.original_unit else "none"


def _records(datafile: DataFile) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """First row and row count of each record (a run of one time) of a 2D file."""
    import numpy as np

    times = datafile.time.values.astype("datetime64[ns]").view(np.int64)
    starts = np.concatenate([[0], np.flatnonzero(np.diff(times) != 0) + 1]).astype(np.int64)
    if bool((np.diff(times[starts]) <= 0).any()):
        raise WriteError(
            "ICARTT needs time as the unbounded variable, increasing from record to record;"
            " this file's records are not in increasing time"
        )
    counts = np.diff(np.concatenate([starts, [len(times)]])).astype(np.int64)
    return starts, counts


def _constant(column: Column, starts: npt.NDArray[np.int64], counts: npt.NDArray[np.int64]) -> bool:
    import numpy as np

    values = column.values
    spread = np.repeat(values[starts], counts)
    same = (values == spread) | (np.isnan(values) & np.isnan(spread))
    if column.quality is not None:
        same &= column.quality == np.repeat(column.quality[starts], counts)
    return bool(same.all())


def _profile_variable(datafile: DataFile) -> str | None:
    """A one-time profile's independent variable (NASA Ames 1001 over pressure or
    altitude), which ICARTT writes as the bounded variable of one 2110 record."""
    from formats.descriptors import parse_descriptor

    text = datafile.header.extra.get("INDEPENDENT_VARIABLE")
    if not text or datafile.row_count < 2:
        return None
    times = datafile.time.values
    if bool((times != times[0]).any()):
        return None
    name = parse_descriptor(text).name
    for column in datafile.data_columns:
        if column.original_name == name and column.kind is ColumnKind.NUMBER:
            return column.name
    return None


def _layout_2110(
    datafile: DataFile, bounded_names: list[str]
) -> tuple[Column, list[Column], list[Column], npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Bounded column, auxiliary columns (NX first), dependent columns and the records."""
    import numpy as np

    if len(bounded_names) != 1 or bounded_names[0] == datafile.time.name:
        raise WriteError(
            "ICARTT holds one bounded variable beside time (FFI 2110); this file has"
            f" {', '.join(bounded_names)} as bounded variables"
        )
    bounded = datafile.column(bounded_names[0])
    starts, counts = _records(datafile)
    others = [c for c in datafile.data_columns if c is not bounded]
    aux = [c for c in others if _constant(c, starts, counts)]
    deps = [c for c in others if c not in aux]
    spread = np.repeat(counts, counts).astype(np.float64)
    nx = next((c for c in aux if np.array_equal(c.values, spread)), None)
    if nx is None:
        from formats.model import Column as NewColumn

        nx = NewColumn("NX", "NX", "none", "1", ColumnKind.NUMBER, spread)
        nx.attributes["comment"] = "number of dependent lines of the record (added by FieldCat)"
    aux = [nx, *[c for c in aux if c is not nx]]
    if not deps:
        raise WriteError("ICARTT 2110 needs at least one dependent variable")
    return bounded, aux, deps, starts, counts


def write_icartt(datafile: DataFile, stream: BinaryIO) -> None:
    """Write `datafile` as ICARTT FFI 1001, or 2110 when it has one bounded variable (numbers
    only; a text column, times that do not increase or a second bounded variable are a
    `WriteError`). Names are made unique and ICARTT-safe."""
    import numpy as np

    from formats.names import unique_names

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
    time = datafile.time
    bounded_names = datafile.bounded or [n for n in [_profile_variable(datafile)] if n]
    if bounded_names:
        bounded, aux, columns, starts, counts = _layout_2110(datafile, bounded_names)
        ffi = 2110
    else:
        steps = np.diff(times.view(np.int64))
        if bool((steps <= 0).any()):
            row = int(np.flatnonzero(steps <= 0)[0]) + 1
            raise WriteError(
                f"ICARTT 1001 needs increasing times; row {row + 1} does not follow row {row}"
                " (a profile or a second dimension needs FFI 2110)"
            )
        bounded, aux, columns, ffi = None, [], datafile.data_columns, 1001
    in_seconds = time.original_unit.strip().lower() in ("s", "sec", "seconds")
    ordered = [*([bounded] if bounded is not None else []), *columns, *aux]
    names = unique_names([_name(time) if in_seconds else "Start_UTC", *[_name(c) for c in ordered]])
    name_of = {id(c): n for c, n in zip(ordered, names[1:], strict=True)}
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
    ]
    if bounded is not None:
        body.append(f"{name_of[id(bounded)]}, {_unit(bounded)}")
    body.append(f"{names[0]}, {time.original_unit if in_seconds else 'seconds'}")
    for group in (columns, aux) if bounded is not None else (columns,):
        body += [
            str(len(group)),
            ", ".join("1" for _ in group),
            ", ".join(c.attributes.get("icartt_missing_value", DEFAULT_MISSING) for c in group),
            *[f"{name_of[id(c)]}, {_unit(c)}" for c in group],
        ]
    special = [line for line in extra.get("SPECIAL_COMMENTS", "").splitlines()]
    if bounded is not None:
        data_names = [names[0], *[name_of[id(c)] for c in aux]]
        data_names += [name_of[id(bounded)], *[name_of[id(c)] for c in columns]]
    else:
        data_names = names
    normal = _comments(datafile, data_names)
    lines = [*body, str(len(special)), *special, str(len(normal)), *normal]
    lines.insert(0, f"{len(lines) + 1}, {ffi}")
    stream.write("".join(line + "\r\n" for line in lines).encode("utf-8"))
    time_text = _format(seconds, None)
    if bounded is None:
        cells = [time_text, *[_texts(c, llod, ulod) for c in columns]]
        _write_lines(stream, zip(*cells, strict=True))
        return
    aux_cells = [_texts(c, llod, ulod) for c in aux]
    dep_cells = [_texts(c, llod, ulod) for c in [bounded, *columns]]
    out: list[tuple[str, ...]] = []
    for first, count in zip(starts.tolist(), counts.tolist(), strict=True):
        out.append((time_text[first], *[cells[first] for cells in aux_cells]))
        out.extend(zip(*[cells[first : first + count] for cells in dep_cells], strict=True))
    _write_lines(stream, out)


def _write_lines(stream: BinaryIO, rows: Any) -> None:
    chunk: list[str] = []
    for row in rows:
        chunk.append(", ".join(row) + "\r\n")
        if len(chunk) >= 10000:
            stream.write("".join(chunk).encode("ascii"))
            chunk.clear()
    stream.write("".join(chunk).encode("ascii"))
