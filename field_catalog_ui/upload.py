"""The upload page's report: findings, and the lines of the file they point at.

Each finding with a line links to an anchored excerpt (`#L50`) of the uploaded file, so the
PI sees the offending line beside the message without opening the file.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import IO, Any

CONTEXT_LINES = 2
MAX_LINE_CHARS = 300
MAX_EXCERPT_LINES = 400


@dataclass(frozen=True)
class ExcerptLine:
    """One line of the uploaded file (`gap_before`: lines were skipped before it)."""

    number: int
    text: str
    flagged: bool
    gap_before: bool


def finding_lines(report: dict[str, Any]) -> set[int]:
    """Line numbers the report's findings point at."""
    found: set[int] = set()
    for item in report.get("diagnostics", []):
        line = item.get("line")
        if isinstance(line, int) and line > 0:
            found.add(line)
    return found


def excerpt(
    handle: IO[bytes], flagged: set[int], context: int = CONTEXT_LINES
) -> list[ExcerptLine]:
    """The flagged lines of `handle` with `context` lines around each, read once from the start."""
    wanted = {n for line in flagged for n in range(line - context, line + context + 1) if n > 0}
    if not wanted:
        return []
    last = max(wanted)
    lines: list[ExcerptLine] = []
    previous = 0
    handle.seek(0)
    for number, raw in enumerate(handle, start=1):
        if number > last or len(lines) >= MAX_EXCERPT_LINES:
            break
        if number in wanted:
            text = raw.decode("utf-8", "replace").rstrip("\r\n")[:MAX_LINE_CHARS]
            lines.append(ExcerptLine(number, text, number in flagged, number != previous + 1))
            previous = number
    return lines
