"""The time window of a large header-format original is cut by binary search, exactly."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from catalog.downloads_window import MIN_WINDOWED_SIZE, read_window
from catalog.errors import InvalidQueryError
from formats.timeparse import CampaignTime

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
