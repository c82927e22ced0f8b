"""subset(): time window, bounding box (also across the antimeridian), variables."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from formats import FormatError, read, subset
from tests.formats.conftest import CAMPAIGN, valid_samples
from tests.formats.test_header_rules import HEADER, make


def _track() -> object:
    mobile = [h.replace("Kaashidhoo; 4.965N 73.466E", "mobile") for h in HEADER]
    mobile = [h.replace("19990201010000", "19990201000500") for h in mobile]
    rows = [
        "19990201000000 -5.0 178.0 1.0",
        "19990201000100 -5.1 179.5 2.0",
        "19990201000200 -5.2 -179.5 3.0",
        "19990201000300 -5.3 -178.0 4.0",
        "19990201000400 -5.4 -170.0 5.0",
    ]
    return read(
        make(header=mobile, names="DATE/TIME LAT LON O3", units="UTC degN degE ppbv", rows=rows)
    )


def test_time_window_is_inclusive_and_extent_recomputed() -> None:
    track = _track()
    part = subset(
        track,  # type: ignore[arg-type]
        start=datetime(1999, 2, 1, 0, 1, tzinfo=UTC),
        end=datetime(1999, 2, 1, 0, 3, tzinfo=UTC),
    )
    assert part.column("O3").values.tolist() == [2.0, 3.0, 4.0]
    assert part.extent.start == datetime(1999, 2, 1, 0, 1, tzinfo=UTC)
    assert part.extent.stop == datetime(1999, 2, 1, 0, 3, tzinfo=UTC)


def test_bbox_across_the_antimeridian_keeps_rows_inside() -> None:
    part = subset(_track(), bbox=(179.0, -6.0, -179.0, -5.0))  # type: ignore[arg-type]
    assert part.column("O3").values.tolist() == [2.0, 3.0]
    assert (part.extent.west, part.extent.east) == (179.5, -179.5)
    normal = subset(_track(), bbox=(-179.0, -6.0, -160.0, 0.0))  # type: ignore[arg-type]
    assert normal.column("O3").values.tolist() == [4.0, 5.0]


def test_fixed_site_is_all_or_nothing() -> None:
    kco = read(
        next(p for p in valid_samples() if p.name == "kco_surface_hourly.txt"), campaign=CAMPAIGN
    )
    inside = subset(kco, bbox=(70.0, 0.0, 80.0, 10.0))
    assert inside.row_count == kco.row_count
    outside = subset(kco, bbox=(-10.0, 0.0, 10.0, 10.0))
    assert outside.row_count == 0
    across = subset(kco, bbox=(170.0, 0.0, 80.0, 10.0))
    assert across.row_count == kco.row_count


def test_variables_keep_time_and_position() -> None:
    part = subset(_track(), variables=["O3"])  # type: ignore[arg-type]
    assert [c.name for c in part.columns] == ["time", "LAT", "LON", "O3"]
    kco = read(
        next(p for p in valid_samples() if p.name == "kco_surface_hourly.txt"), campaign=CAMPAIGN
    )
    assert [c.name for c in subset(kco, variables=["RH"]).columns] == ["time", "RH"]
    with pytest.raises(FormatError, match="NOPE"):
        subset(kco, variables=["NOPE"])


def test_subset_keeps_flags_aligned_and_leaves_the_original_alone() -> None:
    kco = read(
        next(p for p in valid_samples() if p.name == "kco_surface_hourly.txt"), campaign=CAMPAIGN
    )
    aod = kco.column("AOD500")
    assert aod.quality is not None
    first_flag = int(np.flatnonzero(aod.quality)[0])
    start = kco.time.values[first_flag].astype("datetime64[s]").item().replace(tzinfo=UTC)
    part = subset(kco, start=start)
    part_aod = part.column("AOD500")
    assert part_aod.quality is not None and part_aod.quality[0] == 1
    assert np.isnan(part_aod.values[0])
    assert kco.row_count > part.row_count and len(aod.values) == kco.row_count
