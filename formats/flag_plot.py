"""The QC report's plot: one panel per QC'd variable, its values as a line (an envelope when
long) with the points flagged suspect (3) and bad (4) marked; SVG text for the page.

matplotlib is used through its object API with the Agg canvas, never pyplot.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

MAX_LINE_POINTS = 4000
MAX_MARKED = 20000
"""Flagged points drawn per flag and panel (evenly thinned beyond), so a page stays light."""
MARKS = {3: ("suspect", "#e69f00", "o"), 4: ("bad", "#d55e00", "x")}


def _thin(index: npt.NDArray[Any], limit: int) -> npt.NDArray[Any]:
    step = max(1, -(-index.size // limit))
    return index[::step]


def flag_plot_svg(
    times: npt.NDArray[np.datetime64],
    series: Mapping[str, tuple[npt.NDArray[np.float64], npt.NDArray[np.uint8]]],
) -> str:
    """SVG of each variable's values with its flagged points marked."""
    import numpy as np
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    panels = max(1, len(series))
    figure = Figure(figsize=(8, 2.2 * panels), layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots(panels, 1, squeeze=False, sharex=True)[:, 0]
    everything = np.arange(times.size)
    for ax, (name, (values, flags)) in zip(axes, series.items(), strict=False):
        line = _thin(everything, MAX_LINE_POINTS)
        ax.plot(times[line], values[line], color="#0072b2", linewidth=0.8, label=name)
        for flag, (label, color, marker) in MARKS.items():
            marked = _thin(np.flatnonzero(flags == flag), MAX_MARKED)
            if marked.size:
                ax.scatter(times[marked], values[marked], s=14, color=color, marker=marker,
                           label=f"{label} ({int((flags == flag).sum())})", zorder=3)  # fmt: skip
        ax.set_ylabel(name)
        ax.legend(loc="upper right", fontsize="small")
    out = io.StringIO()
    figure.savefig(out, format="svg")
    return out.getvalue()
