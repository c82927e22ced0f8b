"""Run IOOS compliance-checker (CF 1.8 and ACDD 1.3) offline and list what failed."""

from __future__ import annotations

import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path


@dataclass(frozen=True)
class Failure:
    """One failed check: suite, priority (3 high, 2 medium, 1 low), name and messages."""

    suite: str
    weight: int
    name: str
    msgs: tuple[str, ...]


def packaged_standard_name_table() -> Path:
    """The CF standard-name table that ships inside compliance-checker (no network)."""
    return Path(str(resources.files("compliance_checker") / "data" / "cf-standard-name-table.xml"))


def _no_download(version: str, location: str | None = None) -> None:
    raise OSError(f"offline: not fetching CF standard name table v{version}")


def check_failures(path: Path) -> list[Failure]:
    """Every failed CF 1.8 / ACDD 1.3 check of the NetCDF file at `path`."""
    from compliance_checker.cf import util as cf_util
    from compliance_checker.runner import CheckSuite

    # Offline: the packaged table is used when the file names its version (v93 here) and is
    # the default table; should a newer checker package another version, the download it
    # would try fails at once and the checker falls back to its packaged table.
    os.environ.setdefault("CF_STANDARD_NAME_TABLE", str(packaged_standard_name_table()))
    cf_util.download_cf_standard_name_table = _no_download
    suite = CheckSuite()
    suite.load_all_available_checkers()
    ds = suite.load_dataset(str(path))
    results = suite.run_all(ds, ["cf:1.8", "acdd:1.3"], skip_checks=[])
    failures: list[Failure] = []
    for name, (groups, errors) in results.items():
        for check, error in (errors or {}).items():
            failures.append(Failure(name, 3, f"checker error in {check}", (str(error),)))
        scored = suite.build_structure(name, groups, str(path))
        ranked = [*scored["high_priorities"], *scored["medium_priorities"]]
        for result in [*ranked, *scored["low_priorities"]]:
            if result.value[0] < result.value[1]:
                failures.append(Failure(name, result.weight, result.name, tuple(result.msgs)))
    return failures


def _no_standard_name(failure: Failure) -> bool:
    """ACDD's per-variable finding that only a standard_name is missing (no CF name exists
    for many field quantities, and a wrong one is worse than none)."""
    return failure.suite.startswith("acdd") and failure.msgs == ("standard_name",)


_HORIZONTAL = ("geospatial_lat_", "geospatial_lon_", "geospatial_bounds ", "geospatial_bounds_crs")
_VERTICAL = ("geospatial_vertical_", "geospatial_bounds_vertical_crs")
_EXTENT_CHECKS = ("geospatial_lat_extents_match", "geospatial_lon_extents_match")


def unexplained_failures(
    path: Path, *, horizontal: bool = True, vertical: bool = True
) -> list[Failure]:
    """Failures other than those an honest file cannot avoid: a missing standard name where
    CF has none, and the ACDD geospatial attributes of a position its source does not give
    (`horizontal` or `vertical` False). A grouped finding keeps its other messages."""
    excused = (() if horizontal else _HORIZONTAL) + (() if vertical else _VERTICAL)
    kept: list[Failure] = []
    for failure in check_failures(path):
        acdd = failure.suite.startswith("acdd")
        if _no_standard_name(failure):
            continue
        if acdd and not horizontal and failure.name in _EXTENT_CHECKS:
            continue
        msgs = tuple(
            m
            for m in failure.msgs
            if not (acdd and excused and m.endswith(" not present") and m.startswith(excused))
        )
        if failure.msgs and not msgs:
            continue
        kept.append(Failure(failure.suite, failure.weight, failure.name, msgs))
    return kept
