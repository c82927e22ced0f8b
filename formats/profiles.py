"""Instrument profiles: TOML files that say how a raw instrument file or line (a logger CSV,
NMEA sentences, a radiosonde system's text output) becomes the campaign header format.

A profile is data, not code: a new instrument needs a new TOML file only. `load_profile`
checks a profile and raises `ProfileError` naming the file, the key and its line;
`formats.profile_rows` turns raw lines into rows and renders a header-format file, which
the intake then validates like any other (docs/streams.md).
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

TOP_KEYS = {
    "name", "kind", "fields", "delimiter", "widths", "names_line", "skip_lines",
    "line_prefix", "comment", "file_patterns", "missing_tokens", "time", "header", "columns",
}  # fmt: skip
TIME_KEYS = {"fields", "format", "elapsed_field", "base_pattern", "base_format"}
HEADER_KEYS = {
    "did", "pi", "platform", "instrument", "location", "project", "data_version",
    "missing", "bad", "category", "latitude", "longitude", "remarks",
}  # fmt: skip
REQUIRED_HEADER = ("did", "pi", "platform", "instrument", "location", "data_version", "missing")
COLUMN_KEYS = {"field", "name", "unit", "degmin", "hemisphere_field"}
KINDS = ("delimited", "fixed")
Field = str | int
"""A raw field: a name from the names line, or its 1-based number."""


class ProfileError(ValueError):
    """A profile that cannot be used: `file:line: key: message`."""

    def __init__(self, path: Path, key: str, line: int, message: str) -> None:
        self.path, self.key, self.line = path, key, line
        super().__init__(f"{path}:{line}: {key}: {message}")


@dataclass(frozen=True)
class ColumnSpec:
    """One output column: where its value is in the raw line, its name and unit."""

    name: str
    unit: str
    field: Field
    degmin: bool = False
    """NMEA `dddmm.mmmm`: turned into decimal degrees."""
    hemisphere_field: Field | None = None
    """The field holding N/S/E/W; S and W make the value negative."""


@dataclass(frozen=True)
class TimeSpec:
    """Where a line's time is: fields joined by a space and parsed with `format`, or an
    elapsed-seconds field added to a base time found in the file's header lines."""

    fields: tuple[Field, ...] = ()
    format: str = ""
    elapsed_field: Field | None = None
    base_pattern: str = ""
    base_format: str = ""


@dataclass(frozen=True)
class Profile:
    """A checked instrument profile."""

    name: str
    path: Path
    kind: str
    time: TimeSpec
    header: dict[str, Any]
    columns: tuple[ColumnSpec, ...]
    delimiter: str = ","
    """`whitespace` splits on runs of blanks."""
    widths: tuple[int, ...] = ()
    """Fixed widths: each field's width in characters, in order (kind = "fixed")."""
    names_line: int = 0
    skip_lines: int = 0
    line_prefix: str = ""
    comment: str = ""
    file_patterns: tuple[str, ...] = ()
    fields: tuple[str, ...] = ()
    """The raw fields' names in order (a stream's lines carry none; a file's names line must
    match)."""
    missing_tokens: tuple[str, ...] = field(default_factory=tuple)

    def matches(self, filename: str) -> bool:
        """Whether a file name fits one of the profile's patterns (any name when none)."""
        from fnmatch import fnmatch

        return not self.file_patterns or any(fnmatch(filename, p) for p in self.file_patterns)


def _line_of(text: str, key: str) -> int:
    """The first line where `key = ` or `[key]` is written (1 when not found)."""
    pattern = re.compile(rf"^\s*(\[+\s*{re.escape(key)}\s*\]+|\"?{re.escape(key)}\"?\s*=)")
    for number, line in enumerate(text.splitlines(), 1):
        if pattern.match(line):
            return number
    return 1


class _Checker:
    """Checks one profile's values, raising `ProfileError` at the first fault."""

    def __init__(self, path: Path, text: str) -> None:
        self.path, self.text = path, text

    def fail(self, key: str, message: str) -> ProfileError:
        return ProfileError(self.path, key, _line_of(self.text, key.rsplit(".", 1)[-1]), message)

    def unknown(self, table: dict[str, Any], allowed: set[str], where: str) -> None:
        for key in table:
            if key not in allowed:
                known = ", ".join(sorted(allowed))
                raise self.fail(f"{where}{key}", f"unknown key (known: {known})")

    def typed(
        self, table: dict[str, Any], key: str, kind: type | tuple[type, ...], where: str
    ) -> Any:
        value = table.get(key)
        if value is not None and (not isinstance(value, kind) or isinstance(value, bool)):
            raise self.fail(f"{where}{key}", f"must be {_kind_name(kind)}, not {value!r}")
        return value

    def field_ref(self, value: object, key: str) -> Field:
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise self.fail(key, f"must be a column name or a 1-based number, not {value!r}")
        if isinstance(value, int) and value < 1:
            raise self.fail(key, "field numbers start at 1")
        return value


def _kind_name(kind: type | tuple[type, ...]) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join({"str": "a string", "int": "an integer", "list": "a list"}.get(
        k.__name__, k.__name__) for k in kinds)  # fmt: skip


def load_profile(path: Path) -> Profile:
    """Read and check one profile; `ProfileError` names the file, key and line of a fault."""
    text = path.read_text(encoding="utf-8")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        line = int(m.group(1)) if (m := re.search(r"line (\d+)", str(err))) else 1
        raise ProfileError(path, "(syntax)", line, str(err)) from err
    check = _Checker(path, text)
    check.unknown(data, TOP_KEYS, "")
    kind = data.get("kind", "delimited")
    if kind not in KINDS:
        raise check.fail("kind", f"must be one of {', '.join(KINDS)}, not {kind!r}")
    columns = _columns(check, data.get("columns"))
    widths = check.typed(data, "widths", list, "") or []
    if kind == "fixed" and not (widths and all(isinstance(w, int) and w > 0 for w in widths)):
        raise check.fail("widths", "a fixed-width profile needs widths = [positive integers]")
    return Profile(
        name=check.typed(data, "name", str, "") or path.stem, path=path, kind=kind,
        time=_time(check, data.get("time")), header=_header(check, data.get("header")),
        columns=columns, widths=tuple(widths),
        delimiter=check.typed(data, "delimiter", str, "") or ",",
        names_line=check.typed(data, "names_line", int, "") or 0,
        skip_lines=check.typed(data, "skip_lines", int, "") or 0,
        line_prefix=check.typed(data, "line_prefix", str, "") or "",
        comment=check.typed(data, "comment", str, "") or "",
        file_patterns=tuple(check.typed(data, "file_patterns", list, "") or ()),
        fields=tuple(str(f) for f in check.typed(data, "fields", list, "") or ()),
        missing_tokens=tuple(str(t) for t in check.typed(data, "missing_tokens", list, "") or ()),
    )  # fmt: skip


def _time(check: _Checker, table: object) -> TimeSpec:
    if not isinstance(table, dict):
        raise check.fail("time", "a [time] table is required (fields and format)")
    check.unknown(table, TIME_KEYS, "time.")
    fields = tuple(
        check.field_ref(v, "time.fields") for v in check.typed(table, "fields", list, "time.") or ()
    )
    elapsed = table.get("elapsed_field")
    if elapsed is not None:
        for key in ("base_pattern", "base_format"):
            if not check.typed(table, key, str, "time."):
                raise check.fail(f"time.{key}", "is required with time.elapsed_field")
        return TimeSpec(
            elapsed_field=check.field_ref(elapsed, "time.elapsed_field"),
            base_pattern=table["base_pattern"], base_format=table["base_format"],
        )  # fmt: skip
    time_format = check.typed(table, "format", str, "time.")
    if not fields or not time_format:
        raise check.fail("time", "give time.fields and time.format (or time.elapsed_field)")
    return TimeSpec(fields=fields, format=time_format)


def _header(check: _Checker, table: object) -> dict[str, Any]:
    if not isinstance(table, dict):
        raise check.fail("header", "a [header] table is required")
    check.unknown(table, HEADER_KEYS, "header.")
    for key in REQUIRED_HEADER:
        if table.get(key) in (None, ""):
            raise check.fail(f"header.{key}" if key in table else "header", f"{key} is required")
    if not isinstance(table["did"], int) or isinstance(table["did"], bool) or table["did"] < 1:
        raise check.fail("header.did", "must be a positive integer")
    for key in HEADER_KEYS - {"did", "remarks"}:
        check.typed(table, key, (str, int, float), "header.")
    check.typed(table, "remarks", list, "header.")
    return dict(table)


def _columns(check: _Checker, items: object) -> tuple[ColumnSpec, ...]:
    if not isinstance(items, list) or not items:
        raise check.fail("columns", "at least one [[columns]] table is required")
    specs = []
    for item in items:
        check.unknown(item, COLUMN_KEYS, "columns.")
        for key in ("name", "unit", "field"):
            if item.get(key) in (None, ""):
                raise check.fail("columns", f"each column needs {key}")
        check.typed(item, "name", str, "columns.")
        check.typed(item, "unit", str, "columns.")
        hemisphere = item.get("hemisphere_field")
        specs.append(ColumnSpec(
            name=item["name"], unit=item["unit"], field=check.field_ref(item["field"], "field"),
            degmin=bool(item.get("degmin", False)),
            hemisphere_field=None if hemisphere is None else check.field_ref(
                hemisphere, "hemisphere_field"),
        ))  # fmt: skip
    names = [spec.name.lower() for spec in specs]
    if dup := next((n for n in names if names.count(n) > 1), None):
        raise check.fail("name", f"column name {dup!r} is given twice")
    return tuple(specs)


def load_profiles(folder: Path) -> dict[str, Profile]:
    """Every `*.toml` profile of a folder, by name; the first fault raises `ProfileError`."""
    profiles: dict[str, Profile] = {}
    for path in sorted(folder.glob("*.toml")):
        profile = load_profile(path)
        if profile.name in profiles:
            line = _line_of(path.read_text("utf-8"), "name")
            other = profiles[profile.name].path
            raise ProfileError(path, "name", line, f"profile {profile.name!r} is also {other}")
        profiles[profile.name] = profile
    return profiles
