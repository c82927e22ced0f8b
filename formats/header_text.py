"""Whole-file text checks of the header format: empty, binary, BOM, CRLF, control bytes, UTF-8.

Each check runs over the whole buffer at C speed (`bytes.translate`, `isascii`), and only
when it finds something does a slower pass locate the lines.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass

from formats.model import Diagnostic, Severity

logger = logging.getLogger(__name__)

BOM = b"\xef\xbb\xbf"
_ALLOWED = bytes(range(32, 127)) + b"\t\n\r" + bytes(range(128, 256))
_CONTROL = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]|\r(?!\n)")
_MAX_LOCATED = 1000
_BINARY_SAMPLE = 8192
_BINARY_RATIO = 0.10


MAX_LINE_FINDINGS = 100
"""Per code, the header-line findings (HDR001, HDR006, HDR010) reported one by one; the rest
become one finding with their count and last line."""
_LINE_SEVERITIES = {
    "HDR001": Severity.ERROR,
    "HDR006": Severity.WARNING,
    "HDR010": Severity.WARNING,
}


def error(code: str, message: str, line: int = 0, col: int = 0) -> Diagnostic:
    """An error-severity finding."""
    return Diagnostic(code=code, severity=Severity.ERROR, message=message, line=line, col=col)


def warning(code: str, message: str, line: int = 0, col: int = 0) -> Diagnostic:
    """A warning-severity finding."""
    return Diagnostic(code=code, severity=Severity.WARNING, message=message, line=line, col=col)


@dataclass
class TextCheck:
    """Result of the text checks: the data without BOM, findings, and whether to stop."""

    data: bytes
    diagnostics: list[Diagnostic]
    fatal: bool
    offset: int = 0
    """Bytes removed from the front (the BOM), for mapping positions back."""


def looks_binary(data: bytes) -> bool:
    """True when the head of `data` is mostly not text (a stray NUL does not count)."""
    head = data[:_BINARY_SAMPLE]
    if not head:
        return False
    text = head.decode("utf-8", "replace")
    if len(head) == _BINARY_SAMPLE:
        text = text[:-3]  # a multi-byte character cut at the sample's end is not a fault
    bad = sum(1 for ch in text if ch == "\ufffd" or (ord(ch) < 32 and ch not in "\t\n\r"))
    return bad > max(1, len(text) * _BINARY_RATIO)


def line_of(data: bytes, pos: int) -> tuple[int, int]:
    """1-based line and column of byte `pos`."""
    line_start = data.rfind(b"\n", 0, pos) + 1
    return data.count(b"\n", 0, pos) + 1, pos - line_start + 1


def check_text(data: bytes) -> TextCheck:
    """Run the whole-file checks; `fatal` when nothing more can be read (empty, binary)."""
    diags: list[Diagnostic] = []
    if not data or data.isspace():
        return TextCheck(data, [error("TXT001", "the file is empty")], fatal=True)
    offset = 0
    if data.startswith(BOM):
        diags.append(warning("TXT003", "the file starts with a UTF-8 byte-order mark", 1, 1))
        data, offset = data[len(BOM) :], len(BOM)
    if looks_binary(data):
        diags.append(error("TXT002", "the file is binary, not text"))
        return TextCheck(data, diags, fatal=True, offset=offset)
    if b"\r" in data and b"\r\n" in data:
        diags.append(warning("TXT004", "lines end with CR LF (Windows line ends)"))
    lone_cr = b"\r" in data and data.count(b"\r") != data.count(b"\r\n")
    if lone_cr or data.translate(None, _ALLOWED):
        diags.extend(_control_findings(data))
    if not data.isascii():
        diags.extend(_utf8_findings(data))
    return TextCheck(data, diags, fatal=False, offset=offset)


def _control_findings(data: bytes) -> list[Diagnostic]:
    found: list[Diagnostic] = []
    last_line = 0
    pos, line = 0, 1
    for match in _CONTROL.finditer(data):
        # Lines are counted on from the previous finding: counting from the start of the
        # file for each of them is quadratic.
        start = match.start()
        line += data.count(b"\n", pos, start)
        pos = start
        if line == last_line:
            continue
        last_line = line
        col = start - data.rfind(b"\n", 0, start)
        byte = match.group()[0]
        found.append(
            error("TXT005", f"control character 0x{byte:02X} in the text", line=line, col=col)
        )
        if len(found) >= _MAX_LOCATED:
            break
    return found


def _utf8_findings(data: bytes) -> list[Diagnostic]:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as err:
        first = err.start
    else:
        return []
    found: list[Diagnostic] = []
    pos = data.rfind(b"\n", 0, first) + 1
    lineno = data.count(b"\n", 0, pos) + 1
    while pos < len(data) and len(found) < _MAX_LOCATED:
        end = data.find(b"\n", pos)
        end = len(data) if end < 0 else end
        try:
            data[pos:end].decode("utf-8")
        except UnicodeDecodeError as err:
            message = "bytes that are not valid UTF-8"
            found.append(error("TXT006", message, line=lineno, col=err.start + 1))
        pos, lineno = end + 1, lineno + 1
    return found


def iter_lines(
    data: bytes, pos: int = 0, lineno: int = 1, end: int | None = None
) -> Iterator[tuple[int, int, str]]:
    """(line number, offset of the next line, text without its line end) from `pos` to `end`."""
    size = len(data) if end is None else end
    while pos < size:
        stop = data.find(b"\n", pos, size)
        nxt = size if stop < 0 else stop + 1
        raw = data[pos : size if stop < 0 else stop]
        if raw.endswith(b"\r"):
            raw = raw[:-1]
        yield lineno, nxt, raw.decode("utf-8", "replace")
        pos, lineno = nxt, lineno + 1


class LineFindings:
    """Header-line findings: the first `MAX_LINE_FINDINGS` of each code one by one, then
    only counted (building a finding for each of a million lines is what costs)."""

    def __init__(self, diags: list[Diagnostic]) -> None:
        self.diags = diags
        self.counts: dict[str, int] = {}
        self.rest: dict[str, list[int]] = {}
        """Per code beyond the first ones: first line, last line."""

    def wants(self, code: str, line: int) -> bool:
        """Whether to report this one in full (else it is counted for the summary)."""
        seen = self.counts.get(code, 0)
        self.counts[code] = seen + 1
        if seen < MAX_LINE_FINDINGS:
            return True
        self.rest.setdefault(code, [line, line])[1] = line
        return False

    def close(self) -> None:
        """Add one finding for each code's uncounted rest."""
        for code, (first, last) in self.rest.items():
            count = self.counts[code] - MAX_LINE_FINDINGS
            message = f"{count:,} more header lines like this"
            severity = _LINE_SEVERITIES[code]
            self.diags.append(Diagnostic(code, severity, message, first, 1, last, count))
