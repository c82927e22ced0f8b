"""Run IOOS compliance-checker (CF 1.8 and ACDD 1.3) offline and list what failed."""

from __future__ import annotations

import copy
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any


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


MEMOIZED = (
    "get_coordinate_variables", "get_auxiliary_coordinate_variables",
    "get_forecast_metadata_variables", "get_geophysical_variables", "is_geophysical",
    "get_z_variables", "get_latitude_variables", "get_longitude_variables",
    "get_time_variables", "get_axis_variables", "get_axis_map", "coordinate_dimension_matrix",
    "guess_feature_type", "is_coordinate_variable",
)  # fmt: skip
"""compliance-checker's helpers (`compliance_checker.cf.util`) that every check calls again
for each variable, each scanning every variable of the file: on a merge of 97 variables the
checker spent 50 s recomputing the same answers thousands of times (25 s in
`get_auxiliary_coordinate_variables` alone, called 4,155 times). Each is a function of the
open file and a variable name only, and the file does not change during a check."""


def _memo(helper: Callable[..., Any]) -> Callable[..., Any]:
    answers: dict[tuple[Any, ...], Any] = {}

    def remembered(nc: Any, *args: Any) -> Any:
        key = (id(nc), *args)
        if key not in answers:
            answers[key] = helper(nc, *args)
        return copy.copy(answers[key])  # a caller may change the list it is given

    return remembered


@contextmanager
def _memoized_helpers() -> Iterator[None]:
    """Within the block, `MEMOIZED` answer each question once per file (put back after)."""
    from compliance_checker.cf import util as cf_util

    originals = {name: getattr(cf_util, name) for name in MEMOIZED}
    try:
        for name, helper in originals.items():
            setattr(cf_util, name, _memo(helper))
        yield
    finally:
        for name, helper in originals.items():
            setattr(cf_util, name, helper)


def check_failures(path: Path, *, memoized: bool = True) -> list[Failure]:
    """Every failed CF 1.8 / ACDD 1.3 check of the NetCDF file at `path` (`memoized`: with
    the checker's helpers answering once per file, `MEMOIZED`)."""
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
    with _memoized_helpers() if memoized else nullcontext():
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
