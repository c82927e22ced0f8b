"""The one set of bounding-box rules: `W,S,E,N` in degrees, W > E crossing the antimeridian.

Every place that takes a box (the search and download query strings, the bundle request, the
search form, the subset of a file) checks it here, so they accept and refuse the same boxes.
"""

from __future__ import annotations

import math

BBox = tuple[float, float, float, float]


class BBoxError(ValueError):
    """A box that breaks the rules; the message says which (no value is echoed)."""


def check_bbox(box: tuple[float, ...]) -> BBox:
    """The box if it is valid (W > E crosses the antimeridian); BBoxError says why if not."""
    if len(box) != 4:
        raise BBoxError("bbox must be four numbers W,S,E,N")
    west, south, east, north = box
    if not all(math.isfinite(v) for v in box):
        raise BBoxError("bbox values must be finite numbers")
    if not (-180 <= west <= 180 and -180 <= east <= 180):
        raise BBoxError("bbox longitudes W and E must lie within -180..180")
    if not (-90 <= south <= 90 and -90 <= north <= 90):
        raise BBoxError("bbox latitudes S and N must lie within -90..90")
    if south > north:
        raise BBoxError("bbox south must not exceed north")
    return (west, south, east, north)


def parse_bbox(text: str) -> BBox:
    """`W,S,E,N` text as a checked box; BBoxError says what is wrong."""
    parts = text.split(",")
    if len(parts) != 4:
        raise BBoxError("bbox must be four numbers W,S,E,N")
    try:
        box = tuple(float(p) for p in parts)
    except ValueError as err:
        raise BBoxError("bbox must be four numbers W,S,E,N") from err
    return check_bbox(box)
