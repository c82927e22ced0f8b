"""Diagnostic codes, grouping of repeats, and the two renderers."""

from __future__ import annotations

import re
from pathlib import Path

from formats import Diagnostic, Severity, validate
from formats.diagnostics import CODES, group, render_json, render_text

FORMATS_DIR = Path(__file__).resolve().parents[2] / "formats"


def test_every_code_used_in_the_package_is_documented() -> None:
    used: set[str] = set()
    for path in FORMATS_DIR.glob("*.py"):
        used |= set(re.findall(r'"((?:TXT|HDR|COL|TIM|DAT|SEN|LOC|FMT)\d{3})"', path.read_text()))
    assert used <= set(CODES), sorted(used - set(CODES))
    assert all(len(text) > 30 for text in CODES.values())


def test_repeats_of_a_data_code_are_grouped() -> None:
    diags = [
        Diagnostic("DAT002", Severity.ERROR, "'x' in numeric column O3 is not a number", line, 5)
        for line in (20, 13, 40)
    ]
    diags.append(Diagnostic("DAT002", Severity.ERROR, "numeric column RH: 'y' is bad", 15, 5))
    diags.append(Diagnostic("HDR003", Severity.WARNING, "unknown keyword 'A'", 3, 1))
    diags.append(Diagnostic("HDR003", Severity.WARNING, "unknown keyword 'B'", 4, 1))
    grouped = group(diags)
    assert [(d.code, d.line, d.last_line, d.count) for d in grouped] == [
        ("HDR003", 3, None, 1),
        ("HDR003", 4, None, 1),
        ("DAT002", 13, 40, 3),
        ("DAT002", 15, None, 1),
    ]


def test_text_and_json_renderers() -> None:
    diags = [
        Diagnostic("HDR004", Severity.ERROR, "required keyword PI NAME is missing"),
        Diagnostic("TIM004", Severity.WARNING, "same time", 12, 1, last_line=30, count=4),
    ]
    text = render_text(diags, "f.txt").splitlines()
    assert text[0] == "f.txt:0:0: error HDR004: required keyword PI NAME is missing"
    assert text[1] == "f.txt:12:1: warning TIM004: same time (4 times, lines 12-30)"
    report = render_json(diags, "f.txt")
    assert report["valid"] is False and report["errors"] == 1 and report["warnings"] == 4
    assert report["diagnostics"][1]["last_line"] == 30
    assert report["diagnostics"][0]["help"] == CODES["HDR004"]


def test_a_broken_big_file_gives_a_short_report() -> None:
    lines = [
        "DID = 1",
        "FILE START TIME (UTC) = 19990201000000",
        "FILE STOP TIME (UTC) = 19990202000000",
    ]
    lines += [
        "PI NAME = a",
        "PLATFORM = b",
        "INSTRUMENT = c",
        "LOCATION = d; 1N 2E",
        "DATA VERSION = 1",
    ]
    lines += ["##END OF HEADER##", "DATE/TIME X Y", "UTC m m"]
    lines += [
        f"1999020100{i // 60:02d}{i % 60:02d} 1 {'oops' if i % 3 == 0 else '2'}"
        for i in range(3000)
    ]
    report = validate(("\n".join(lines) + "\n").encode())
    assert not report.valid
    assert len(report.diagnostics) <= 5
    (dat,) = [d for d in report.diagnostics if d.code == "DAT002"]
    assert dat.line == 12 and dat.count == 1000 and dat.last_line == 3009
