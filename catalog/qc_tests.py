"""The QARTOD tests of a QC configuration, run by ioos_qc on one variable's arrays.

A configuration is JSON kept in the registry (`QcConfig.tests`): test name -> the keyword
arguments of the ioos_qc function, for example

    {"gross_range": {"fail_span": [-50, 60], "suspect_span": [-40, 50]},
     "spike": {"suspect_threshold": 2, "fail_threshold": 5},
     "rate_of_change": {"threshold": 0.5},
     "flat_line": {"suspect_threshold": 600, "fail_threshold": 1800, "tolerance": 0.001},
     "climatology": {"members": [{"tspan": [1, 3], "period": "month", "vspan": [10, 40]}]},
     "gap": {"fail_span": 1.0}}

Spans and thresholds are in the variable's units (rates per second, flat-line durations in
seconds, gaps in hours), as ioos_qc defines them. Flags are QARTOD's: 1 good, 2 not
evaluated, 3 suspect, 4 bad, 9 missing; the aggregate is ioos_qc's `qartod_compare`.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from catalog.errors import InvalidQueryError
from formats.flag_columns import FAIL, MISSING, SUSPECT

Flags = npt.NDArray[np.uint8]
AGGREGATE = "aggregate"


def _gross_range(values: Any, times: Any, args: Mapping[str, Any]) -> Any:
    from ioos_qc import qartod

    return qartod.gross_range_test(values, **args)


def _climatology(values: Any, times: Any, args: Mapping[str, Any]) -> Any:
    from ioos_qc import qartod

    config = qartod.ClimatologyConfig()
    for member in args.get("members", []):
        config.add(**member)
    return qartod.climatology_test(config, values, times, np.zeros(values.size))


def _spike(values: Any, times: Any, args: Mapping[str, Any]) -> Any:
    from ioos_qc import qartod

    return qartod.spike_test(values, **args)


def _rate_of_change(values: Any, times: Any, args: Mapping[str, Any]) -> Any:
    from ioos_qc import qartod

    return qartod.rate_of_change_test(values, times, **args)


def _flat_line(values: Any, times: Any, args: Mapping[str, Any]) -> Any:
    from ioos_qc import qartod

    return qartod.flat_line_test(values, times, **args)


def _gap(values: Any, times: Any, args: Mapping[str, Any]) -> Any:
    from ioos_qc import qartod

    return qartod.time_gap_test(times, **args)


TESTS: dict[str, Callable[[Any, Any, Mapping[str, Any]], Any]] = {
    "gross_range": _gross_range,
    "climatology": _climatology,
    "spike": _spike,
    "rate_of_change": _rate_of_change,
    "flat_line": _flat_line,
    "gap": _gap,
}


def check_config(tests: Mapping[str, Any]) -> dict[str, Any]:
    """The configuration if every test is known and its arguments are an object, else
    InvalidQueryError (the arguments themselves are checked when the test runs on data:
    `run_config` on a tiny series below)."""
    unknown = sorted(set(tests) - set(TESTS))
    if unknown or not tests:
        raise InvalidQueryError(
            f"QC tests must be some of {', '.join(TESTS)}; unknown: {', '.join(unknown) or '-'}"
        )
    if not all(isinstance(args, dict) for args in tests.values()):
        raise InvalidQueryError("each QC test takes an object of arguments")
    probe_t = np.arange(4).astype("datetime64[s]").astype("datetime64[ns]")
    try:
        run_config(dict(tests), np.zeros(4), probe_t)
    except (TypeError, ValueError, KeyError) as err:
        raise InvalidQueryError(f"QC arguments refused by ioos_qc: {err}") from err
    return dict(tests)


def _as_flags(result: Any, size: int) -> Flags:
    """ioos_qc's masked flags as plain uint8 (masked: 9), without copying when unmasked."""
    data = np.asarray(np.ma.getdata(result)).astype(np.uint8, copy=False).reshape(size)
    mask = np.ma.getmask(result)
    if mask is np.ma.nomask or not np.any(mask):
        return data
    return np.where(np.asarray(mask).reshape(size), np.uint8(MISSING), data)


def run_config(
    tests: Mapping[str, Mapping[str, Any]],
    values: npt.NDArray[np.float64],
    times: npt.NDArray[np.datetime64],
) -> dict[str, Flags]:
    """Each configured test's flags and their `aggregate`, one uint8 per value."""
    from ioos_qc.qartod import qartod_compare

    out = {
        name: _as_flags(TESTS[name](values, times, args), values.size)
        for name, args in tests.items()
    }
    out[AGGREGATE] = _as_flags(qartod_compare(list(out.values())), values.size)
    return out


def counts_of(flags: Flags) -> dict[str, int]:
    """How many values carry each flag (only flags that occur)."""
    counts = np.bincount(flags, minlength=MISSING + 1)  # one pass, no sort
    return {str(f): int(c) for f, c in enumerate(counts.tolist()) if c}


def stretches_of(flags: Flags, limit: int = 1000) -> list[list[int]]:
    """Runs of equal flags 3, 4 or 9 as [first row, last row, flag], at most `limit`."""
    flagged = np.isin(flags, (SUSPECT, FAIL, MISSING))
    if not flagged.any():
        return []
    change = np.flatnonzero(np.diff(flags.astype(np.int16), prepend=-1, append=-1))
    out: list[list[int]] = []
    for first, stop in itertools.pairwise(change.tolist()):
        if flagged[first]:
            out.append([int(first), int(stop) - 1, int(flags[first])])
            if len(out) >= limit:
                break
    return out
