"""Quick looks of a sounding: a skew-T/log-P diagram (MetPy) with wind barbs when the file has
wind, and profiles of the other variables against pressure (log axis) or height.

Which column is what is found from the canonical unit first and the name second, so that the
campaign's header files, NASA Ames and ICARTT soundings are all recognised.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from formats.extent import HEIGHT_NAMES, PRESSURE_NAMES
from formats.model import Column, ColumnKind, DataFile, FeatureType
from formats.units import readable

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

PRESSURE_UNITS = {"hPa": 1.0, "mbar": 1.0, "millibar": 1.0, "Pa": 0.01, "kPa": 10.0}
HEIGHT_UNITS = {"m": 1.0, "km": 1000.0, "gpm": 1.0}
TEMPERATURE_UNITS = ("degC", "K")
DEW_WORDS = ("DEW", "DWPT", "DPT", "TD", "DP")
RH_WORDS = ("RH", "HUM", "RELH")
SONDE_WORDS = ("SONDE", "SOUNDING", "RAOB", "RAWINSONDE", "BALLOON")
PROFILES_PER_PAGE = 4
BARBS = 30
"""Wind barbs drawn along the ascent: one per pressure band, the rest would overprint."""


def _numeric(column: Column) -> bool:
    return column.kind is ColumnKind.NUMBER and bool(np.isfinite(column.values).any())


def _key(column: Column) -> str:
    return column.original_name.strip().upper()


@dataclass(frozen=True)
class Sounding:
    """The columns of a sounding the diagrams need (None where the file has none)."""

    vertical: Column
    pressure_hpa: np.ndarray | None
    height_m: np.ndarray | None
    temperature: Column | None
    dewpoint: Column | None
    humidity: Column | None
    speed: Column | None
    direction: Column | None
    u: Column | None
    v: Column | None
    others: list[Column]
    """Every other numeric variable, drawn as a profile."""

    @property
    def can_skew_t(self) -> bool:
        return self.pressure_hpa is not None and self.temperature is not None

    @property
    def profile_pages(self) -> int:
        return -(-len(self.profiled) // PROFILES_PER_PAGE)

    @property
    def profiled(self) -> list[Column]:
        """Variables drawn as profiles: all but the vertical coordinate."""
        skewed = [self.temperature, self.dewpoint] if self.can_skew_t else []
        named = [self.temperature, self.dewpoint, self.humidity, self.speed, self.direction]
        named += [self.u, self.v]
        return [c for c in named if c is not None and c not in skewed] + self.others


def _find(columns: list[Column], units: tuple[str, ...], words: tuple[str, ...]) -> Column | None:
    for column in columns:
        if column.unit in units and any(word in _key(column) for word in words):
            return column
    return None


def _temperature(columns: list[Column]) -> Column | None:
    for column in columns:
        key = _key(column)
        dew = any(word in key for word in DEW_WORDS)
        if column.unit in TEMPERATURE_UNITS and not dew and key.startswith(("T", "AT", "AIR")):
            return column
    return None


def _wind(columns: list[Column]) -> tuple[Column | None, ...]:
    speed = _find(columns, ("m s-1", "m/s", "knot", "knots", "kt"), ("SPD", "SPEED", "WS", "FF"))
    direction = _find(columns, ("degree", "degrees"), ("DIR", "WD", "DD"))
    u = next((c for c in columns if _key(c) in ("U", "UWND", "U_WIND", "UWIND")), None)
    v = next((c for c in columns if _key(c) in ("V", "VWND", "V_WIND", "VWIND")), None)
    return speed, direction, u, v


def _vertical(columns: list[Column]) -> tuple[Column | None, Any, Any]:
    pressures = [c for c in columns if c.unit in PRESSURE_UNITS]
    heights = [c for c in columns if c.unit in HEIGHT_UNITS]
    # A column named as a vertical coordinate first, else the first with such a unit.
    pressure = next((c for c in pressures if _key(c) in PRESSURE_NAMES), None) or next(
        iter(pressures), None
    )
    height = next((c for c in heights if _key(c) in HEIGHT_NAMES), None) or next(
        iter(heights), None
    )
    p = None if pressure is None else pressure.values * PRESSURE_UNITS[pressure.unit or ""]
    z = None if height is None else height.values * HEIGHT_UNITS[height.unit or ""]
    return pressure or height, p, z


def find_sounding(datafile: DataFile) -> Sounding | None:
    """The sounding in `datafile`, or None when it is not one (an aircraft climbing through
    pressure levels is a trajectory, not a sounding, unless its instrument is a sonde)."""
    words = f"{datafile.header.instrument} {datafile.header.platform}".upper()
    is_sonde = any(word in words for word in SONDE_WORDS)
    if datafile.feature_type is not FeatureType.PROFILE and not is_sonde:
        return None
    columns = [c for c in datafile.data_columns if _numeric(c)]
    vertical, pressure, height = _vertical(columns)
    if vertical is None:
        return None
    temperature = _temperature(columns)
    dewpoint = _find(columns, TEMPERATURE_UNITS, DEW_WORDS)
    humidity = _find(columns, ("percent", "%", "1"), RH_WORDS)
    speed, direction, u, v = _wind(columns)
    known = {id(c) for c in (temperature, dewpoint, humidity, speed, direction, u, v) if c}
    skip = known | {id(vertical)}
    others = [c for c in columns if id(c) not in skip]
    return Sounding(
        vertical, pressure, height, temperature, dewpoint, humidity, speed, direction, u, v, others
    )


def _kelvin_to_c(column: Column) -> np.ndarray:
    values = np.asarray(column.values, dtype=float)
    return values - 273.15 if column.unit == "K" else values


def _wind_knots(sounding: Sounding) -> tuple[np.ndarray, np.ndarray] | None:
    """u, v in knots, the barbs' customary unit."""
    to_knots = 1 / 0.514444
    if sounding.u is not None and sounding.v is not None:
        return sounding.u.values * to_knots, sounding.v.values * to_knots
    if sounding.speed is None or sounding.direction is None:
        return None
    speed = sounding.speed.values
    if sounding.speed.unit in ("m s-1", "m/s"):
        speed = speed * to_knots
    radians = np.deg2rad(sounding.direction.values)
    return -speed * np.sin(radians), -speed * np.cos(radians)


def _barb_rows(pressure: np.ndarray) -> np.ndarray:
    """About BARBS rows spread evenly in log-pressure (the diagram's vertical scale)."""
    finite = np.flatnonzero(np.isfinite(pressure) & (pressure > 0))
    if len(finite) <= BARBS:
        return finite
    logs = np.log(pressure[finite])
    targets = np.linspace(logs.max(), logs.min(), BARBS)
    picks = {int(finite[np.argmin(np.abs(logs - t))]) for t in targets}
    return np.array(sorted(picks))


def draw_skew_t(fig: Figure, sounding: Sounding, title: str) -> None:
    """A skew-T/log-P diagram: temperature, dew point (given or from RH), dry and moist
    adiabats, mixing ratio lines, and wind barbs in knots when the file has wind."""
    from metpy.calc import dewpoint_from_relative_humidity
    from metpy.plots import SkewT
    from metpy.units import units

    assert sounding.pressure_hpa is not None and sounding.temperature is not None
    pressure = sounding.pressure_hpa
    temperature = _kelvin_to_c(sounding.temperature)
    skew = SkewT(fig=fig, rotation=45)
    skew.plot(pressure, temperature, "tab:red", linewidth=1.4, label="temperature")
    dewpoint = None
    if sounding.dewpoint is not None:
        dewpoint = _kelvin_to_c(sounding.dewpoint)
    elif sounding.humidity is not None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            dewpoint = (
                dewpoint_from_relative_humidity(
                    temperature * units.degC,
                    np.clip(sounding.humidity.values, 1e-3, None) * units.percent,
                )
                .to("degC")
                .magnitude
            )
    if dewpoint is not None:
        skew.plot(pressure, dewpoint, "tab:green", linewidth=1.4, label="dew point")
    wind = _wind_knots(sounding)
    if wind is not None:
        rows = _barb_rows(pressure)
        u, v = wind
        ok = rows[np.isfinite(u[rows]) & np.isfinite(v[rows])]
        skew.plot_barbs(pressure[ok], u[ok], v[ok], length=6, linewidth=0.6)
    finite = pressure[np.isfinite(pressure)]
    bottom = float(min(1050.0, max(finite.max() + 10, 200.0))) if len(finite) else 1050.0
    top = float(max(finite.min() - 5, 100.0)) if len(finite) else 100.0
    skew.ax.set_ylim(bottom, top)
    skew.ax.set_xlim(-40, 50)
    skew.plot_dry_adiabats(linewidth=0.5, alpha=0.4)
    skew.plot_moist_adiabats(linewidth=0.5, alpha=0.4)
    skew.plot_mixing_lines(linewidth=0.5, alpha=0.4)
    skew.ax.set_xlabel("temperature [°C]")
    skew.ax.set_ylabel("pressure [hPa]")
    skew.ax.legend(loc="upper right", fontsize=8)
    barbs = " (wind barbs in knots)" if wind is not None else ""
    fig.suptitle(f"{title}\nskew-T / log-P{barbs}", fontsize=10)


def draw_profiles(fig: Figure, sounding: Sounding, columns: list[Column], title: str) -> None:
    """Side-by-side profiles of `columns` against pressure (log, falling upward) or height."""
    axes: list[Axes] = list(fig.subplots(1, max(1, len(columns)), sharey=True, squeeze=False)[0])
    if sounding.pressure_hpa is not None:
        y, label = sounding.pressure_hpa, "pressure [hPa]"
    else:
        assert sounding.height_m is not None
        y, label = sounding.height_m, "height [m]"
    for ax, column in zip(axes, columns, strict=False):
        ax.plot(column.values, y, linewidth=0.9)
        unit = readable(column.unit, column.original_unit)
        ax.set_xlabel(f"{column.original_name}\n[{unit}]" if unit else column.original_name)
        ax.grid(True, linewidth=0.3)
    if sounding.pressure_hpa is not None:
        axes[0].set_yscale("log")
        axes[0].invert_yaxis()
        ticks = [t for t in (1000, 850, 700, 500, 400, 300, 200, 100, 50, 20, 10)]
        finite = y[np.isfinite(y)]
        if len(finite):
            axes[0].set_yticks([t for t in ticks if finite.min() <= t <= finite.max()] or ticks[:1])
            axes[0].yaxis.set_major_formatter("{x:.0f}")
            axes[0].yaxis.set_minor_formatter("")
    axes[0].set_ylabel(label)
    fig.suptitle(f"{title}\nprofiles", fontsize=10)
