"""Overlay of several datasets: their chosen variables on one time axis, profiles on one
height axis, and their tracks on one map, as one SVG (matplotlib object API, no pyplot).

Each drawn line carries the SVG id `series-<n>` and its label is in the legend, so a page
(and a test) can tell the series apart.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt


@dataclass(frozen=True)
class Series:
    """One dataset's variable: times (datetime64), values, and positions/heights if known."""

    label: str
    times: npt.NDArray[Any]
    values: npt.NDArray[np.float64]
    lat: npt.NDArray[np.float64] | None = None
    lon: npt.NDArray[np.float64] | None = None
    height: npt.NDArray[np.float64] | None = None


def overlay_svg(series: list[Series]) -> str:
    """The overlay as SVG text (an empty note when there is nothing to draw)."""
    from matplotlib.backends.backend_svg import FigureCanvasSVG
    from matplotlib.figure import Figure

    profiles = [s for s in series if s.height is not None]
    tracks = [s for s in series if s.lat is not None and s.lon is not None]
    panels = 1 + bool(profiles) + bool(tracks)
    fig = Figure(figsize=(5.5 * panels, 4.2), dpi=100, layout="constrained")
    FigureCanvasSVG(fig)
    axes = list(fig.subplots(1, panels, squeeze=False)[0])
    time_ax = axes.pop(0)
    for index, item in enumerate(series):
        (line,) = time_ax.plot(item.times, item.values, linewidth=0.9, label=item.label)
        line.set_gid(f"series-{index}")
    time_ax.set_xlabel("time (UTC)")
    time_ax.grid(True, linewidth=0.3)
    if series:
        time_ax.legend(fontsize=7, loc="best")
    else:
        time_ax.text(0.5, 0.5, "choose datasets and variables", ha="center")
    if profiles:
        ax = axes.pop(0)
        for item in profiles:
            assert item.height is not None
            ax.plot(item.values, item.height, linewidth=0.9, label=item.label)
        ax.set_ylabel("height (m)")
        ax.set_xlabel("value")
        ax.grid(True, linewidth=0.3)
    if tracks:
        ax = axes.pop(0)
        for index, item in enumerate(tracks):
            assert item.lat is not None and item.lon is not None
            (line,) = ax.plot(item.lon, item.lat, linewidth=1.0, label=item.label)
            line.set_gid(f"track-{index}")
        ax.set_xlabel("longitude (degrees east)")
        ax.set_ylabel("latitude (degrees north)")
        ax.set_aspect("equal", adjustable="datalim")
        ax.grid(True, linewidth=0.3)
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", metadata={"Date": None})
    return buffer.getvalue()
