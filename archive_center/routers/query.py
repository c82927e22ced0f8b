"""Query-string parsing shared by the routers: boxes, variable lists, UTC times."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi.exceptions import RequestValidationError

from formats import bbox as bbox_rules


def query_error(name: str, message: str, value: str | None = None) -> RequestValidationError:
    """A 422 naming the query parameter `name` and what is wrong with it."""
    del value  # never echoed: the client knows what it sent
    return RequestValidationError([{"loc": ("query", name), "msg": message, "type": "value_error"}])


def parse_bbox(text: str | None, name: str = "bbox") -> tuple[float, float, float, float] | None:
    """`W,S,E,N` in degrees as a tuple (W > E crosses the antimeridian; `formats.bbox` rules)."""
    if text is None or text == "":
        return None
    try:
        return bbox_rules.parse_bbox(text)
    except bbox_rules.BBoxError as err:
        raise query_error(name, str(err)) from err


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
