"""Hostile inputs of a given size, shaped after what once made the readers quadratic.

Each builder takes a size `n` (about the number of bytes of the hostile part) and gives a
whole file that reaches the code in question: a valid file around one long run of spaces,
digits or letters, or many short lines. Shared by the linear-time tests and the server tests.
"""

from __future__ import annotations

from collections.abc import Callable

from tests.formats.conftest import SAMPLES

_KCO = b"""DID = 31
FILE START TIME (UTC) = 1999-02-01T00:00:00Z
FILE STOP TIME (UTC) = 1999-02-14T23:00:00Z
PI NAME = Lobert, Jurgen (SIO)
PLATFORM = KCO
INSTRUMENT = Kaashidhoo Climate Observatory surface package
LOCATION = Kaashidhoo, Maldives; 4.965N 73.466E
DATA VERSION = 2.1
REMARKS = Hourly means; missing data = -9999
"""
_NAMES = b"DATE/TIME O3 AOD500 RH WSPD\nUTC ppbv 1 % m/s\n"
_ROWS = b"".join(b"1999-02-01T%02d:00:00Z 18.20 0.358 80.4 4.51\n" % hour for hour in range(24))
MARKER = b"##END OF HEADER##\n"


def header_file(extra: bytes = b"", *, replace: tuple[bytes, bytes] | None = None) -> bytes:
    """The campaign format's example file with `extra` header lines (or one line replaced)."""
    head = _KCO if replace is None else _KCO.replace(*replace)
    return head + extra + MARKER + _NAMES + _ROWS


def rows_file(rows: bytes) -> bytes:
    """The example file's header, names and units over other `rows`."""
    head = _KCO.replace(b"1999-02-14T23", b"1999-03-31T23")
    return head + MARKER + _NAMES + rows


def wide_file(columns: int) -> bytes:
    """A valid header-format file of `columns` data columns and three rows."""
    names = b"DATE/TIME " + b" ".join(b"C%d" % i for i in range(columns)) + b"\n"
    units = b"UTC " + b" ".join([b"1"] * columns) + b"\n"
    rows = b"".join(
        b"1999-02-01T0%d:00:00Z " % hour + b" ".join([b"1.5"] * columns) + b"\n"
        for hour in range(3)
    )
    return _KCO + MARKER + names + units + rows


def _icartt() -> list[bytes]:
    assert SAMPLES is not None
    path = SAMPLES / "real" / "ACTAMERICA-flag-metadata_C130_20170206_R0.ict"
    return path.read_bytes().splitlines(keepends=True)


def icartt_comments(extra: list[bytes]) -> bytes:
    """The ACT-America ICARTT sample with `extra` normal comment lines after OTHER_COMMENTS."""
    lines = _icartt()
    nlhead = int(lines[0].split(b",")[0])
    at = next(i for i, line in enumerate(lines) if line.startswith(b"OTHER_COMMENTS"))
    nncoml_at = next(i for i in range(nlhead - 1, 0, -1) if lines[i].strip().isdigit())
    lines[nncoml_at] = b"%d\n" % (int(lines[nncoml_at]) + len(extra))
    lines[0] = b"%d, 1001\n" % (nlhead + len(extra))
    return b"".join(lines[: at + 1] + extra + lines[at + 1 :])


def _nasa() -> list[bytes]:
    assert SAMPLES is not None
    return (SAMPLES / "real" / "nasa_ames_1001.na").read_bytes().splitlines(keepends=True)


def nasa_line(index: int, text: bytes) -> bytes:
    """The NASA Ames 1001 sample with line `index` (0-based) replaced by `text`."""
    lines = _nasa()
    lines[index] = text + b"\n"
    return b"".join(lines)


SHAPES: dict[str, Callable[[int], bytes]] = {
    "header line of spaces": lambda n: header_file(b" " * n + b"\n"),
    "REMARKS of one word": lambda n: header_file(b"REMARKS = " + b"a" * n + b"\n"),
    "REMARKS of spaces": lambda n: header_file(b"REMARKS = missing" + b" " * n + b"x\n"),
    "sentinel of digits": lambda n: header_file(b"MISSING DATA = " + b"1" * n + b"x\n"),
    "LOCATION of spaces": lambda n: header_file(
        replace=(b"LOCATION = Kaashidhoo", b"LOCATION = 1" + b" " * n + b"x")
    ),
    "LOCATION of digits": lambda n: header_file(
        replace=(b"LOCATION = Kaashidhoo", b"LOCATION = " + b"1" * n + b" x")
    ),
    "DID of digits": lambda n: header_file(replace=(b"DID = 31", b"DID = " + b"1" * n)),
    "continuation lines": lambda n: header_file(b"REMARKS = x\n" + b"  x\n" * (n // 4)),
    "lines without '='": lambda n: header_file(b"x\n" * (n // 2)),
    "control characters": lambda n: header_file() + (b"\x01" + b"y" * 30 + b"\n") * (n // 32),
    "data token of digits": lambda n: (
        header_file() + b"1999-02-02T00:00:00Z 1" + b"1" * n + b"x 1 1 1\n"
    ),
    "data line of spaces": lambda n: header_file() + b"1999-02-02T00:00:00Z" + b" " * n + b"1\n",
    "columns": lambda n: wide_file(n // 8),
    "ICARTT comment continuations": lambda n: icartt_comments([b" more\n"] * (n // 6)),
    "ICARTT comment of spaces": lambda n: icartt_comments([b" " * n + b"x:\n"]),
    "NASA Ames name of spaces": lambda n: nasa_line(12, b"Ascent" + b" " * n + b"Rate (m/s)"),
    "NASA Ames comment of spaces": lambda n: nasa_line(17, b"1" + b" " * n + b"x"),
}
"""Shape name -> builder of a file whose hostile part is about `n` bytes."""
