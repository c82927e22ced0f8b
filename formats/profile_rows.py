"""Raw instrument lines to campaign header-format rows, by an instrument profile.

`RowReader` takes one raw line at a time (a file's lines, or a stream's as they arrive) and
gives a `Row` or a `Diagnostic` that names the raw line; `render` writes rows as a
header-format file. Values are copied as written (a sentinel token becomes the profile's
MISSING DATA value), so a conversion never changes a number.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from formats.model import Diagnostic, Severity
from formats.profiles import ColumnSpec, Field, Profile

STRING_UNITS = {"ID", "NUMBER"}
"""Units of string columns in the header format: their values are not checked as numbers."""


@dataclass(frozen=True)
class Row:
    """One accepted line: its raw line number, time and values as they will be written."""

    line: int
    time: datetime
    values: tuple[str, ...]

    def text(self) -> str:
        """The row as a header-format data line."""
        return " ".join((iso_time(self.time), *self.values))


def iso_time(when: datetime) -> str:
    """ISO 8601 in UTC, with a fraction only when there is one."""
    text = when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")
    if when.microsecond:
        text += f".{when.microsecond:06d}".rstrip("0")
    return text + "Z"


def _error(code: str, line: int, message: str) -> Diagnostic:
    return Diagnostic(code=code, severity=Severity.ERROR, message=message, line=line)


class RowReader:
    """Reads a profile's raw lines one by one, checking fields, numbers and time order."""

    def __init__(self, profile: Profile, last_time: datetime | None = None) -> None:
        self.profile = profile
        self.last_time = last_time
        self.base_time: datetime | None = None
        self.names: list[str] = list(profile.fields)

    def is_data(self, number: int, text: str) -> bool:
        """Whether a raw line is a data line (not a logger header, comment or other sentence)."""
        profile = self.profile
        if number <= profile.skip_lines or not text.strip():
            return False
        if profile.comment and text.lstrip().startswith(profile.comment):
            return False
        return not profile.line_prefix or text.startswith(profile.line_prefix)

    def note_header_line(self, number: int, text: str) -> Diagnostic | None:
        """Take the names line and the elapsed-time base from the lines before the data."""
        if number == self.profile.names_line:
            written = self._names_of(text)
            if unknown := [name for name in written if self.names and name not in self.names]:
                return _error("PRF004", number, f"unknown column {', '.join(unknown)} "
                              f"(profile {self.profile.name}): {text.strip()}")  # fmt: skip
            self.names = written
            if missing := [f for f in self._named_fields() if f not in self.names]:
                return _error("PRF004", number, f"the names line lacks {', '.join(missing)} "
                              f"(profile {self.profile.name}): {text.strip()}")  # fmt: skip
        spec = self.profile.time
        if spec.base_pattern and (match := re.search(spec.base_pattern, text)):
            try:
                base = datetime.strptime(match.group(1).strip(), spec.base_format)
            except ValueError:
                return _error("PRF002", number, f"base time not in {spec.base_format!r}: {text}")
            self.base_time = base.replace(tzinfo=UTC)
        return None

    def _names_of(self, text: str) -> list[str]:
        if self.profile.delimiter == "whitespace" or self.profile.kind == "fixed":
            return text.split()
        return [_unquote(token) for token in text.split(self.profile.delimiter)]

    def _named_fields(self) -> list[str]:
        refs: list[Field | None] = [*self.profile.time.fields, self.profile.time.elapsed_field]
        for column in self.profile.columns:
            refs += [column.field, column.hemisphere_field]
        return [ref for ref in refs if isinstance(ref, str)]

    def read(self, number: int, text: str) -> Row | Diagnostic:
        """The row of one data line, or the diagnostic that names why it was refused."""
        text = text.rstrip("\r\n")
        try:
            fields = self._split(text)
            when = self._time(fields)
            values = tuple(self._value(column, fields) for column in self.profile.columns)
        except _LineError as err:
            return _error(err.code, number, f"{err}: {text}")
        if self.last_time is not None and when < self.last_time:
            return _error("PRF003", number, f"time {iso_time(when)} is before the previous "
                          f"line's {iso_time(self.last_time)}: {text}")  # fmt: skip
        self.last_time = when
        return Row(number, when, values)

    def _split(self, text: str) -> list[str]:
        profile = self.profile
        if profile.kind == "fixed":
            starts = [sum(profile.widths[:i]) for i in range(len(profile.widths))]
            return [text[a : a + w].strip() for a, w in zip(starts, profile.widths, strict=True)]
        tokens = (
            text.split() if profile.delimiter == "whitespace" else text.split(profile.delimiter)
        )
        fields = [_unquote(token) for token in tokens]
        if self.names and len(fields) != len(self.names):
            raise _LineError("PRF001", f"{len(fields)} fields where the profile names "
                             f"{len(self.names)} (an unknown or missing column)")  # fmt: skip
        return fields

    def _get(self, fields: Sequence[str], ref: Field) -> str:
        index = self.names.index(ref) if isinstance(ref, str) else ref - 1
        if index >= len(fields):
            raise _LineError("PRF001", f"{len(fields)} fields; the profile reads field {index + 1}")
        return fields[index]

    def _time(self, fields: Sequence[str]) -> datetime:
        spec = self.profile.time
        if spec.elapsed_field is not None:
            if self.base_time is None:
                raise _LineError("PRF002", f"no base time matching {spec.base_pattern!r} before")
            seconds = _number(self._get(fields, spec.elapsed_field), "PRF002")
            return self.base_time + timedelta(seconds=seconds)
        joined = " ".join(self._get(fields, ref) for ref in spec.fields)
        try:
            return datetime.strptime(joined, spec.format).replace(tzinfo=UTC)
        except ValueError as err:
            raise _LineError("PRF002", f"time {joined!r} is not in {spec.format!r}") from err

    def _value(self, column: ColumnSpec, fields: Sequence[str]) -> str:
        token = self._get(fields, column.field)
        if token == "" or token in self.profile.missing_tokens:
            return str(self.profile.header["missing"])
        if column.unit in STRING_UNITS:
            return token
        value = _number(token, "PRF005", column.name)
        if not column.degmin:
            return token
        degrees = int(value / 100) + (value % 100) / 60
        if column.hemisphere_field is not None:
            hemisphere = self._get(fields, column.hemisphere_field).upper()
            degrees = -degrees if hemisphere in ("S", "W") else degrees
        return f"{degrees:.6f}"


class _LineError(ValueError):
    def __init__(self, code: str, message: str) -> None:
        self.code = code
        super().__init__(message)


def _unquote(token: str) -> str:
    return token.strip().strip('"').strip()


def _number(token: str, code: str, name: str = "") -> float:
    try:
        value = float(token)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        where = f" in column {name}" if name else ""
        raise _LineError(code, f"{token!r}{where} is not a number")
    return value


def read_lines(profile: Profile, text: str) -> tuple[list[Row], list[Diagnostic]]:
    """Every data line of a raw file: its rows and the diagnostics of refused lines."""
    reader = RowReader(profile)
    rows: list[Row] = []
    diagnostics: list[Diagnostic] = []
    for number, line in enumerate(text.splitlines(), 1):
        if not reader.is_data(number, line):
            if note := reader.note_header_line(number, line):
                diagnostics.append(note)
            continue
        result = reader.read(number, line)
        (rows if isinstance(result, Row) else diagnostics).append(result)  # type: ignore[arg-type]
    if not rows and not diagnostics:
        diagnostics.append(_error("DAT004", 0, f"no data lines for profile {profile.name}"))
    return rows, diagnostics


def convert(
    profile: Profile,
    text: str,
    *,
    source: str,
    did: int | None = None,
    data_version: str | None = None,
) -> tuple[str | None, list[Diagnostic]]:
    """A raw file as header-format text (None when a line was refused) and the diagnostics."""
    rows, diagnostics = read_lines(profile, text)
    if diagnostics:
        return None, diagnostics
    did = did if did is not None else int(profile.header["did"])
    version = data_version or str(profile.header["data_version"])
    return render(profile, rows, did=did, data_version=version, source=source), []


def render(
    profile: Profile, rows: Iterable[Row], *, did: int, data_version: str, source: str
) -> str:
    """The rows as a campaign header-format file, with the profile's header defaults."""
    rows = list(rows)
    header = profile.header
    lines = [
        f"DID = {did}",
        f"FILE START TIME (UTC) = {iso_time(rows[0].time)}",
        f"FILE STOP TIME (UTC) = {iso_time(rows[-1].time)}",
        f"PI NAME = {header['pi']}",
        f"PLATFORM = {header['platform']}",
        f"INSTRUMENT = {header['instrument']}",
        f"LOCATION = {header['location']}",
        f"DATA VERSION = {data_version}",
        f"MISSING DATA = {header['missing']}",
    ]
    for key, label in (("bad", "BAD DATA"), ("project", "PROJECT"), ("category", "CATEGORY"),
                       ("latitude", "LATITUDE"), ("longitude", "LONGITUDE")):  # fmt: skip
        if header.get(key) not in (None, ""):
            lines.append(f"{label} = {header[key]}")
    lines += [f"REMARKS = {remark}" for remark in header.get("remarks", [])]
    lines.append(f"REMARKS = converted from {source} by instrument profile {profile.name}")
    lines += [
        "##END OF HEADER##",
        " ".join(["DATE/TIME", *(column.name for column in profile.columns)]),
        " ".join(["UTC", *(column.unit for column in profile.columns)]),
    ]
    lines += [row.text() for row in rows]
    return "\n".join(lines) + "\n"
