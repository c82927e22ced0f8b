"""Diagnostic codes, grouping of repeats, and the text and JSON renderers.

The codes are stable: tools and people may rely on them. Each says what is wrong and how
to fix it, so a PI reading a report does not need FORMAT.md.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import Any

from formats.model import Diagnostic, Severity

logger = logging.getLogger(__name__)

CODES: dict[str, str] = {
    # The file as a whole
    "FMT001": "The content is not a format FieldCat reads. Send the campaign header format, "
    "ICARTT or NASA Ames as plain text.",
    "FMT002": "The format is recognised but this variant is not supported (e.g. an ICARTT or "
    "NASA Ames FFI other than the ones listed). Convert it to FFI 1001.",
    "FMT003": "The file could not be read in the format it claims; the message says where.",
    "FMT004": "A data line of this format is malformed; the message says what to fix.",
    "FMT005": "A value is not a number; write it as a number or as the missing-value code.",
    "FMT006": "Two variables share one name (ignoring case); give each a name of its own.",
    "FMT007": "A unit is not a UDUNITS unit; it is kept as the variable's original_units. "
    "Write a UDUNITS unit (e.g. m, hPa, degC, ppbv, m-3) if you can.",
    "TXT001": "The file is empty. Upload the data file itself.",
    "TXT002": "The file is not text (mostly binary bytes). Send the plain-text data file, "
    "not a spreadsheet, archive or image.",
    "TXT003": "The file starts with a byte-order mark (BOM). It is accepted; save the file "
    "as UTF-8 without BOM to silence this.",
    "TXT004": "Lines end with CR LF (Windows). They are accepted; save with LF ends to "
    "silence this.",
    "TXT005": "A control character (NUL, escape...) is on this line. Remove it; only TAB "
    "is allowed besides printable text.",
    "TXT006": "These bytes are not valid UTF-8. Save the file as UTF-8 (or plain ASCII).",
    # Header keys
    "HDR001": "A header line has no '='. Header lines are 'KEY = value'; indent a line to "
    "continue the previous value. Check that the '##END OF HEADER##' line is present.",
    "HDR002": "A keyword is spelled in a variant form; it was accepted. Use the spelling "
    "given in the message.",
    "HDR003": "Unknown keyword; it is kept as an extra attribute. Check its spelling if it "
    "should be a standard keyword.",
    "HDR004": "A required keyword is missing. Every file needs DID, FILE START TIME (UTC), "
    "FILE STOP TIME (UTC), PI NAME, PLATFORM, INSTRUMENT, LOCATION and DATA VERSION.",
    "HDR005": "A keyword is given twice (only REMARKS may repeat). Keep one of the lines "
    "named in the message.",
    "HDR006": "An indented line continues the previous header value. Accepted; put the "
    "value on one line, or use another REMARKS line, to silence this.",
    "HDR007": "The end-of-header line is spelled in a variant form; it was accepted. Write "
    "it exactly as '##END OF HEADER##'.",
    "HDR008": "The '##END OF HEADER##' line is missing. Add it after the last 'KEY = value' "
    "line, before the line of column names.",
    "HDR009": "A header value is not valid for its keyword (e.g. DID must be an integer, "
    "CATEGORY research or operational); the message says what is expected.",
    "HDR010": "A blank line inside the header was ignored. Remove it.",
    "HDR011": "A required keyword has an empty value. Fill it in.",
    # Column names and units
    "COL001": "The line of column names after '##END OF HEADER##' is missing.",
    "COL002": "The line of units after the column names is missing.",
    "COL003": "The number of units differs from the number of column names. Give one unit "
    "token for each name (UTC for the time column, 1 for a dimensionless value).",
    "COL004": "Two column names become the same once made safe for NetCDF (characters "
    "other than letters, digits and '_' turn into '_', case is ignored). Rename one.",
    "COL005": "Unknown unit: it is kept as written but not translated for NetCDF. Use a "
    "UDUNITS unit (e.g. m, hPa, degC, ppbv, m/s) if this is a typo.",
    "COL006": "The first column is the time column; its unit should be UTC.",
    # Times
    "TIM001": "A time is not valid. Use MMDDHHMMSS[.f], YYMMDDHHMMSS, YYYYMMDDHHMMSS[.f] or "
    "ISO 8601 (1999-02-01T00:00:00Z), with a real date and time of day.",
    "TIM002": "A time has no year (MMDDHHMMSS) or a two-digit year, and no campaign year was "
    "given. Pass the campaign year (--year) or write four-digit years.",
    "TIM003": "A row's time is earlier than the row before it. Rows must be in time order.",
    "TIM004": "A row has the same time as the row before it. Accepted; check for a duplicated row.",
    "TIM005": "A row's time is before FILE START TIME (UTC). Fix the row or the header.",
    "TIM006": "A row's time is after FILE STOP TIME (UTC). Fix the row or the header.",
    "TIM007": "FILE START TIME (UTC) is after FILE STOP TIME (UTC).",
    # Data rows and values
    "DAT001": "A data row has a different number of values than there are column names. "
    "Each row needs exactly one value a column; use the missing-value code for a gap.",
    "DAT002": "A value in a numeric column is not a number. Write a number, or the "
    "missing-value code declared in the header.",
    "DAT003": "'nan' or 'inf' is not allowed as a value. Use the missing-value or bad-value "
    "code declared in the header.",
    "DAT004": "The file has no data rows after the column names and units.",
    "DAT005": "A blank line among the data rows was ignored. Remove it.",
    "DAT006": "The file does not end with a line break; the upload may have been cut off. "
    "Check that the last row is complete.",
    # Sentinels
    "SEN001": "The same value is declared both missing and bad. Use different codes.",
    "SEN002": "A missing- or bad-value code is not a number. Write it as a number "
    "(e.g. 'Missing data = -9999').",
    "SEN003": "The missing- or bad-value code differs between its keyword and REMARKS; the "
    "keyword's value was used. Declare each code once.",
    # Location
    "LOC001": "LOCATION is mobile but no LAT/LON columns were found, so the file has no "
    "spatial extent until merged with navigation data. Add LAT and LON columns if you can.",
    "LOC002": "No coordinates for the fixed site: give them in LOCATION "
    "('Kaashidhoo; 4.965N 73.466E') or as LATITUDE and LONGITUDE keys.",
    "LOC003": "A coordinate is out of range (latitude -90..90, longitude -180..360).",
    # Instrument profiles (docs/streams.md): a raw line the profile cannot read
    "PRF001": "A raw line has more or fewer fields than the instrument profile names (an "
    "unknown or missing column). Fix the line, or the profile's fields if the logger changed.",
    "PRF002": "A raw line's time cannot be read with the profile's time format; the message "
    "gives the time and the format.",
    "PRF003": "A raw line's time is earlier than the line before it. Lines must arrive in "
    "time order; check the logger's clock.",
    "PRF004": "The file's line of column names differs from the instrument profile: a column "
    "is unknown to the profile or one it reads is missing.",
    "PRF005": "A value in a numeric column of a raw line is not a number. Fix the line, or "
    "list the token in the profile's missing_tokens.",
    # Limits (docs/limits.md): the file is refused before it is read further
    "LIM001": "The header (everything before the data) is larger than this center accepts. "
    "Check that the end-of-header line is there; shorten the header otherwise.",
    "LIM002": "A line is longer than this center accepts (the message gives its length and "
    "the limit). Check that lines end with line breaks; split long REMARKS over several lines.",
    "LIM003": "The file has more columns (variables) than this center accepts. Split it into "
    "files of fewer variables, or ask the center to raise the limit.",
    "LIM004": "The REMARKS (or comment lines) are longer than this center accepts. Shorten "
    "them; long documentation belongs in a separate document.",
}

_SEVERITY_ORDER = {Severity.ERROR: 0, Severity.WARNING: 1}
UNGROUPED_PREFIXES = ("HDR", "TXT", "COL", "SEN", "LOC", "FMT", "LIM")
"""Header-area findings are few and each says something different, so they stay apart."""


def describe(code: str) -> str:
    """What a code means and how to fix it (empty for an unknown code)."""
    return CODES.get(code, "")


def group(diags: Iterable[Diagnostic]) -> list[Diagnostic]:
    """Merge repeats of one code and subject (data-area codes) into one finding with the
    first line, last line and count."""
    ordered: list[Diagnostic] = []
    index: dict[tuple[str, Severity, str], int] = {}
    for diag in diags:
        if diag.code.startswith(UNGROUPED_PREFIXES):
            ordered.append(diag)
            continue
        # A message's subject comes before ": " (e.g. "numeric column O3: 'abc' ..."), so
        # findings about different columns stay apart.
        subject = diag.message.partition(": ")[0] if ": " in diag.message else ""
        key = (diag.code, diag.severity, subject)
        at = index.get(key)
        if at is None:
            index[key] = len(ordered)
            ordered.append(diag)
            continue
        first = ordered[at]
        last = max(first.last_line or first.line, diag.last_line or diag.line)
        ordered[at] = Diagnostic(
            code=first.code,
            severity=first.severity,
            message=first.message,
            line=min(first.line, diag.line) if first.line and diag.line else first.line,
            col=first.col,
            last_line=last,
            count=first.count + diag.count,
        )
    return sorted(ordered, key=lambda d: (d.line, d.col))


def render_text(diags: Sequence[Diagnostic], path: str) -> str:
    """One `path:line:col: severity CODE: message` a line (repeats summarised at the end)."""
    lines = []
    for diag in diags:
        text = f"{path}:{diag.line}:{diag.col}: {diag.severity.value} {diag.code}: {diag.message}"
        if diag.count > 1:
            text += f" ({diag.count} times, lines {diag.line}-{diag.last_line})"
        lines.append(text)
    return "\n".join(lines)


def render_json(diags: Sequence[Diagnostic], path: str) -> dict[str, Any]:
    """JSON-ready report: the path, validity, counts and each finding with its help text."""
    errors = sum(d.count for d in diags if d.severity is Severity.ERROR)
    warnings = sum(d.count for d in diags if d.severity is Severity.WARNING)
    findings = []
    for diag in diags:
        item = diag.to_dict()
        item["help"] = describe(diag.code)
        findings.append(item)
    return {
        "path": path,
        "valid": errors == 0,
        "errors": errors,
        "warnings": warnings,
        "diagnostics": findings,
    }
