"""HTML form fields (strings, possibly empty) turned into the catalog's request models.

A browser sends every field of a form, empty or not, so empty means "not given" here; what
cannot be read becomes a message for the field, shown beside the form instead of a 422.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, time
from typing import Any
from urllib.parse import quote_plus

from pydantic import ValidationError

from catalog.download_formats import DOWNLOAD_FORMATS
from catalog.downloads import DownloadRequest
from catalog.schemas import SearchParams
from catalog.sorting import SORT_KEYS
from formats.bbox import BBoxError, check_bbox
from web.search_query import SEARCH_QUERY, TEXT_FILTERS

PAGE_SIZES = (20, 50, 100)
DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
BOX_FIELDS = ("west", "south", "east", "north")
SEARCH_FIELDS = tuple(
    field
    for name in SEARCH_QUERY
    if name not in ("cursor", "facets")  # the cursor rides in links; facets are always shown
    for field in (BOX_FIELDS if name == "bbox" else (name,))
)
"""The search form's fields: the API's parameters, with the box as its four edges."""


@dataclass
class FormResult:
    """Cleaned values of a form and the messages of fields that could not be read."""

    values: dict[str, str]
    errors: dict[str, str] = field(default_factory=dict)


def small_count(text: str) -> int | None:
    """A page number or size typed into a URL: ASCII digits, at most 9 of them; else None
    (`"²".isdigit()` is true yet `int("²")` fails, and a 5,000-digit number cannot be read)."""
    text = text.strip()
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 9 else None


def form_values(query: Mapping[str, str], names: Sequence[str]) -> dict[str, str]:
    """The named fields, trimmed; absent fields are empty strings."""
    return {name: (query.get(name) or "").strip() for name in names}


def parse_time(text: str, *, end_of_day: bool = False) -> datetime:
    """`YYYY-MM-DD`, `YYYY-MM-DDTHH:MM[:SS]` or full ISO 8601; naive input is UTC.

    A bare date as the end of a window means the whole of that day.
    """
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    bare_date = len(text) == 10
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    value = value.astimezone(UTC)
    if bare_date and end_of_day:
        value = datetime.combine(value.date(), time.max, tzinfo=UTC)
    return value


def _times(values: dict[str, str], errors: dict[str, str]) -> dict[str, datetime]:
    found: dict[str, datetime] = {}
    for name in ("start", "end"):
        if values.get(name):
            try:
                found[name] = parse_time(values[name], end_of_day=name == "end")
            except (ValueError, OverflowError):
                errors[name] = "Give a date as YYYY-MM-DD (or a date and time, UTC)."
    if "start" in found and "end" in found and found["start"] > found["end"]:
        errors["end"] = "The end must not be before the start."
    return found


def parse_box(values: dict[str, str], errors: dict[str, str]) -> tuple[float, ...] | None:
    """West, south, east, north fields as a box (all four or none)."""
    given = [values.get(name, "") for name in BOX_FIELDS]
    if not any(given):
        return None
    if not all(given):
        errors["box"] = "Give all four edges of the box, or none."
        return None
    try:
        edges = tuple(float(v) for v in given)
    except ValueError:
        errors["box"] = "Box edges must be numbers in degrees."
        return None
    try:
        return check_bbox(edges)  # the rules every box obeys (formats.bbox)
    except BBoxError as err:
        message = str(err).removeprefix("bbox ")
        errors["box"] = f"The box's {message}."
        return None


def parse_search(query: Mapping[str, str]) -> tuple[SearchParams, FormResult]:
    """The search form as `SearchParams` (invalid fields are left out and reported)."""
    values = form_values(query, SEARCH_FIELDS)
    errors: dict[str, str] = {}
    fields: dict[str, Any] = {n: values[n] for n in TEXT_FILTERS if values[n]}
    fields.update(_times(values, errors))
    if "end" in errors:
        fields.pop("start", None)
    box = parse_box(values, errors)
    if box is not None:
        fields["bbox"] = box
    if values["sort"] in SORT_KEYS:
        fields["sort"] = values["sort"]
    limit = small_count(values["limit"]) or DEFAULT_PAGE_SIZE
    fields["limit"] = limit if 1 <= limit <= MAX_PAGE_SIZE else DEFAULT_PAGE_SIZE
    cursor = (query.get("cursor") or "").strip()
    if cursor:
        fields["cursor"] = cursor[:2000]
    try:
        params = SearchParams.model_validate(fields)
    except ValidationError as err:
        for problem in err.errors():
            name = str(problem["loc"][0]) if problem["loc"] else "q"
            errors[name] = str(problem["msg"])
            fields.pop(name, None)
        params = SearchParams.model_validate(fields)
    return params, FormResult(values, errors)


class SearchLinks:
    """`/search?...` links for variants of one query: each field is encoded once.

    The search page links to dozens of variants of its own query (30 time-strip bars, each
    facet value, each active filter); encoding the whole query again for each was a good
    part of the page's time.
    """

    def __init__(self, values: Mapping[str, str]) -> None:
        self._pairs = {name: _pair(name, value) for name, value in values.items() if value}

    def url(self, **changes: str | None) -> str:
        """The link with `changes` applied (None or "" removes a field)."""
        pairs = self._pairs
        if changes:
            pairs = dict(pairs)
            for name, value in changes.items():
                if value is None or value == "":
                    pairs.pop(name, None)
                else:
                    pairs[name] = _pair(name, value)
        return "/search" + ("?" + "&".join(pairs.values()) if pairs else "")


def _pair(name: str, value: str) -> str:
    return f"{query_text(name)}={query_text(value)}"  # as `urlencode` writes it


@functools.lru_cache(maxsize=4096)
def query_text(text: str) -> str:
    """`text` encoded for a query string (`quote_plus`), remembered: the same facet values,
    field names and days come back on every page."""
    return quote_plus(text)


def search_url(values: Mapping[str, str], **changes: str | None) -> str:
    """`/search?...` for these form values with `changes` applied (None removes a field)."""
    return SearchLinks(values).url(**changes)


DOWNLOAD_FIELDS = ("format", "start", "end", *BOX_FIELDS)


def parse_download(
    query: Mapping[str, str], variables: Sequence[str]
) -> tuple[DownloadRequest, FormResult]:
    """The download form as a `DownloadRequest` (check `errors` before using it)."""
    values = form_values(query, DOWNLOAD_FIELDS)
    errors: dict[str, str] = {}
    fmt = values["format"] or "netcdf"
    if fmt not in DOWNLOAD_FORMATS:
        errors["format"] = "Choose one of the listed formats."
        fmt = "netcdf"
    times = _times(values, errors)
    box = parse_box(values, errors)
    names = tuple(v.strip() for v in variables if v.strip())
    request = DownloadRequest(
        format=fmt,
        start=times.get("start"),
        end=times.get("end"),
        bbox=(box[0], box[1], box[2], box[3]) if box is not None else None,
        variables=names or None,
    )
    return request, FormResult(values, errors)


def local_input(value: datetime | None) -> str:
    """A UTC instant as a `datetime-local` input value."""
    if value is None:
        return ""
    return value.astimezone(UTC).replace(tzinfo=None, microsecond=0).isoformat()
