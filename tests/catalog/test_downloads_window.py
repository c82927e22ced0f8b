"""The time window of a large header-format original is cut by binary search, exactly."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from catalog.downloads_window import MIN_WINDOWED_SIZE, read_window
from catalog.errors import InvalidQueryError
from formats.header_stream import stream_subset
from formats.timeparse import CampaignTime, campaign_time

START = datetime(1999, 2, 1, tzinfo=UTC)
CAMPAIGN = CampaignTime(year=1999, start=START, end=datetime(1999, 3, 31, tzinfo=UTC))


def write_file(path: Path, rows: int, *, year_less: bool) -> None:
    header = (
        "DID = 1\nFILE START TIME (UTC) = 19990201000000\nPI NAME = X\n"
        "##END OF HEADER##\nTIME O3\nUTC PPB\n"
    )
    with path.open("w") as out:
        out.write(header)
        for i in range(rows):
            when = START + timedelta(seconds=i)
            stamp = f"{when:%m%d%H%M%S}" if year_less else f"{when:%Y-%m-%dT%H:%M:%SZ}"
            out.write(f"{stamp} {40 + i % 17:.3f} padding-to-make-rows-longer\n")


@pytest.mark.parametrize("year_less", [False, True])
def test_window_holds_exactly_the_rows_inside(tmp_path: Path, year_less: bool) -> None:
    path = tmp_path / "big.txt"
    write_file(path, 200_000, year_less=year_less)
    assert path.stat().st_size > MIN_WINDOWED_SIZE
    lo, hi = START + timedelta(seconds=100_000), START + timedelta(seconds=100_599)
    window = read_window(path, lo, hi, CAMPAIGN)
    assert window is not None
    lines = window.decode().splitlines()
    assert lines[3] == "##END OF HEADER##"
    rows = lines[6:]
    assert len(rows) == 600
    first = rows[0].split()[0]
    assert first == (f"{lo:%m%d%H%M%S}" if year_less else f"{lo:%Y-%m-%dT%H:%M:%SZ}")


def test_open_ended_windows_and_empty_ones(tmp_path: Path) -> None:
    path = tmp_path / "big.txt"
    write_file(path, 200_000, year_less=False)
    tail = read_window(path, START + timedelta(seconds=199_990), None, CAMPAIGN)
    assert tail is not None and len(tail.decode().splitlines()) == 6 + 10
    head = read_window(path, None, START + timedelta(seconds=4), CAMPAIGN)
    assert head is not None and len(head.decode().splitlines()) == 6 + 5
    with pytest.raises(InvalidQueryError):
        read_window(path, START + timedelta(days=30), None, CAMPAIGN)


def test_small_files_are_read_whole(tmp_path: Path) -> None:
    path = tmp_path / "small.txt"
    write_file(path, 100, year_less=False)
    assert read_window(path, START, None, CAMPAIGN) is None


TRACK_BOX = (73.50, 3.98, 73.53, 4.01)
CAMPAIGN_OF_TRACK = campaign_time(date(1999, 3, 1), date(1999, 3, 31))


@pytest.fixture(scope="module")
def archived_track(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Any, Any]:
    """A 300,000-row track (about 18 MB) archived in a real store, with its records."""
    from catalog.models import Campaign, Dataset, DatasetVersion
    from catalog.storage import ArchiveStore
    from tests.formats.bench_module import load_bench

    root = tmp_path_factory.mktemp("archive")
    store = ArchiveStore(root)
    store.create_dirs()
    staged = store.new_staging_path()
    load_bench().make_header_file(staged, 300_000)
    sha, _ = store.put_original(staged)
    campaign = Campaign(code="BENCH", start=date(1999, 3, 1), end=date(1999, 3, 31))
    dataset = Dataset(campaign=campaign, did=900, platform="C130")
    version = DatasetVersion(sha256=sha, source_format="header", original_name="track.txt")
    return store, dataset, version


@pytest.mark.parametrize(
    "asked",
    [
        {"bbox": TRACK_BOX},
        {"variables": ("O3", "BC")},
        {"start": datetime(1999, 3, 7, 3, tzinfo=UTC), "bbox": TRACK_BOX, "variables": ("CO",)},
        {},
    ],
    ids=["box", "variables", "combined", "whole"],
)
@pytest.mark.parametrize("fmt", ["csv", "header", "icartt"])
def test_large_originals_stream_to_the_same_bytes(
    archived_track: tuple[Any, Any, Any], asked: dict[str, Any], fmt: str
) -> None:
    """Box, variables and combined subsets (and the whole file) of a large original are read
    in chunks and give the bytes of the whole-file read and subset."""
    import formats
    from catalog.downloads import (
        DownloadRequest,
        apply_subset,
        convert_to_staging,
        read_for_request,
    )

    store, dataset, version = archived_track
    request = DownloadRequest(format=fmt, **asked)
    path = store.original_path(version.sha256)
    assert path.stat().st_size > 2 * MIN_WINDOWED_SIZE
    wanted: dict[str, Any] = {k: list(v) if k == "variables" else v for k, v in asked.items()}
    assert stream_subset(path, CAMPAIGN_OF_TRACK, **wanted) is not None  # no fallback
    streamed = apply_subset(read_for_request(store, dataset, version, request), request)
    whole = formats.read(path, campaign=CAMPAIGN_OF_TRACK, filename="track.txt")
    expected = apply_subset(whole, request)
    assert 0 < streamed.row_count == expected.row_count
    if "bbox" in asked:
        assert streamed.row_count < whole.row_count
    out_streamed = convert_to_staging(store, streamed, fmt)
    out_whole = convert_to_staging(store, expected, fmt)
    try:
        assert out_streamed.read_bytes() == out_whole.read_bytes()
    finally:
        out_streamed.unlink()
        out_whole.unlink()


def test_large_original_refuses_unknown_variables_from_its_first_chunk(
    archived_track: tuple[Any, Any, Any],
) -> None:
    from catalog.downloads import DownloadRequest, read_for_request

    store, dataset, version = archived_track
    with pytest.raises(InvalidQueryError, match=r"NOPE.*this dataset has: LAT"):
        read_for_request(store, dataset, version, DownloadRequest("csv", variables=("NOPE",)))
