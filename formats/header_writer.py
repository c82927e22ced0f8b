"""Writes a `DataFile` in the campaign header format, so that reading it back gives the same
header and values: each column at its written precision, sentinels back where values were
missing or bad."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, BinaryIO

from formats.extent import parse_site
from formats.model import Column, ColumnKind, DataFile, Quality, WriteError
from formats.names import unique_names
from formats.text_rows import (
    Spec,
    format_one,
    number_spec,
    text_spec,
    time_decimals,
    time_spec,
    write_rows,
)

if TYPE_CHECKING:
    import numpy.typing as npt

logger = logging.getLogger(__name__)

MARKER = "##END OF HEADER##"
_DEFAULT_MISSING = -9999.0
_DEFAULT_BAD = -8888.0
_SENTINEL_IN_REMARKS = {
    kind: re.compile(rf"{kind}\s+(?:data|values?)\s*(?:=|:|is)\s*([-+.\deE]+)", re.IGNORECASE)
    for kind in ("missing", "bad")
}


def number_text(value: float) -> str:
    """Shortest text that reads back as `value` (`-9999`, `99.9`, `1e+30`)."""
    text = repr(float(value))
    return text[:-2] if text.endswith(".0") else text


def format_time_tokens(times: npt.NDArray[Any], decimals: int) -> list[str]:
    """`YYYYMMDDHHMMSS[.f]` tokens for `datetime64[ns]` values."""
    spec = time_spec(times, decimals, iso=False)
    return [format_one(spec, i) for i in range(len(times))]


def _declared_in_remarks(kind: str, value: float, remarks: Iterable[str]) -> bool:
    for text in remarks:
        match = _SENTINEL_IN_REMARKS[kind].search(text)
        if match:
            try:
                return float(match.group(1)) == value
            except ValueError:
                return False
    return False


def _pick_sentinel(preferred: float, columns: list[Column], avoid: float | None) -> float:
    import numpy as np

    value = preferred
    while True:
        clash = value == avoid or any(
            c.kind is ColumnKind.NUMBER and bool(np.any(c.values == value)) for c in columns[1:]
        )
        if not clash:
            return value
        value = value * 10 - 9


def _flagged(datafile: DataFile, missing: bool) -> bool:
    """True when some numeric value needs the missing (or else the bad) sentinel."""
    import numpy as np

    for col in datafile.data_columns:
        if col.kind is not ColumnKind.NUMBER:
            continue
        empty = ~np.isfinite(np.asarray(col.values, dtype=np.float64))
        if not empty.any():
            continue
        if col.quality is None:
            if missing:
                return True
            continue
        is_missing = np.isin(col.quality[empty], (Quality.GOOD, Quality.MISSING))
        if bool(is_missing.any()) if missing else bool((~is_missing).any()):
            return True
    return False


def _sentinels(datafile: DataFile) -> tuple[float | None, float | None]:
    header = datafile.header
    missing, bad = header.missing_value, header.bad_value
    if missing is None and _flagged(datafile, missing=True):
        missing = _pick_sentinel(_DEFAULT_MISSING, datafile.columns, bad)
    if bad is None and _flagged(datafile, missing=False):
        bad = _pick_sentinel(_DEFAULT_BAD, datafile.columns, missing)
    return missing, bad


def _one_line(value: str) -> str:
    return " ".join(value.split())


def _header_lines(datafile: DataFile, missing: float | None, bad: float | None) -> list[str]:
    header, extent = datafile.header, datafile.extent
    start, stop = header.start or extent.start, header.stop or extent.stop
    if start is None or stop is None:
        raise WriteError("the file has no start and stop time to write")
    time_decimals = _time_decimals(datafile)
    start_text, stop_text = format_time_tokens(_as_datetime64([start, stop]), time_decimals)
    pairs = [
        ("DID", str(header.did if header.did is not None else 0)),
        ("FILE START TIME (UTC)", start_text),
        ("FILE STOP TIME (UTC)", stop_text),
        ("PI NAME", header.pi_name or "unknown"),
        ("PLATFORM", header.platform or "unknown"),
        ("INSTRUMENT", header.instrument or "unknown"),
        ("LOCATION", header.location or "unknown"),
        ("DATA VERSION", header.data_version or "unknown"),
    ]
    if header.project:
        pairs.append(("PROJECT", header.project))
    if header.category:
        pairs.append(("CATEGORY", header.category))
    site = parse_site(header.location) if header.location else None
    lat, lon = header.latitude, header.longitude
    if lat is not None and lon is not None and site != (lat, lon):
        pairs.append(("LATITUDE", number_text(lat)))
        pairs.append(("LONGITUDE", number_text(lon)))
    if header.altitude is not None:
        pairs.append(("ALTITUDE", number_text(header.altitude)))
    if missing is not None and not _declared_in_remarks("missing", missing, header.remarks):
        pairs.append(("MISSING DATA", number_text(missing)))
    if bad is not None and not _declared_in_remarks("bad", bad, header.remarks):
        pairs.append(("BAD DATA", number_text(bad)))
    pairs.extend((key, value) for key, value in header.extra.items())
    pairs.extend(("REMARKS", remark) for remark in header.remarks)
    lines = [f"{key} = {_one_line(value)}" for key, value in pairs]
    lines.append(MARKER)
    return lines


def _as_datetime64(values: list[Any]) -> Any:
    import numpy as np

    from formats.timeparse import datetime_to_datetime64

    return np.array([datetime_to_datetime64(v) for v in values], dtype="datetime64[ns]")


def _token_name(col: Column) -> str:
    return col.original_name if col.original_name.split() == [col.original_name] else col.name


def _token_unit(col: Column, index: int) -> str:
    if index == 0:
        return "UTC"
    unit = col.original_unit or col.unit or ("NUMBER" if col.kind is ColumnKind.STRING else "1")
    if col.kind is ColumnKind.STRING and unit.upper() not in ("NUMBER", "ID"):
        unit = "NUMBER"
    return ".".join(unit.split()) or "1"


def _column_spec(col: Column, missing: float | None, bad: float | None) -> Spec:
    """How the header format writes a data column (sentinels where values are missing/bad)."""
    if col.kind is ColumnKind.STRING:
        return text_spec(["_".join(str(v).split()) or "-" for v in col.values.tolist()])
    missing_text = number_text(missing) if missing is not None else "-9999"
    bad_text = number_text(bad) if bad is not None else missing_text
    quality = col.quality

    def empty(i: int) -> str:
        flag = int(quality[i]) if quality is not None else int(Quality.MISSING)
        return missing_text if flag in (Quality.MISSING, Quality.GOOD) else bad_text

    return number_spec(col.values, col.decimals, empty)


def _time_decimals(datafile: DataFile) -> int:
    return time_decimals(datafile.time.values, datafile.time.decimals)


def write_header(datafile: DataFile, stream: BinaryIO) -> None:
    """Write `datafile` in the campaign header format to a binary stream (one row per time:
    a file with a bounded second dimension is a `WriteError`, not a flattened table)."""
    if datafile.bounded:
        raise WriteError(
            "the header format holds one row per time; this file has a second dimension"
            f" ({', '.join(datafile.bounded)}): export it as NetCDF, CSV or ICARTT"
        )
    missing, bad = _sentinels(datafile)
    lines = _header_lines(datafile, missing, bad)
    lines.append(" ".join(unique_names([_token_name(c) for c in datafile.columns])))
    lines.append(" ".join(_token_unit(c, i) for i, c in enumerate(datafile.columns)))
    stream.write(("\n".join(lines) + "\n").encode("utf-8"))
    specs = [time_spec(datafile.time.values, _time_decimals(datafile), iso=False)]
    specs.extend(_column_spec(c, missing, bad) for c in datafile.data_columns)
    write_rows(stream, specs, " ", datafile.row_count)
