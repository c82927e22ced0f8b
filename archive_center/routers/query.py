"""Query-string parsing shared by the routers: boxes, variable lists, UTC times."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

from fastapi.exceptions import RequestValidationError


def query_error(name: str, message: str, value: str | None = None) -> RequestValidationError:
    """A 422 naming the query parameter `name` and what is wrong with it."""
    del value  # never echoed: the client knows what it sent
    return RequestValidationError([{"loc": ("query", name), "msg": message, "type": "value_error"}])


def parse_bbox(text: str | None, name: str = "bbox") -> tuple[float, float, float, float] | None:
    """`W,S,E,N` in degrees as a tuple (W > E crosses the antimeridian)."""
    if text is None or text == "":
        return None
    parts = text.split(",")
    if len(parts) != 4:
        raise query_error(name, "expected four numbers W,S,E,N")
    try:
        west, south, east, north = (float(p) for p in parts)
    except ValueError as err:
        raise query_error(name, "expected four numbers W,S,E,N") from err
    if not all(math.isfinite(v) for v in (west, south, east, north)):
        raise query_error(name, "coordinates must be finite numbers")
    if not (-180 <= west <= 180 and -180 <= east <= 180):
        raise query_error(name, "longitudes must lie in [-180, 180]")
    if not (-90 <= south <= 90 and -90 <= north <= 90):
        raise query_error(name, "latitudes must lie in [-90, 90]")
    if south > north:
        raise query_error(name, "south is greater than north")
    return (west, south, east, north)


def parse_names(text: str | None, name: str = "variables") -> tuple[str, ...] | None:
    """A comma-separated list of names (None when absent or empty)."""
    if text is None:
        return None
    names = tuple(part.strip() for part in text.split(",") if part.strip())
    if not names:
        raise query_error(name, "expected one or more comma-separated names")
    return names


def as_utc(value: datetime | None) -> datetime | None:
    """A time in UTC (naive times are taken as UTC)."""
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError as err:
        raise RequestValidationError(
            [{"loc": ("query",), "msg": "time out of range", "type": "value_error"}]
        ) from err


def check_window(start: datetime | None, end: datetime | None) -> None:
    """Refuse a time window whose start is after its end."""
    if start is not None and end is not None and start > end:
        raise query_error("start", "start is after end")


def validation_errors_as_query(errors: list[Any]) -> RequestValidationError:
    """Pydantic errors from building a parameter model, re-rooted at the query string."""
    return RequestValidationError(
        [
            {"loc": ("query", *err.get("loc", ())), "msg": err.get("msg", ""), "type": err["type"]}
            for err in errors
        ]
    )
