"""CIDS benchmark: the navigation merge of a 1,000,000-row measurement file onto a 1 Hz
navigation against pandas `merge_asof` + interpolation of the same columns; a 10 s merge of
five one-flight datasets; collocation of a 30,000-point track against 500 soundings.

Usage: python bench/cids.py [--quick]
The last line printed is one JSON object:
{"benchmark": "cids", "figures": {...}, "ratios": {"nav_merge_vs_pandas": ...}}.
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
import pandas as pd

from formats.collocation import Points, collocate
from formats.merge_product import MergeInput, merge_file
from formats.model import Column, ColumnKind, DataFile, Extent, FeatureType, Header
from formats.navmerge import Navigation, interpolate
from formats.timebase import regular_base

START = 919_603_800.0  # 1999-02-21 13:30 UTC
MAX_GAP_S = 10.0


def best_of(runs: int, work: Callable[[], Any]) -> tuple[float, list[float]]:
    """The fastest of `runs` timings (seconds), and all of them."""
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        work()
        times.append(time.perf_counter() - began)
    return min(times), times


def navigation(seconds: int, rng: np.random.Generator) -> Navigation:
    """A 1 Hz flight path with a few outages longer than the maximum gap."""
    t = START + np.arange(seconds, dtype=np.float64)
    keep = np.ones(seconds, dtype=bool)
    for begin in rng.integers(0, seconds - 200, size=max(1, seconds // 20_000)):
        keep[begin : begin + 120] = False
    t = t[keep]
    lat = 4.0 + 0.0008 * (t - START) / 60 + 0.01 * np.sin((t - START) / 500)
    lon = 73.0 + 0.0006 * (t - START) / 60
    alt = 3000 + 300 * np.sin((t - START) / 900)
    return Navigation(t, lat, lon, alt)


def pandas_merge(times: np.ndarray, nav: Navigation) -> pd.DataFrame:
    """The baseline: merge_asof backward and forward, then linear interpolation, no position
    where the bracketing samples are more than MAX_GAP_S apart."""
    measured = pd.DataFrame({"t": times})
    frame = pd.DataFrame({"t": nav.times, "lat": nav.lat, "lon": nav.lon, "alt": nav.alt})

    def side(suffix: str, direction: str) -> pd.DataFrame:
        named = frame.rename(columns=lambda c: c + suffix)
        return pd.merge_asof(measured, named, left_on="t", right_on="t" + suffix,
                             direction=direction)  # type: ignore[arg-type]  # fmt: skip

    before, after = side("0", "backward"), side("1", "forward")
    span = after["t1"].to_numpy() - before["t0"].to_numpy()
    weight = np.where(span > 0, (times - before["t0"].to_numpy()) / np.where(span > 0, span, 1), 0)
    out = pd.DataFrame({"t": times})
    for name in ("lat", "lon", "alt"):
        a, b = before[name + "0"].to_numpy(), after[name + "1"].to_numpy()
        out[name] = np.where(span <= MAX_GAP_S, a + (b - a) * weight, np.nan)
    return out


def bench_navigation(rows: int, runs: int) -> dict[str, float]:
    rng = np.random.default_rng(7)
    seconds = rows // 10 + 60  # a 10 Hz instrument
    nav = navigation(seconds, rng)
    times = START + np.arange(rows, dtype=np.float64) / 10.0
    ours = interpolate(times, nav, MAX_GAP_S)
    theirs = pandas_merge(times, nav)
    assert np.allclose(ours.lat, theirs["lat"], equal_nan=True), "the two merges differ"
    fieldcat_s, _ = best_of(runs, lambda: interpolate(times, nav, MAX_GAP_S))
    pandas_s, _ = best_of(runs, lambda: pandas_merge(times, nav))
    return {"nav_merge_s": fieldcat_s, "nav_merge_pandas_s": pandas_s,
            "nav_merge_rows": float(rows), "positioned": float(ours.positioned)}  # fmt: skip


def flight_file(index: int, seconds: int, rng: np.random.Generator) -> DataFile:
    """One 1 Hz instrument file of a flight: three variables with gaps."""
    times = (START + np.arange(seconds) + index * 0.3) * 1e9
    columns = [Column("time", "time", "UTC", None, ColumnKind.NUMBER,
                      times.astype("int64").astype("datetime64[ns]"))]  # fmt: skip
    for name in ("A", "B", "C"):
        values = rng.normal(50, 5, seconds)
        values[rng.random(seconds) < 0.02] = np.nan
        columns.append(Column(name, name, "1", "1", ColumnKind.NUMBER, values))
    header = Header(did=index, platform="C130", instrument=f"instrument {index}")
    return DataFile(header, columns, "header", FeatureType.TRAJECTORY, Extent())


def bench_merge(seconds: int, runs: int) -> dict[str, float]:
    rng = np.random.default_rng(11)
    files = [flight_file(i, seconds, rng) for i in range(5)]
    inputs = [MergeInput(f"DID{i}", f"input {i}", f, ("A", "B", "C")) for i, f in enumerate(files)]
    base = regular_base(START, START + seconds, 10.0)

    def build() -> None:
        merged = merge_file(Header(did=900001, platform="C130"), base, inputs, "mean", 10.0)
        import formats

        formats.write_to(merged, "icartt", io.BytesIO())

    merge_s, _ = best_of(runs, build)
    return {"merge_build_s": merge_s, "merge_rows": float(len(base))}


def bench_collocation(track_points: int, soundings: int, runs: int) -> dict[str, float]:
    rng = np.random.default_rng(5)
    t = START + np.arange(track_points, dtype=np.float64)
    # A C-130 at about 110 m/s flying survey legs over the region.
    track = Points(t, 5.0 + 3 * np.sin((t - START) / 3000), 73.0 + 2 * np.sin((t - START) / 4500))
    # 500 ascents of 100 levels over the campaign's month and region (65-80E, 0-15N), a
    # tenth of them launched during the flight near its path.
    levels = 100
    launch = rng.uniform(START - 15 * 86_400, START + 15 * 86_400, soundings)
    site_lat, site_lon = rng.uniform(0, 15, soundings), rng.uniform(65, 80, soundings)
    during = rng.random(soundings) < 0.10
    launch[during] = rng.uniform(START, START + track_points, during.sum())
    site_lat[during] = track.lat[(launch[during] - START).astype(int)] + rng.normal(
        0, 0.3, during.sum()
    )
    site_lon[during] = track.lon[(launch[during] - START).astype(int)] + rng.normal(
        0, 0.3, during.sum()
    )
    others = Points(
        (launch[:, None] + 20.0 * np.arange(levels)).ravel(),
        np.repeat(site_lat, levels),
        np.repeat(site_lon, levels),
    )
    found = collocate(track, others, 300.0, 10.0)
    _, timings = best_of(runs, lambda: collocate(track, others, 300.0, 10.0))
    return {"collocate_p50_ms": statistics.median(timings) * 1000,
            "collocate_matches": float(len(found.track))}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small inputs, few runs")
    args = parser.parse_args()
    rows, flight_s, track, runs = (
        (50_000, 1800, 3000, 3) if args.quick else (1_000_000, 8 * 3600, 30_000, 7)
    )
    figures: dict[str, float] = {}
    figures |= bench_navigation(rows, runs)
    print(f"navigation merge of {rows:,} rows: {figures['nav_merge_s']:.3f} s "
          f"(pandas {figures['nav_merge_pandas_s']:.3f} s)")  # fmt: skip
    figures |= bench_merge(flight_s, runs)
    print(f"10 s merge of 5 datasets of {flight_s} s: {figures['merge_build_s']:.3f} s")
    figures |= bench_collocation(track, 500, runs * 3)
    print(f"collocation of {track:,} points x 500 soundings: {figures['collocate_p50_ms']:.1f} ms")
    ratios = {"nav_merge_vs_pandas": figures["nav_merge_s"] / figures["nav_merge_pandas_s"]}
    print(json.dumps({"benchmark": "cids", "figures": figures, "ratios": ratios}))


if __name__ == "__main__":
    main()
