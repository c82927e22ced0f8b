"""Product images (`product_source.YYMMDDHHmm.product_name.png`) drawn with matplotlib."""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

import numpy as np

from archive_center.demo.flights import MALE, FlightSpec, simulate_track
from archive_center.demo.headerfile import SynthFile
from archive_center.demo.station import KCO_LAT, KCO_LON

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

ITCZ_LABEL_LAT = -6.0


def product_name(source: str, moment: datetime, product: str, ext: str = "png") -> str:
    """`source.YYMMDDHHmm.product.ext` as the campaign's catalog names products."""
    return f"{source}.{moment:%y%m%d%H%M}.{product}.{ext}"


def _png(fig: Figure) -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    buffer = io.BytesIO()
    # No software/date metadata, so the same seed gives the same bytes.
    fig.savefig(buffer, format="png", dpi=80, metadata={"Software": None})
    return buffer.getvalue()


def _land_polygons() -> list[np.ndarray]:
    """The outer rings of Natural Earth's 1:110m land (vendored for the offline map)."""
    import json
    from importlib.resources import files

    land = json.loads(
        files("field_catalog_ui").joinpath("static/vendor/land-110m.geojson").read_bytes()
    )
    rings = []
    for feature in land["features"]:
        geometry = feature["geometry"]
        polygons = geometry["coordinates"]
        if geometry["type"] == "Polygon":
            polygons = [polygons]
        rings += [np.asarray(polygon[0]) for polygon in polygons]
    return rings


def draw_coastline(ax: Axes) -> None:
    """Land under the plotted data, keeping the view the data set."""
    xlim, ylim = ax.get_xlim(), ax.get_ylim()
    for ring in _land_polygons():
        ax.fill(
            ring[:, 0],
            ring[:, 1],
            facecolor="#dfe6d5",
            edgecolor="#5b6b57",
            linewidth=0.6,
            zorder=0,
        )
    ax.set_xlim(xlim)
    ax.set_ylim(ylim)
    ax.set_facecolor("#eaf2fb")


def flight_track_png(spec: FlightSpec, seed: int) -> bytes:
    """Map-style plot of a flight's track coloured by altitude, with Male and KCO marked."""
    from matplotlib.figure import Figure

    track = simulate_track(spec, np.random.default_rng([seed, spec.did]))
    fig = Figure(figsize=(6.4, 5.2))
    ax = fig.add_subplot()
    points = ax.scatter(track.lon, track.lat, c=track.alt / 1000.0, s=2, cmap="viridis")
    fig.colorbar(points, ax=ax, label="altitude (km)")
    ax.plot([MALE[1]], [MALE[0]], "k^", label="Male")
    ax.plot([KCO_LON], [KCO_LAT], "rs", label="KCO")
    ax.axhline(ITCZ_LABEL_LAT, color="grey", linestyle="--", linewidth=0.8, label="ITCZ (approx.)")
    ax.set_xlabel("longitude (degrees east)")
    ax.set_ylabel("latitude (degrees north)")
    ax.set_title(f"{spec.aircraft} RF{spec.flight_no:02d} {spec.takeoff:%Y-%m-%d %H:%M} UTC")
    draw_coastline(ax)
    ax.set_aspect("equal", adjustable="box")
    ax.grid(True, linewidth=0.3)
    ax.legend(loc="best", fontsize="small")
    return _png(fig)


def station_series_png(synth: SynthFile, names: Sequence[str] = ("O3", "CO", "AOD500")) -> bytes:
    """Stacked time series of a few station variables (sentinels left out)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8.0, 6.0))
    axes = fig.subplots(len(names), 1, sharex=True)
    times = np.array([t.replace(tzinfo=None) for t in synth.times], dtype="datetime64[s]")
    for ax, name in zip(axes, names, strict=True):
        col = next(c for c in synth.columns if c.name == name)
        values = np.where(col.missing if col.missing is not None else False, np.nan, col.values)
        ax.plot(times, values, linewidth=0.7)
        ax.set_ylabel(f"{name} ({col.unit})")
        ax.grid(True, linewidth=0.3)
    axes[0].set_title(f"{synth.platform} hourly means from {synth.start:%Y-%m-%d}")
    fig.autofmt_xdate()
    return _png(fig)


def soundings_png(synths: Sequence[SynthFile], title: str) -> bytes:
    """Temperature and dew point against log pressure for several ascents of one ship."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.0, 7.0))
    ax = fig.add_subplot()
    for synth in synths:
        by_name = {c.name: c for c in synth.columns}
        pres = by_name["PRES"].values
        (line,) = ax.plot(
            by_name["TEMP"].values, pres, linewidth=0.9, label=f"{synth.start:%m-%d %H%M}"
        )
        dew = by_name["DWPT"]
        dew_values = np.where(dew.missing if dew.missing is not None else False, np.nan, dew.values)
        ax.plot(dew_values, pres, linewidth=0.9, linestyle="--", color=line.get_color())
    ax.set_yscale("log")
    ax.set_ylim(1050, 50)
    ax.set_xlabel("temperature (solid), dew point (dashed) (degC)")
    ax.set_ylabel("pressure (hPa)")
    ax.set_title(title)
    ax.grid(True, which="both", linewidth=0.3)
    ax.legend(fontsize="small", title="launch (UTC)")
    return _png(fig)
