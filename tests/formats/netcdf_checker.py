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


def check_failures(path: Path) -> list[Failure]:
    """Every failed CF 1.8 / ACDD 1.3 check of the NetCDF file at `path`."""
    from compliance_checker.runner import CheckSuite

    # The packaged table is used when the file names its version; the variable makes sure
    # no other version is fetched from the network.
    os.environ.setdefault("CF_STANDARD_NAME_TABLE", str(packaged_standard_name_table()))
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
