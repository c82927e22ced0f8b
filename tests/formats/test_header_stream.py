"""Subsets and conversions of a large header-format file read in chunks of rows: the same
bytes (values for NetCDF) as reading the file whole, and memory that follows the subset."""

from __future__ import annotations

import io
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from formats import CampaignTime, read, subset, write_to
from formats.header_stream import iter_row_chunks, stream_subset
from formats.netcdf import write_netcdf_file
from tests.formats.bench_module import load_bench

CAMPAIGN = CampaignTime(year=1999)
NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
REPO = Path(__file__).resolve().parents[2]
BOX = (73.51, 3.97, 73.52, 3.99)
LARGE_BOX = (73.38, 3.99, 73.42, 4.03)
SUBSETS: dict[str, dict[str, Any]] = {
    "whole": {},
    "time": {
        "start": datetime(1999, 3, 7, 2, 0, tzinfo=UTC),
        "end": datetime(1999, 3, 7, 5, 30, 15, tzinfo=UTC),
    },
    "box": {"bbox": BOX},
    "variables": {"variables": ["O3", "RH"]},
    "combined": {
        "start": datetime(1999, 3, 7, 1, 0, tzinfo=UTC),
        "bbox": BOX,
        "variables": ["CO"],
    },
}


@pytest.fixture(scope="module")
def track(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("stream") / "track.txt"
    load_bench().make_header_file(path, 60_000)
    return path


def _bytes(datafile: Any, fmt: str) -> bytes:
    out = io.BytesIO()
    write_to(datafile, fmt, out)
    return out.getvalue()


def test_chunks_hold_every_row_once(track: Path) -> None:
    chunks = list(iter_row_chunks(track, chunk_bytes=300_000))
    assert len(chunks) > 10
    head = chunks[0][: chunks[0].index(b"UTC degN")]
    rows = [c.split(b"\n", head.count(b"\n") + 1)[-1] for c in chunks]
    text = track.read_bytes()
    assert b"".join(rows) == text[text.index(rows[0][:40]) :]


@pytest.mark.parametrize("kind", sorted(SUBSETS))
def test_streamed_subset_is_the_in_memory_one(track: Path, kind: str) -> None:
    wanted = SUBSETS[kind]
    whole = subset(read(track, campaign=CAMPAIGN), **wanted)
    streamed = stream_subset(track, CAMPAIGN, chunk_bytes=300_000, **wanted)
    assert streamed is not None
    assert 0 < streamed.row_count == whole.row_count
    if kind != "whole":
        assert streamed.row_count < 60_000 or kind == "variables"
    for fmt in ("csv", "header", "icartt"):
        assert _bytes(streamed, fmt) == _bytes(whole, fmt), fmt


@pytest.mark.parametrize("kind", ["whole", "combined"])
def test_streamed_netcdf_has_the_same_values(track: Path, tmp_path: Path, kind: str) -> None:
    import netCDF4

    wanted = SUBSETS[kind]
    whole = subset(read(track, campaign=CAMPAIGN), **wanted)
    streamed = stream_subset(track, CAMPAIGN, chunk_bytes=300_000, **wanted)
    assert streamed is not None
    paths = []
    for name, datafile in (("whole", whole), ("streamed", streamed)):
        paths.append(tmp_path / f"{name}.nc")
        write_netcdf_file(datafile, paths[-1], now=NOW)  # one clock: the same dates
    with netCDF4.Dataset(paths[0]) as a, netCDF4.Dataset(paths[1]) as b:
        assert sorted(a.variables) == sorted(b.variables)
        for name in a.variables:
            left, right = a[name][:], b[name][:]
            np.testing.assert_array_equal(np.ma.getmaskarray(left), np.ma.getmaskarray(right))
            np.testing.assert_array_equal(np.ma.filled(left, 0), np.ma.filled(right, 0))
            np.testing.assert_equal(a[name].__dict__, b[name].__dict__, err_msg=name)
        skip = {"history"}
        np.testing.assert_equal(
            {k: v for k, v in a.__dict__.items() if k not in skip},
            {k: v for k, v in b.__dict__.items() if k not in skip},
        )


def test_a_time_window_range_reads_only_those_rows(track: Path) -> None:
    text = track.read_bytes()
    first = text.index(b"\n19990307010000 ") + 1
    last = text.index(b"\n19990307020000 ") + 1
    streamed = stream_subset(track, CAMPAIGN, chunk_bytes=50_000, rows=(first, last))
    assert streamed is not None
    assert streamed.row_count == 3600


def test_kinds_that_differ_between_chunks_fall_back_to_a_whole_read(tmp_path: Path) -> None:
    path = tmp_path / "mixed.txt"
    rows = [f"19990307{i // 3600:02d}{i // 60 % 60:02d}{i % 60:02d} {i}" for i in range(2500)]
    flags = ["7"] * 1000 + ["ok"] * 1500
    head = load_bench().HEADER.format(start="19990307000000", stop="19990307004139")
    head = head.replace("mobile", "site\nLATITUDE = 10\nLONGITUDE = 20")
    head = head[: head.index("DATE/TIME")] + "DATE/TIME N FLAG\nUTC 1 1\n"
    path.write_text(head + "".join(f"{r} {f}\n" for r, f in zip(rows, flags, strict=True)))
    assert stream_subset(path, CAMPAIGN, chunk_bytes=4_000) is None
    assert stream_subset(path, CAMPAIGN, chunk_bytes=1_000_000) is not None


CHILD = """
import sys
sys.path.insert(0, {repo!r})
import datetime, json, pathlib
import numpy, pandas, netCDF4
from formats import CampaignTime, read, subset
from formats.header_stream import stream_subset

def peak():
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024

wanted = json.loads({wanted!r})
for key in ("start", "end"):
    if key in wanted:
        wanted[key] = datetime.datetime.fromisoformat(wanted[key])
if "bbox" in wanted:
    wanted["bbox"] = tuple(wanted["bbox"])
path = pathlib.Path({path!r})
before = peak()
if {streamed!r}:
    result = stream_subset(path, CampaignTime(year=1999), **wanted)
else:
    result = subset(read(path, campaign=CampaignTime(year=1999)), **wanted)
assert result is not None and result.row_count > 0
kept = sum(
    c.values.nbytes + (0 if c.quality is None else c.quality.nbytes) for c in result.columns
)
print(peak() - before, kept)
"""


def _growth(path: Path, wanted: dict[str, Any], streamed: bool) -> tuple[int, int]:
    """Peak RSS growth of a fresh process making the subset, and the subset's bytes."""
    import json

    plain = {k: v.isoformat() if isinstance(v, datetime) else v for k, v in wanted.items()}
    code = CHILD.format(repo=str(REPO), path=str(path), wanted=json.dumps(plain), streamed=streamed)
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=600
    )
    growth, kept = done.stdout.strip().splitlines()[-1].split()
    return int(growth), int(kept)


@pytest.fixture(scope="module")
def large(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("stream-large") / "large.txt"
    load_bench().make_header_file(path, 700_000)  # about 43 MB
    return path


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["time", "box", "variables", "combined"])
def test_subset_memory_follows_the_subset(large: Path, kind: str) -> None:
    size = large.stat().st_size
    wanted = dict(SUBSETS[kind])
    if "bbox" in wanted:
        wanted["bbox"] = LARGE_BOX  # the longer track wanders further
    streamed, kept = _growth(large, wanted, streamed=True)
    whole, _ = _growth(large, wanted, streamed=False)
    print(f"{kind}: streamed {streamed / size:.2f}, whole {whole / size:.2f} x the file")
    # What grows with the file is the subset; the rest is bounded: one chunk being parsed,
    # the parser's first imports and the heap they leave (about 60 MB in all).
    assert streamed < kept + 80e6, f"{kind}: {streamed / 1e6:.0f} MB for {kept / 1e6:.0f} MB kept"
    assert streamed < 0.5 * whole, (
        f"{kind}: streamed {streamed / size:.2f}, whole {whole / size:.2f}"
    )
