"""Benchmark of the formats package, each figure beside its baseline measured in the same run.

- validate + parse (`formats.read`) vs `pandas.read_csv(sep=r"\\s+", engine="c")` of the rows;
- NetCDF writing vs plain netCDF4 writes of the same arrays with the same settings;
- end to end (validate, parse, write NetCDF) in MB/s;
- reading the ICARTT and NASA Ames samples vs the `icartt` and `nappy` packages;
- peak RSS growth of validating and converting, over the file size (in a child process).

Usage: python bench/formats.py [--quick] [--rows N]. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
# This file is named formats.py: keep its folder off the path so `import formats` finds the
# package, not this script.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != REPO / "bench"]
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402

SAMPLES = REPO / "tests" / "fixtures" / "samples"

HEADER = """DID = 900
FILE START TIME (UTC) = {start}
FILE STOP TIME (UTC) = {stop}
PI NAME = Bench, Mark (FieldCat)
PLATFORM = C130
INSTRUMENT = Synthetic fast sensors
LOCATION = mobile
DATA VERSION = 1.0
REMARKS = Missing data = -9999; Bad data = -8888
##END OF HEADER##
DATE/TIME LAT LON ALT O3 CO BC RH
UTC degN degE m ppbv ppbv ng/m3 %
"""


def make_header_file(path: Path, rows: int, seed: int = 7) -> int:
    """Write a `rows`-row, 8-column header-format file (a 1 Hz aircraft track); its size."""
    rng = np.random.default_rng(seed)
    start = np.datetime64("1999-03-07T00:00:00", "s")
    times = start + np.arange(rows).astype("timedelta64[s]")
    stamps = np.datetime_as_string(times, unit="s")
    digits = np.char.replace(np.char.replace(np.char.replace(stamps, "-", ""), ":", ""), "T", "")
    columns = [
        digits,
        np.char.mod("%.4f", 4.0 + np.cumsum(rng.normal(0, 1e-4, rows))),
        np.char.mod("%.4f", 73.5 + np.cumsum(rng.normal(0, 1e-4, rows))),
        np.char.mod("%.1f", np.abs(6000 * np.sin(np.arange(rows) / 3000.0))),
        np.char.mod("%.2f", rng.normal(55, 5, rows)),
        np.char.mod("%.2f", rng.normal(110, 10, rows)),
        np.char.mod("%.1f", rng.normal(1200, 100, rows)),
        np.char.mod("%.1f", rng.uniform(20, 95, rows)),
    ]
    columns[4][::997] = "-9999"
    columns[6][::1999] = "-8888"
    lines = columns[0]
    for column in columns[1:]:
        lines = np.char.add(np.char.add(lines, " "), column)
    head = HEADER.format(start=digits[0], stop=digits[-1])
    with path.open("w", encoding="ascii") as fh:
        fh.write(head)
        for block in range(0, rows, 100_000):
            fh.write("\n".join(lines[block : block + 100_000].tolist()) + "\n")
    return path.stat().st_size


def best_of(repeat: int, func: Callable[[], Any]) -> float:
    """Smallest wall time of `repeat` calls (the machine is shared; the minimum is the
    least disturbed)."""
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        func()
        best = min(best, time.perf_counter() - started)
    return best


def bench_parse(path: Path, repeat: int) -> dict[str, float]:
    """formats.read vs pandas.read_csv of the same rows."""
    import pandas as pd

    from formats import CampaignTime, read

    campaign = CampaignTime(year=1999)
    data = path.read_bytes()
    offset = data.index(b"##END OF HEADER##")
    offset = data.index(b"\n", offset) + 1  # names line follows
    offset = data.index(b"\n", offset) + 1  # units line follows
    rows = data[data.index(b"\n", offset) + 1 :]

    def pandas_read() -> None:
        pd.read_csv(io.BytesIO(rows), sep=r"\s+", engine="c", header=None)

    ours = base = float("inf")
    for _ in range(repeat):
        ours = min(ours, best_of(1, lambda: read(path, campaign=campaign)))
        base = min(base, best_of(1, pandas_read))
    return {"parse_s": ours, "pandas_s": base}


def bench_netcdf(path: Path, repeat: int, tmp: Path) -> dict[str, float]:
    """write_netcdf_file vs netCDF4 writes of the same arrays with the same settings."""
    import netCDF4

    from formats import CampaignTime, read
    from formats.netcdf import FILE_FORMAT, VARIABLE_SETTINGS, write_netcdf_file

    datafile = read(path, campaign=CampaignTime(year=1999))
    stamps = datafile.time.values.astype("datetime64[ns]")
    seconds = (stamps - stamps[0].astype("datetime64[D]")).astype(np.int64) / 1e9

    write_netcdf_file(datafile, tmp / "ours.nc")
    with netCDF4.Dataset(tmp / "ours.nc") as ds:
        # The same arrays (data and quality flags) with the same fill settings as ours.
        fills = {
            n: v.getncattr("_FillValue") if "_FillValue" in v.ncattrs() else False
            for n, v in ds.variables.items()
            if v.dimensions == ("time",) and n != "time"
        }
        qc = {n: ds[n][:].data for n in fills if n.endswith("_qc")}
    columns = {c.name: c.values for c in datafile.data_columns}
    arrays = [(n, columns.get(n, qc.get(n)), fill) for n, fill in fills.items()]

    def plain() -> None:
        with netCDF4.Dataset(tmp / "plain.nc", "w", format=FILE_FORMAT) as ds:
            ds.createDimension("time", len(seconds))
            var = ds.createVariable("time", "f8", ("time",), fill_value=False, **VARIABLE_SETTINGS)
            var[:] = seconds
            for name, values, fill in arrays:
                assert values is not None, name
                kind = "i1" if name.endswith("_qc") else "f8"
                var = ds.createVariable(name, kind, ("time",), fill_value=fill, **VARIABLE_SETTINGS)
                var[:] = values

    # Alternate the two so that both see the same disturbances of the shared machine; a
    # round costs ~0.1 s, and the best of 30 is steadier than of 12 (1.20-1.56 across runs).
    ours = base = float("inf")
    for _ in range(max(5, repeat * 10)):
        ours = min(ours, best_of(1, lambda: write_netcdf_file(datafile, tmp / "ours.nc")))
        base = min(base, best_of(1, plain))
    return {"netcdf_s": ours, "netcdf4_s": base}


def bench_end_to_end(path: Path, repeat: int, tmp: Path) -> dict[str, float]:
    """Validate, parse and write NetCDF, as MB/s of the source file."""
    from formats import CampaignTime, validate
    from formats.netcdf import write_netcdf_file

    def convert() -> None:
        report = validate(path, campaign=CampaignTime(year=1999))
        assert report.datafile is not None, report.diagnostics[:3]
        write_netcdf_file(report.datafile, tmp / "e2e.nc")

    seconds = best_of(repeat, convert)
    return {"end_to_end_s": seconds, "end_to_end_mb_s": path.stat().st_size / 1e6 / seconds}


def bench_neighbours(repeat: int) -> dict[str, float]:
    """Our ICARTT and NASA Ames readers vs the icartt and nappy packages on the samples."""
    import icartt
    import nappy

    from formats.icartt import read_icartt
    from formats.nasa_ames import read_nasa_ames

    real = SAMPLES / "real"
    icts = sorted(real.glob("*.ict"))
    nas = [real / n for n in ("nasa_ames_1001.na", "nasa_ames_1001a.na", "nasa_ames_1010.na")]
    blobs = {p: p.read_bytes() for p in [*icts, *nas]}

    def ours_ict() -> None:
        for p in icts:
            assert read_icartt(blobs[p], None)[0] is not None

    def theirs_ict() -> None:
        for p in icts:
            icartt.Dataset(str(p))

    def ours_na() -> None:
        for p in nas:
            assert read_nasa_ames(blobs[p], None)[0] is not None

    def theirs_na() -> None:
        for p in nas:
            na = nappy.openNAFile(str(p))
            na.readData()

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return {
            "icartt_s": best_of(repeat, ours_ict),
            "icartt_pkg_s": best_of(repeat, theirs_ict),
            "nasa_ames_s": best_of(repeat, ours_na),
            "nappy_s": best_of(repeat, theirs_na),
        }


CHILD = """
import resource, sys
sys.path.insert(0, {repo!r})
import numpy, pandas, netCDF4
from formats import CampaignTime, validate
from formats.netcdf import write_netcdf_file
import formats.header_format

def peak():
    # VmHWM starts afresh at exec; ru_maxrss would carry the parent's peak over.
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024

before = peak()
report = validate({path!r}, campaign=CampaignTime(year=1999))
assert report.datafile is not None
write_netcdf_file(report.datafile, {out!r})
print(peak() - before)
"""


def peak_rss_growth(path: Path, out: Path) -> int:
    """Bytes by which validating and converting `path` raises a fresh process's peak RSS."""
    code = CHILD.format(repo=str(REPO), path=str(path), out=str(out))
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=600
    )
    return int(done.stdout.strip().splitlines()[-1])


def main() -> None:
    """Run every measurement, print each beside its baseline, end with the JSON line."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small smoke run")
    parser.add_argument("--rows", type=int, default=None)
    args = parser.parse_args()
    rows = args.rows or (20_000 if args.quick else 1_000_000)
    repeat = 1 if args.quick else 3
    with tempfile.TemporaryDirectory(prefix="fieldcat-bench-") as tmp_name:
        tmp = Path(tmp_name)
        path = tmp / "bench.txt"
        size = make_header_file(path, rows)
        print(f"file: {rows} rows x 8 columns, {size / 1e6:.1f} MB")
        parse = bench_parse(path, repeat)
        print(f"parse: formats.read {parse['parse_s']:.3f} s, pandas {parse['pandas_s']:.3f} s")
        # Both writers write to memory-backed files when there are some, so the comparison
        # sees the writers' own work, not the shared disk's write-back.
        shm = Path("/dev/shm")
        with tempfile.TemporaryDirectory(dir=shm if shm.is_dir() else None) as fast:
            netcdf = bench_netcdf(path, repeat, Path(fast))
        print(f"netcdf: ours {netcdf['netcdf_s']:.3f} s, netCDF4 {netcdf['netcdf4_s']:.3f} s")
        e2e = bench_end_to_end(path, repeat, tmp)
        print(f"end to end: {e2e['end_to_end_s']:.3f} s, {e2e['end_to_end_mb_s']:.1f} MB/s")
        near = bench_neighbours(3 if args.quick else 10)
        print(f"icartt: ours {near['icartt_s']:.4f} s, icartt pkg {near['icartt_pkg_s']:.4f} s")
        print(f"nasa ames: ours {near['nasa_ames_s']:.4f} s, nappy {near['nappy_s']:.4f} s")
        growth = peak_rss_growth(path, tmp / "rss.nc")
        print(f"peak RSS growth: {growth / 1e6:.1f} MB for a {size / 1e6:.1f} MB file")
    result = {
        "benchmark": "formats",
        "figures": {
            "rows": rows,
            "file_mb": round(size / 1e6, 3),
            "end_to_end_mb_s": round(e2e["end_to_end_mb_s"], 2),
            "peak_rss_over_file_size": round(growth / size, 3),
            **{k: round(v, 4) for k, v in {**parse, **netcdf, **near}.items()},
        },
        "ratios": {
            "parse_vs_pandas": round(parse["parse_s"] / parse["pandas_s"], 3),
            "netcdf_vs_netcdf4": round(netcdf["netcdf_s"] / netcdf["netcdf4_s"], 3),
            "icartt_vs_icartt_pkg": round(near["icartt_s"] / near["icartt_pkg_s"], 3),
            "nasa_ames_vs_nappy": round(near["nasa_ames_s"] / near["nappy_s"], 3),
        },
    }
    print(json.dumps(result))


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    main()
