"""Values of several series put on one time base (the merge files of airborne campaigns).

Two rules, both with a stated window (seconds):

- `mean`: the value at base time T is the mean of the valid samples with T <= t < T + window
  (the interval starts at its time stamp, as in the LaRC and ACT-America merges);
- `nearest`: the valid sample closest to T with |t - T| <= window / 2 (the earlier on a tie).

A base time with no valid sample in its window is NaN. Pure NumPy.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import numpy.typing as npt

Floats = npt.NDArray[np.float64]
Rule = Literal["mean", "nearest"]
RULES: tuple[Rule, ...] = ("mean", "nearest")


def regular_base(start_s: float, stop_s: float, step_s: float) -> Floats:
    """Base times from `start_s` floored to the step through `stop_s`, every `step_s`."""
    first = np.floor(start_s / step_s) * step_s
    count = int(np.floor((stop_s - first) / step_s)) + 1
    result: Floats = first + step_s * np.arange(count, dtype=np.float64)
    return result


def _valid(times: Floats, values: Floats) -> tuple[Floats, Floats]:
    keep = np.isfinite(times) & np.isfinite(values)
    order = np.argsort(times[keep], kind="stable")
    return times[keep][order], values[keep][order]


def window_mean(base: Floats, times: Floats, values: Floats, window_s: float) -> Floats:
    """The `mean` rule (see the module)."""
    t, v = _valid(times, values)
    lo = np.searchsorted(t, base, side="left")
    hi = np.searchsorted(t, base + window_s, side="left")
    result = np.full(len(base), np.nan)
    for index in np.flatnonzero(hi > lo):
        result[index] = v[lo[index] : hi[index]].mean()
    return result


def nearest(base: Floats, times: Floats, values: Floats, window_s: float) -> Floats:
    """The `nearest` rule (see the module)."""
    t, v = _valid(times, values)
    result = np.full(len(base), np.nan)
    if not len(t):
        return result
    right = np.clip(np.searchsorted(t, base, side="left"), 0, len(t) - 1)
    left = np.clip(right - 1, 0, len(t) - 1)
    d_left, d_right = np.abs(base - t[left]), np.abs(t[right] - base)
    pick = np.where(d_left <= d_right, left, right)
    distance = np.minimum(d_left, d_right)
    inside = distance <= window_s / 2
    result[inside] = v[pick[inside]]
    return result


def on_base(base: Floats, times: Floats, values: Floats, rule: Rule, window_s: float) -> Floats:
    """One series on the base by `rule`."""
    if rule == "mean":
        return window_mean(base, times, values, window_s)
    return nearest(base, times, values, window_s)
