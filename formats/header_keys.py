"""The `KEY = value` header of the campaign format: lines, keys, values, sentinels."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import datetime

from formats.extent import parse_coordinate, parse_site
from formats.header_text import LineFindings, error, iter_lines, warning
from formats.limits import (
    DEFAULT_LIMITS,
    MAX_DATA_VERSION_CHARS,
    MAX_DID,
    Limits,
    header_too_big,
    remarks_too_long,
)
from formats.model import Diagnostic, Header
from formats.timeparse import CampaignTime, MissingYearError, TimeValueError, parse_time

logger = logging.getLogger(__name__)

MARKER = "##END OF HEADER##"
REQUIRED = (
    "DID",
    "FILE START TIME (UTC)",
    "FILE STOP TIME (UTC)",
    "PI NAME",
    "PLATFORM",
    "INSTRUMENT",
    "LOCATION",
    "DATA VERSION",
)
OPTIONAL = (
    "REMARKS",
    "MISSING DATA",
    "BAD DATA",
    "PROJECT",
    "CATEGORY",
    "LATITUDE",
    "LONGITUDE",
    "ALTITUDE",
)
KEY_ORDER = REQUIRED + OPTIONAL
CATEGORIES = ("research", "operational")


def _compact(key: str) -> str:
    return re.sub(r"[\s_\-.]", "", key.upper())


_VARIANTS: dict[str, str] = {_compact(k): k for k in KEY_ORDER}
_VARIANTS.update(
    {
        "FILESTARTTIME": "FILE START TIME (UTC)",
        "STARTTIME(UTC)": "FILE START TIME (UTC)",
        "STARTTIME": "FILE START TIME (UTC)",
        "FILESTOPTIME": "FILE STOP TIME (UTC)",
        "STOPTIME(UTC)": "FILE STOP TIME (UTC)",
        "STOPTIME": "FILE STOP TIME (UTC)",
        "FILEENDTIME(UTC)": "FILE STOP TIME (UTC)",
        "FILEENDTIME": "FILE STOP TIME (UTC)",
        "PI": "PI NAME",
        "PRINCIPALINVESTIGATOR": "PI NAME",
        "VERSION": "DATA VERSION",
        "REMARK": "REMARKS",
        "MISSINGVALUE": "MISSING DATA",
        "MISSINGDATAVALUE": "MISSING DATA",
        "BADVALUE": "BAD DATA",
        "BADDATAVALUE": "BAD DATA",
        "LAT": "LATITUDE",
        "LON": "LONGITUDE",
        "LONG": "LONGITUDE",
        "ALT": "ALTITUDE",
    }
)
# Linear on hostile lines: no two adjacent runs can share a character (`#*\s*` after a
# strip, `(?:#+[ \t]*)?` instead of `#*[ \t]*`, `\d+(?:\.\d*)?` instead of `\d+\.?\d*`),
# so a long run of spaces or digits is never split between two quantifiers.
_MARKER_RE = re.compile(r"#*\s*END\s*OF\s*HEADER\s*#*", re.IGNORECASE)
_MARKER_BYTES_RE = re.compile(
    rb"(?im)^[ \t]*(?:#+[ \t]*)?END[ \t]*OF[ \t]*HEADER(?:[ \t]*#+)?[ \t]*\r?$"
)
NUMBER_RE = re.compile(r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?", re.ASCII)
_SENTINEL_RE = {
    kind: re.compile(
        rf"{kind}\s+(?:data|values?)\s*(?:=|:|is)\s*({NUMBER_RE.pattern})",
        re.IGNORECASE | re.ASCII,
    )
    for kind in ("missing", "bad")
}


@dataclass
class Entry:
    """One header keyword as written: its line, canonical key, raw key and value."""

    line: int
    key: str
    raw_key: str
    value: str


@dataclass
class HeaderSection:
    """The parsed header: metadata, where the data starts, and what was found."""

    header: Header
    diagnostics: list[Diagnostic] = field(default_factory=list)
    marker_line: int | None = None
    data_offset: int = 0
    """Byte offset of the line after the marker."""
    text: str = ""
    entries: list[Entry] = field(default_factory=list)


def is_marker(line: str) -> bool:
    """True for `##END OF HEADER##` and its variants in case or spacing."""
    return bool(_MARKER_RE.fullmatch(line.strip()))


def canonical_key(raw: str) -> str | None:
    """The standard keyword a raw key stands for, or None for an unknown key."""
    return _VARIANTS.get(_compact(raw))


def _normal(raw: str) -> str:
    return " ".join(raw.upper().split())


def split_header(data: bytes, limits: Limits = DEFAULT_LIMITS) -> HeaderSection:
    """Read header lines up to the end marker into entries (values not yet interpreted)."""
    section = HeaderSection(header=Header())
    diags = section.diagnostics
    findings = LineFindings(diags)
    cap = limits.max_header_bytes
    marker_ahead = _MARKER_BYTES_RE.search(data, 0, cap) is not None
    texts: list[str] = []
    parts: list[str] = []
    """Continuation lines of the last entry, joined once (joining each time is quadratic)."""
    can_continue = False
    for lineno, nxt, line in iter_lines(data):
        if nxt > cap and not is_marker(line):
            diags.append(header_too_big(nxt, lineno, limits))
            break
        texts.append(line)
        if is_marker(line):
            section.marker_line, section.data_offset = lineno, nxt
            if line.strip() != MARKER:
                diags.append(
                    warning("HDR007", f"end-of-header line written {line.strip()!r}", lineno, 1)
                )
            break
        if not line.strip():
            if findings.wants("HDR010", lineno):
                diags.append(warning("HDR010", "blank line in the header", lineno))
            can_continue = False
            continue
        if line[0] in " \t" and can_continue:
            parts.append(line.strip())
            if findings.wants("HDR006", lineno):
                message = f"indented line continues {section.entries[-1].key}"
                diags.append(warning("HDR006", message, lineno, 1))
            continue
        _join_parts(section, parts)
        if "=" not in line:
            if findings.wants("HDR001", lineno):
                message = f"{line.strip()[:40]!r} is not a 'KEY = value' line"
                diags.append(error("HDR001", message, lineno, 1))
            can_continue = False
            if not marker_ahead:
                break
            continue
        raw_key, _, value = line.partition("=")
        section.entries.append(_entry(lineno, raw_key, value, diags))
        can_continue = True
    _join_parts(section, parts)
    findings.close()
    if section.marker_line is None and not any(d.code == "LIM001" for d in diags):
        diags.append(error("HDR008", "no '##END OF HEADER##' line was found"))
    section.text = "\n".join(texts) + "\n"
    return section


def _join_parts(section: HeaderSection, parts: list[str]) -> None:
    if parts:
        entry = section.entries[-1]
        entry.value = " ".join([entry.value, *parts]).strip()
        parts.clear()


def _entry(lineno: int, raw_key: str, value: str, diags: list[Diagnostic]) -> Entry:
    canon = canonical_key(raw_key)
    normal = _normal(raw_key)
    if canon is None:
        diags.append(warning("HDR003", f"unknown keyword {normal!r} (kept)", lineno, 1))
        return Entry(lineno, normal, raw_key, value.strip())
    if raw_key.strip() != canon:
        diags.append(warning("HDR002", f"keyword {raw_key.strip()!r} read as {canon!r}", lineno, 1))
    return Entry(lineno, canon, raw_key, value.strip())


def build_header(
    section: HeaderSection, campaign: CampaignTime | None, limits: Limits = DEFAULT_LIMITS
) -> None:
    """Interpret the entries into `section.header`, adding what is wrong to the findings."""
    diags = section.diagnostics
    header = section.header
    seen: dict[str, Entry] = {}
    remarks_chars = 0
    for entry in section.entries:
        if entry.key == "REMARKS":
            remarks_chars += len(entry.value)
            if remarks_chars > limits.max_remarks_chars:
                diags.append(remarks_too_long(remarks_chars, entry.line, limits))
                header.remarks.clear()
                break
            header.remarks.append(entry.value)
            continue
        first = seen.get(entry.key)
        if first is not None:
            message = f"{entry.key} is given twice: on line {first.line} and line {entry.line}"
            diags.append(error("HDR005", message, entry.line, 1))
            continue
        seen[entry.key] = entry
    for key in REQUIRED:
        if key not in seen:
            diags.append(error("HDR004", f"required keyword {key} is missing"))
        elif not seen[key].value:
            diags.append(error("HDR011", f"{key} has no value", seen[key].line, 1))
    _fill_text_fields(header, seen)
    _check_version(seen, diags)
    _fill_did(header, seen, diags)
    _fill_times(header, seen, campaign, diags)
    _fill_category(header, seen, diags)
    _fill_position(header, seen, diags)
    _fill_sentinels(header, seen, diags)


def _fill_text_fields(header: Header, seen: dict[str, Entry]) -> None:
    def get(key: str) -> str:
        entry = seen.get(key)
        return entry.value if entry else ""

    header.pi_name = get("PI NAME")
    header.platform = get("PLATFORM")
    header.instrument = get("INSTRUMENT")
    header.location = get("LOCATION")
    header.data_version = get("DATA VERSION")
    header.project = get("PROJECT") or None
    for key, entry in seen.items():
        if key not in KEY_ORDER:
            header.extra[key] = entry.value


def _check_version(seen: dict[str, Entry], diags: list[Diagnostic]) -> None:
    entry = seen.get("DATA VERSION")
    if entry is not None and len(entry.value) > MAX_DATA_VERSION_CHARS:
        message = (
            f"DATA VERSION is {len(entry.value):,} characters long; "
            f"it may have at most {MAX_DATA_VERSION_CHARS}"
        )
        diags.append(error("HDR009", message, entry.line, 1))


def _fill_did(header: Header, seen: dict[str, Entry], diags: list[Diagnostic]) -> None:
    entry = seen.get("DID")
    if entry is None or not entry.value:
        return
    if not re.fullmatch(r"[+-]?\d+", entry.value):
        message = f"DID must be an integer, not {entry.value[:40]!r}"
        diags.append(error("HDR009", message, entry.line, 1))
    elif len(entry.value.lstrip("+-0")) > len(str(MAX_DID)) or abs(int(entry.value)) > MAX_DID:
        # The length test first: int() of thousands of digits is slow (and refused).
        digits = len(entry.value.lstrip("+-"))
        shown = entry.value if digits <= 30 else f"{entry.value[:20]}... ({digits:,} digits)"
        message = f"DID {shown} is too large; a DID is at most {MAX_DID:,}"
        diags.append(error("HDR009", message, entry.line, 1))
    else:
        header.did = int(entry.value)


def _header_time(
    entry: Entry | None,
    campaign: CampaignTime | None,
    base: datetime | None,
    diags: list[Diagnostic],
) -> datetime | None:
    if entry is None or not entry.value:
        return None
    try:
        return parse_time(entry.value, campaign, base)
    except MissingYearError:
        message = f"{entry.key} {entry.value!r} has no year: give the campaign year (--year)"
        diags.append(error("TIM002", message, entry.line, 1))
    except TimeValueError:
        message = f"{entry.key} {entry.value[:40]!r} is not a valid time"
        diags.append(error("TIM001", message, entry.line, 1))
    return None


def _fill_times(
    header: Header, seen: dict[str, Entry], campaign: CampaignTime | None, diags: list[Diagnostic]
) -> None:
    start_entry = seen.get("FILE START TIME (UTC)")
    header.start = _header_time(start_entry, campaign, None, diags)
    header.stop = _header_time(seen.get("FILE STOP TIME (UTC)"), campaign, header.start, diags)
    if header.start and header.stop and header.start > header.stop:
        line = seen["FILE STOP TIME (UTC)"].line
        message = (
            f"FILE START TIME {header.start:%Y-%m-%dT%H:%M:%SZ} is after "
            f"FILE STOP TIME {header.stop:%Y-%m-%dT%H:%M:%SZ}"
        )
        diags.append(error("TIM007", message, line, 1))


def _fill_category(header: Header, seen: dict[str, Entry], diags: list[Diagnostic]) -> None:
    entry = seen.get("CATEGORY")
    if entry is None or not entry.value:
        return
    value = entry.value.strip().lower()
    if value in CATEGORIES:
        header.category = value
    else:
        message = f"CATEGORY must be research or operational, not {entry.value[:40]!r}"
        diags.append(error("HDR009", message, entry.line, 1))


def _coordinate(
    entry: Entry | None, limits: tuple[str, str, float, float], diags: list[Diagnostic]
) -> float | None:
    if entry is None or not entry.value:
        return None
    positive, negative, low, high = limits
    try:
        value = parse_coordinate(entry.value, positive, negative)
    except ValueError:
        message = f"{entry.key} must be a number of degrees, not {entry.value[:40]!r}"
        diags.append(error("HDR009", message, entry.line, 1))
        return None
    if not low <= value <= high:
        diags.append(error("LOC003", f"{entry.key} {value} is out of range", entry.line, 1))
        return None
    return value


def _fill_position(header: Header, seen: dict[str, Entry], diags: list[Diagnostic]) -> None:
    header.latitude = _coordinate(seen.get("LATITUDE"), ("N", "S", -90.0, 90.0), diags)
    header.longitude = _coordinate(seen.get("LONGITUDE"), ("E", "W", -180.0, 360.0), diags)
    alt = seen.get("ALTITUDE")
    if alt is not None and alt.value:
        match = NUMBER_RE.match(alt.value.strip())
        if match:
            header.altitude = float(match.group())
        else:
            message = f"ALTITUDE must be a number of metres, not {alt.value[:40]!r}"
            diags.append(error("HDR009", message, alt.line, 1))
    if header.latitude is None and header.longitude is None and header.location:
        site = parse_site(header.location)
        if site is not None:
            lat, lon = site
            if -90.0 <= lat <= 90.0 and -180.0 <= lon <= 360.0:
                header.latitude, header.longitude = lat, lon
            else:
                line = seen["LOCATION"].line
                diags.append(
                    error("LOC003", f"LOCATION coordinates {lat}, {lon} are out of range", line, 1)
                )


def _sentinel_from_key(entry: Entry | None, diags: list[Diagnostic]) -> float | None:
    if entry is None or not entry.value:
        return None
    if NUMBER_RE.fullmatch(entry.value.strip()):
        return float(entry.value)
    message = f"{entry.key} must be a number, not {entry.value[:40]!r}"
    diags.append(error("SEN002", message, entry.line, 1))
    return None


def _sentinel_from_remarks(kind: str, remarks: list[str]) -> float | None:
    for text in remarks:
        match = _SENTINEL_RE[kind].search(text)
        if match:
            return float(match.group(1))
    return None


def _fill_sentinels(header: Header, seen: dict[str, Entry], diags: list[Diagnostic]) -> None:
    values: dict[str, float | None] = {}
    for kind, key in (("missing", "MISSING DATA"), ("bad", "BAD DATA")):
        from_key = _sentinel_from_key(seen.get(key), diags)
        from_remarks = _sentinel_from_remarks(kind, header.remarks)
        value = from_key if from_key is not None else from_remarks
        if from_key is not None and from_remarks is not None and from_key != from_remarks:
            message = (
                f"{key} is {from_key:g} but REMARKS say {from_remarks:g}; {from_key:g} is used"
            )
            diags.append(warning("SEN003", message, seen[key].line, 1))
        values[kind] = value
    header.missing_value, header.bad_value = values["missing"], values["bad"]
    if header.missing_value is not None and header.missing_value == header.bad_value:
        message = f"{header.missing_value:g} is declared both missing and bad"
        diags.append(error("SEN001", message))
