"""The upload page's report: findings, and the lines of the file they point at.

Each finding with a line links to an anchored excerpt (`#L50`) of the uploaded file, so the
PI sees the offending line beside the message without opening the file.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from catalog.storage import ArchiveStore
    from submissions.pipeline import SubmissionResult

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


def submitted_bytes(store: ArchiveStore, result: SubmissionResult, staged: Path) -> Path | None:
    """Where the submitted bytes are now: still staged, kept with the rejected, or archived."""
    candidates = [staged, store.rejected_dir / f"{result.submission_id}.bin"]
    if result.sha256:
        with contextlib.suppress(ValueError):
            candidates.append(store.original_path(result.sha256))
    return next((path for path in candidates if path.is_file()), None)


def file_excerpt(path: Path | None, report: dict[str, Any]) -> list[ExcerptLine]:
    """The excerpt of the submitted file around the report's findings ([] without a file)."""
    flagged = finding_lines(report)
    if path is None or not flagged:
        return []
    with path.open("rb") as handle:
        return excerpt(handle, flagged)
