"""Column names made safe for NetCDF, and the collisions that makes (FORMAT.md "Names")."""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence

logger = logging.getLogger(__name__)

_UNSAFE = re.compile(r"[^A-Za-z0-9_]")
MAX_NAME = 64
"""Longest safe name: far below NetCDF's 256 bytes, leaving room for `_qc` and `_strlen`
suffixes and for the `_2` that de-duplication adds."""


def safe_name(original: str, *, is_time: bool = False) -> str:
    """NetCDF-safe name: `time` for the time column, other characters outside [A-Za-z0-9_]
    become `_`, and a leading digit gets a `v` in front."""
    if is_time:
        return "time"
    name = _UNSAFE.sub("_", original)
    if not name or name[0].isdigit():
        name = "v" + name
    return name[:MAX_NAME]


def safe_names(originals: Sequence[str]) -> list[str]:
    """Safe names of a file's columns (the first is the time column)."""
    return [safe_name(n, is_time=i == 0) for i, n in enumerate(originals)]


def collisions(originals: Sequence[str]) -> list[tuple[int, int]]:
    """Pairs of column indexes whose safe names are equal ignoring case."""
    seen: dict[str, int] = {}
    pairs = []
    for index, name in enumerate(safe_names(originals)):
        key = name.lower()
        if key in seen:
            pairs.append((seen[key], index))
        else:
            seen[key] = index
    return pairs


def unique_names(names: Sequence[str]) -> list[str]:
    """`names` made unique ignoring case: a repeat gets `_2`, `_3`... (within `MAX_NAME`)."""
    seen: set[str] = set()
    out: list[str] = []
    for name in names:
        candidate, number = name, 1
        while candidate.lower() in seen:
            number += 1
            suffix = f"_{number}"
            candidate = name[: MAX_NAME - len(suffix)] + suffix
        seen.add(candidate.lower())
        out.append(candidate)
    return out
