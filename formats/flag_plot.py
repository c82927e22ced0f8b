"""The QC report's plot: one panel per QC'd variable, its values as a line with the points
flagged suspect (3) and bad (4) marked; SVG text for the page.

The plot is drawn from a *plot series* kept when QC runs, not from the data file: every
`MAX_LINE_POINTS`-th value plus every value the tests flagged suspect or bad, exactly
(`plot_rows`). A million-value series keeps a few thousand points, so the page never reads
the original.

The line and the marks are rasterized inside the SVG (the axes and text stay vector): tens of
thousands of markers as SVG elements weigh megabytes and take seconds to write.

matplotlib is used through its object API with the Agg canvas, never pyplot.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

MAX_LINE_POINTS = 4000
MAX_MARKED = 20000
"""Flagged points drawn per flag and panel (evenly thinned beyond), so a page stays light."""
MARKS = {3: ("suspect", "#e69f00", "o"), 4: ("bad", "#d55e00", "x")}


@dataclass(frozen=True)
class FlagSeries:
    """The kept points of one variable: times, values and their (effective) flags, and how
    many values of the whole series carry each flag."""

    times: npt.NDArray[np.datetime64]
    values: npt.NDArray[np.float64]
    flags: npt.NDArray[np.uint8]
    totals: Mapping[int, int]


def _thin(index: npt.NDArray[Any], limit: int) -> npt.NDArray[Any]:
    step = max(1, -(-index.size // limit))
    return index[::step]


def plot_rows(flags: npt.NDArray[np.uint8]) -> npt.NDArray[np.int64]:
    """The rows a plot series keeps: evenly spaced line points and every flagged one."""
    line = _thin(np.arange(flags.size, dtype=np.int64), MAX_LINE_POINTS)
    marked = np.flatnonzero(np.isin(flags, tuple(MARKS))).astype(np.int64)
    return np.union1d(line, marked)


def flag_plot_svg(series: Mapping[str, FlagSeries]) -> str:
    """SVG of each variable's kept values with its flagged points marked."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    panels = max(1, len(series))
    figure = Figure(figsize=(8, 2.2 * panels), layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots(panels, 1, squeeze=False, sharex=True)[:, 0]
    for ax, (name, kept) in zip(axes, series.items(), strict=False):
        ax.plot(
            kept.times, kept.values, color="#0072b2", linewidth=0.8, label=name, rasterized=True
        )
        for flag, (label, color, marker) in MARKS.items():
            marked = _thin(np.flatnonzero(kept.flags == flag), MAX_MARKED)
            if marked.size:
                ax.scatter(kept.times[marked], kept.values[marked], s=14, color=color,
                           marker=marker, label=f"{label} ({kept.totals.get(flag, 0)})",
                           zorder=3, rasterized=True)  # fmt: skip
        ax.set_ylabel(name)
        ax.legend(loc="upper right", fontsize="small")
    out = io.StringIO()
    figure.savefig(out, format="svg")
    return out.getvalue()
