"""Quick-look plot of a data file: one time-series panel per numeric variable (PNG or SVG).

matplotlib is imported inside `plot` and used through its object API with the Agg canvas,
never pyplot, so plots made in worker threads share no global state.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from formats.model import Column, ColumnKind, DataFile, WriteError

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

logger = logging.getLogger(__name__)

PLOT_FORMATS = ("png", "svg")
MAX_PANELS = 6
MAX_POINTS = 4000
"""Points drawn per panel; longer series are drawn as their min/max envelope per bucket."""


def _pick(datafile: DataFile, variables: Sequence[str] | None) -> list[Column]:
    if variables is not None:
        chosen = []
        for name in variables:
            try:
                column = datafile.column(name)
            except KeyError:
                raise WriteError(f"no variable named {name!r} to plot") from None
            if column.kind is not ColumnKind.NUMBER or column is datafile.time:
                raise WriteError(f"{name!r} is not a numeric variable")
            chosen.append(column)
        return chosen[:MAX_PANELS]
    numeric = [c for c in datafile.data_columns if c.kind is ColumnKind.NUMBER]
    return numeric[:MAX_PANELS]


def _envelope(
    x: npt.NDArray[Any], y: npt.NDArray[np.float64]
) -> tuple[npt.NDArray[Any], npt.NDArray[np.float64]]:
    """At most MAX_POINTS points that keep every bucket's minimum and maximum."""
    import warnings

    import numpy as np

    if len(y) <= MAX_POINTS:
        return x, y
    size = -(-len(y) // (MAX_POINTS // 2))
    buckets = -(-len(y) // size)
    pad = buckets * size - len(y)
    padded = np.concatenate([y, np.full(pad, np.nan)]).reshape(buckets, size)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN buckets stay NaN
        low, high = np.nanmin(padded, axis=1), np.nanmax(padded, axis=1)
    xs = x[::size][:buckets]
    return np.repeat(xs, 2), np.column_stack([low, high]).ravel()


def _axis(datafile: DataFile) -> tuple[npt.NDArray[Any], str]:
    """The x values: time, or the vertical column when every row has the same time."""
    import numpy as np

    times = datafile.time.values
    if len(times) > 1 and times[0] == times[-1]:
        for column in datafile.data_columns:
            if column.kind is ColumnKind.NUMBER and column.unit in ("hPa", "Pa", "m", "km"):
                values: npt.NDArray[Any] = np.asarray(column.values)
                return values, f"{column.original_name} [{column.original_unit}]"
    return times, "time (UTC)"


def _title(datafile: DataFile) -> str:
    header = datafile.header
    parts = [header.platform, header.instrument]
    title = " - ".join(p for p in parts if p) or "data file"
    if header.did is not None:
        title += f" (DID {header.did})"
    if header.pi_name:
        title += f"\nPI: {header.pi_name}"
    return title


def plot(datafile: DataFile, *, fmt: str = "png", variables: Sequence[str] | None = None) -> bytes:
    """A quick-look plot of `datafile` as PNG or SVG bytes (at most six panels)."""
    if fmt not in PLOT_FORMATS:
        raise WriteError(f"plots are made as {' or '.join(PLOT_FORMATS)}, not {fmt!r}")
    columns = _pick(datafile, variables)
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    panels = max(1, len(columns))
    fig = Figure(figsize=(9, 1.2 + 1.8 * panels), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(panels, 1, sharex=True, squeeze=False)[:, 0]
    x, x_label = _axis(datafile)
    for ax, column in zip(axes, columns, strict=False):
        xs, ys = _envelope(x, column.values)
        ax.plot(xs, ys, linewidth=0.8)
        ax.set_ylabel(f"{column.original_name}\n[{column.original_unit}]", fontsize=8)
        ax.grid(True, linewidth=0.3)
    if not columns:
        axes[0].text(0.5, 0.5, "no numeric variables", ha="center", transform=axes[0].transAxes)
    axes[-1].set_xlabel(x_label)
    fig.suptitle(_title(datafile), fontsize=10)
    buffer = io.BytesIO()
    metadata: dict[str, Any] = {"Date": None} if fmt == "svg" else {"Software": None}
    fig.savefig(buffer, format=fmt, metadata=metadata)
    return buffer.getvalue()
