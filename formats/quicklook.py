"""Quick-look plots of a data file (PNG or SVG), in pages, so that every variable is shown.

A time series gets one panel per numeric variable, `PANELS_PER_PAGE` to a page, each page
saying which variables the other pages hold. A sounding gets a skew-T/log-P diagram first
(`formats.quicklook_sounding`), then its variables as profiles against pressure or height.
Units are written as people read them (`ppbv`, `°C`; `formats.units.readable`).

matplotlib is imported inside the plotting functions and used through its object API with
the Agg canvas, never pyplot, so plots made in worker threads share no global state.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from formats.model import Column, ColumnKind, DataFile, WriteError
from formats.quicklook_sounding import PROFILES_PER_PAGE, Sounding, find_sounding
from formats.units import readable

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt
    from matplotlib.figure import Figure

logger = logging.getLogger(__name__)

PLOT_FORMATS = ("png", "svg")
PANELS_PER_PAGE = 6
MAX_PAGES = 200
"""A file with more numeric columns than this many pages hold is plotted up to them."""
MAX_POINTS = 4000
"""Points drawn per panel; longer series are drawn as their min/max envelope per bucket."""


@dataclass(frozen=True)
class PlotPage:
    """What one page of a file's quick look shows."""

    number: int
    kind: str
    """`skew-t`, `profiles` or `series`."""
    variables: list[str]
    """The original names of the variables drawn on it."""


def _numeric(datafile: DataFile) -> list[Column]:
    return [c for c in datafile.data_columns if c.kind is ColumnKind.NUMBER]


def _chunks(columns: list[Column], size: int) -> list[list[Column]]:
    return [columns[i : i + size] for i in range(0, len(columns), size)][:MAX_PAGES]


def _series_pages(columns: list[Column]) -> list[PlotPage]:
    chunks = _chunks(columns, PANELS_PER_PAGE) or [[]]
    return [
        PlotPage(i + 1, "series", [c.original_name for c in chunk])
        for i, chunk in enumerate(chunks)
    ]


def _sounding_pages(sounding: Sounding) -> list[PlotPage]:
    pages = []
    if sounding.can_skew_t:
        drawn = [c for c in (sounding.temperature, sounding.dewpoint) if c is not None]
        pages.append(PlotPage(1, "skew-t", [c.original_name for c in drawn]))
    for chunk in _chunks(sounding.profiled, PROFILES_PER_PAGE):
        pages.append(PlotPage(len(pages) + 1, "profiles", [c.original_name for c in chunk]))
    return pages


def plot_pages(datafile: DataFile) -> list[PlotPage]:
    """The pages of `datafile`'s quick look, in order (at least one)."""
    sounding = find_sounding(datafile)
    if sounding is not None and (pages := _sounding_pages(sounding)):
        return pages
    return _series_pages(_numeric(datafile))


def _pick(datafile: DataFile, variables: Sequence[str]) -> list[Column]:
    chosen = []
    for name in variables:
        try:
            column = datafile.column(name)
        except KeyError:
            raise WriteError(f"no variable named {name!r} to plot") from None
        if column.kind is not ColumnKind.NUMBER or column is datafile.time:
            raise WriteError(f"{name!r} is not a numeric variable")
        chosen.append(column)
    return chosen


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


def _title(datafile: DataFile) -> str:
    header = datafile.header
    parts = [header.platform, header.instrument]
    title = " - ".join(p for p in parts if p) or "data file"
    if header.did is not None:
        title += f" (DID {header.did})"
    if header.pi_name:
        title += f"  PI: {header.pi_name}"
    return title


def _label(column: Column) -> str:
    unit = readable(column.unit, column.original_unit)
    return f"{column.original_name}\n[{unit}]" if unit else column.original_name


def _elsewhere(pages: list[PlotPage], shown: int) -> str:
    """The note naming what the other pages show (empty for a one-page plot)."""
    if len(pages) < 2:
        return ""
    others = [p for p in pages if p.number != shown]
    names = [name for page in others for name in page.variables]
    listed = ", ".join(names[:12]) + (f" and {len(names) - 12} more" if len(names) > 12 else "")
    numbers = ", ".join(str(p.number) for p in others[:10]) + (" ..." if len(others) > 10 else "")
    return f"Page {shown} of {len(pages)}. On page(s) {numbers}: {listed}."


def _draw_series(fig: Figure, datafile: DataFile, columns: list[Column]) -> None:
    panels = max(1, len(columns))
    axes = fig.subplots(panels, 1, sharex=True, squeeze=False)[:, 0]
    x = datafile.time.values
    for ax, column in zip(axes, columns, strict=False):
        xs, ys = _envelope(x, column.values)
        ax.plot(xs, ys, linewidth=0.8)
        ax.set_ylabel(_label(column), fontsize=8)
        ax.grid(True, linewidth=0.3)
    if not columns:
        axes[0].text(0.5, 0.5, "no numeric variables", ha="center", transform=axes[0].transAxes)
    axes[-1].set_xlabel("time (UTC)")
    fig.suptitle(_title(datafile), fontsize=10)


def _figure(kind: str, panels: int) -> Figure:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    if kind == "skew-t":
        size = (7.5, 8.0)
    elif kind == "profiles":
        size = (9.0, 6.5)
    else:
        size = (9.0, 1.6 + 1.8 * max(1, panels))
    fig = Figure(figsize=size, dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def plot(
    datafile: DataFile,
    *,
    fmt: str = "png",
    page: int = 1,
    variables: Sequence[str] | None = None,
) -> bytes:
    """Page `page` of the quick look of `datafile` as PNG or SVG bytes; with `variables`,
    one page of time series of just those (at most `PANELS_PER_PAGE`)."""
    if fmt not in PLOT_FORMATS:
        raise WriteError(f"plots are made as {' or '.join(PLOT_FORMATS)}, not {fmt!r}")
    if variables is not None:
        columns = _pick(datafile, variables)[:PANELS_PER_PAGE]
        fig = _figure("series", len(columns))
        _draw_series(fig, datafile, columns)
        return _save(fig, fmt)
    pages = plot_pages(datafile)
    if not 1 <= page <= len(pages):
        raise WriteError(f"this quick look has {len(pages)} page(s); there is no page {page}")
    chosen = pages[page - 1]
    columns = [datafile.column(name) for name in chosen.variables]
    fig = _figure(chosen.kind, len(columns))
    sounding = find_sounding(datafile) if chosen.kind != "series" else None
    if chosen.kind == "skew-t" and sounding is not None:
        from formats.quicklook_sounding import draw_skew_t

        draw_skew_t(fig, sounding, _title(datafile))
    elif chosen.kind == "profiles" and sounding is not None:
        from formats.quicklook_sounding import draw_profiles

        draw_profiles(fig, sounding, columns, _title(datafile))
    else:
        _draw_series(fig, datafile, columns)
    if note := _elsewhere(pages, page):
        # Room at the bottom for the note, which the constrained layout does not place.
        fig.get_layout_engine().set(rect=(0, 0.035, 1, 0.965))  # type: ignore[union-attr,call-arg]
        fig.text(0.01, 0.004, note, fontsize=7, ha="left", va="bottom", wrap=True)
    return _save(fig, fmt)


def _save(fig: Figure, fmt: str) -> bytes:
    buffer = io.BytesIO()
    metadata: dict[str, Any] = {"Date": None} if fmt == "svg" else {"Software": None}
    fig.savefig(buffer, format=fmt, metadata=metadata)
    return buffer.getvalue()
